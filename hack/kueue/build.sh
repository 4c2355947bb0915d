#!/usr/bin/env bash
# Builds the Kueue controller manager (sigs.k8s.io/kueue/cmd/kueue) from its Go module through the
# module proxy and caches it under ${FINETUNE_CACHE:-~/.cache/finetune-operator}/kueue-<version>/,
# together with Kueue's CRDs (config/components/crd/bases of the same module). Prints the cache
# directory on stdout: bin/kueue and crds/*.yaml inside it. Safe to run concurrently (flock).
set -euo pipefail
version="${KUEUE_VERSION:-v0.17.0}"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
out="$cache/kueue-$version"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
if [[ ! -x "$out/bin/kueue" || ! -f "$out/crds/.complete" ]]; then
  command -v go >/dev/null || { echo "[kueue] go is not installed; it is needed to build Kueue $version" >&2; exit 1; }
  echo "[kueue] building sigs.k8s.io/kueue/cmd/kueue@$version (cold build; takes a while)" >&2
  (cd /tmp && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local GOBIN="$out/bin.tmp" \
    go install "sigs.k8s.io/kueue/cmd/kueue@$version") >&2
  moddir="$(cd /tmp && GOFLAGS=-mod=mod GOTOOLCHAIN=local go mod download -json "sigs.k8s.io/kueue@$version" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])')"
  bases="$moddir/config/components/crd/bases"
  ls "$bases"/kueue.x-k8s.io_*.yaml >/dev/null || { echo "[kueue] no CRDs under $bases" >&2; exit 1; }
  rm -rf "$out/crds" && mkdir -p "$out/crds" && cp "$bases"/kueue.x-k8s.io_*.yaml "$out/crds/"
  touch "$out/crds/.complete"
  rm -rf "$out/bin" && mv "$out/bin.tmp" "$out/bin"
fi
echo "$out"
