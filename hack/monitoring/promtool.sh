#!/usr/bin/env bash
# Builds promtool from its Go module (github.com/prometheus/prometheus/cmd/promtool) through the
# module proxy and caches it under ${FINETUNE_CACHE:-~/.cache/finetune-operator}/promtool-<version>/.
# Prints the binary's path on stdout. Safe to run concurrently (flock).
set -euo pipefail
version="${PROMTOOL_VERSION:-v0.316.0}"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
out="$cache/promtool-$version"
mkdir -p "$out"
exec 9>"$out/.lock"
flock 9
if [[ ! -x "$out/bin/promtool" ]]; then
  echo "[promtool] building github.com/prometheus/prometheus/cmd/promtool@$version (cold build; takes a while)" >&2
  (cd /tmp && CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false" GOTOOLCHAIN=local GOBIN="$out/bin.tmp" \
    go install "github.com/prometheus/prometheus/cmd/promtool@$version") >&2
  rm -rf "$out/bin" && mv "$out/bin.tmp" "$out/bin"
fi
echo "$out/bin/promtool"
