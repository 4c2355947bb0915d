#!/usr/bin/env bash
# Builds CoreDNS (github.com/coredns/coredns, linked with only its kubernetes plugin and a final
# NXDOMAIN answer, see main.go) into
#   ${FINETUNE_CACHE:-~/.cache/finetune-operator}/coredns-<version>-<hash>/coredns
# and prints that path. A warm cache builds nothing. Safe to run concurrently (flock).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
version="$(awk 'NF >= 2 && $(NF-1) == "github.com/coredns/coredns" {print $NF}' "$here/go.mod" | head -1)"
hash="$(cat "$here/go.mod" "$here/go.sum" "$here/main.go" | sha256sum | cut -c1-12)"
dir="$cache/coredns-$version-$hash"
mkdir -p "$dir"
exec 9>"$dir/.lock"
flock 9
if [[ ! -x "$dir/coredns" ]]; then
  echo "[coredns] building CoreDNS $version from its Go module (cold: several minutes on 2 cores)" >&2
  src="$dir/src"
  rm -rf "$src" && mkdir -p "$src"
  cp "$here/main.go" "$here/go.mod" "$here/go.sum" "$src/"
  (cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=mod -buildvcs=false" \
    go build -trimpath -ldflags "-s -w" -o "$dir/coredns.tmp" .)
  mv "$dir/coredns.tmp" "$dir/coredns"
  rm -rf "$src"
fi
echo "$dir/coredns"
