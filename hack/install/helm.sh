#!/usr/bin/env bash
# Builds helm from its Go module (helm.sh/helm/v3/cmd/helm) into
#   ${FINETUNE_CACHE:-~/.cache/finetune-operator}/helm-<version>/helm
# and prints that path. A warm cache builds nothing. Safe to run concurrently (flock).
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
dir="$cache/helm-$HELM_VERSION"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [[ ! -x "$dir/helm" ]]; then
  echo "[helm] building helm $HELM_VERSION from its Go module (cold: several minutes on 2 cores)" >&2
  (cd /tmp && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" GOBIN="$dir/bin.tmp" \
    go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  mv "$dir/bin.tmp/helm" "$dir/helm"
  rmdir "$dir/bin.tmp"
fi
echo "$dir/helm"
