#!/usr/bin/env bash
# Builds the local control plane from Go modules through the module proxy:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet (k8s.io/kubernetes),
# etcd (go.etcd.io/etcd/server/v3), kwok and kwokctl (sigs.k8s.io/kwok), fake-gcs-server.
# Binaries are cached outside the repository, keyed by version:
#   ${FINETUNE_CACHE:-~/.cache/finetune-operator}/controlplane/<key>/bin
# Prints the bin directory on stdout. Safe to run concurrently (flock per binary group).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
key="k8s-${KUBERNETES_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_gcs-${FAKE_GCS_VERSION}"
out="$cache/controlplane/$key"
bin="$out/bin"
mkdir -p "$out"
log() { echo "[controlplane] $*" >&2; }

lockname="${*:-all}"; exec 9>"$out/.lock-${lockname// /_}"
flock 9

export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local
all=(kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet etcd kwok kwokctl fake-gcs-server)
# Optional arguments restrict the build to the named binaries (e.g. `build.sh fake-gcs-server`).
if [[ $# -gt 0 ]]; then all=("$@"); fi
# kwok's own Stage objects (node lifecycle, pod lifecycle) from the same module version.
copy_kwok_stages() {
  [[ -d "$out/kwok-stages" ]] && return 0
  local dir
  dir="$(cd /tmp && go mod download -json "sigs.k8s.io/kwok@${KWOK_VERSION}" | sed -n 's/.*"Dir": "\(.*\)",/\1/p')"
  mkdir -p "$out/kwok-stages.tmp"
  cp "$dir"/kustomize/stage/node/fast/node-initialize.yaml \
    "$dir"/kustomize/stage/node/heartbeat/node-heartbeat.yaml \
    "$dir"/kustomize/stage/pod/fast/pod-ready.yaml \
    "$dir"/kustomize/stage/pod/fast/pod-delete.yaml "$out/kwok-stages.tmp/"
  chmod -R u+w "$out/kwok-stages.tmp"
  mv "$out/kwok-stages.tmp" "$out/kwok-stages"
}
copy_kwok_stages
missing=()
for b in "${all[@]}"; do [[ -x "$bin/$b" ]] || missing+=("$b"); done
if [[ ${#missing[@]} -eq 0 ]]; then
  log "cached: $bin"
  echo "$bin"
  exit 0
fi
log "building ${missing[*]} into $bin (cold build; takes a while on 2 cores)"
mkdir -p "$bin"
want() { local b; for b in "${missing[@]}"; do [[ $b == "$1" ]] && return 0; done; return 1; }

# --- Kubernetes: a wrapper module that requires k8s.io/kubernetes and replaces
# every staging module (the v0.0.0 requires of its go.mod) with the matching v0.x.y.
build_kubernetes() {
  local w="$out/src/kubernetes" kv="${KUBERNETES_VERSION}" sv="v0.${KUBERNETES_VERSION#v1.}"
  mkdir -p "$w"
  cd "$w"
  # .ready-kubelet: the wrapper's go.sum covers the kubelet too (a wrapper set up before the
  # kubelet was added is tidied again).
  if [[ ! -f .ready-kubelet ]]; then
    rm -f go.mod go.sum tools.go main.go .ready
    cat >go.mod <<GOMOD
module finetune.dev/hack/kubernetes

go 1.24.0

require k8s.io/kubernetes $kv
GOMOD
    local modfile
    modfile="$(go mod download -json "k8s.io/kubernetes@$kv" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
    local staging
    staging="$(awk '/^require \(/{r=1;next} r&&/^\)/{r=0} r&&$2=="v0.0.0"{print $1}' "$modfile")"
    for m in $staging; do
      echo "replace $m => $m $sv" >>go.mod
    done
    cat >tools.go <<'GOSRC'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
GOSRC
    go mod tidy -e >&2 || true
    touch .ready-kubelet
  fi
  local pkg=k8s.io/component-base/version
  local ld="-s -w -X $pkg.gitVersion=$kv -X $pkg.gitMajor=1 -X $pkg.gitMinor=$(echo "$kv" | cut -d. -f2) -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  ld="$ld -X k8s.io/client-go/pkg/version.gitVersion=$kv -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$(echo "$kv" | cut -d. -f2)"
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet; do
    want "$c" || continue
    log "go build $c $kv"
    go build -trimpath -ldflags "$ld" -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c" && mv "$bin/$c.tmp" "$bin/$c"
  done
}

build_etcd() {
  local w="$out/src/etcd"
  mkdir -p "$w"
  cd "$w"
  if [[ ! -f .ready ]]; then
    rm -f go.mod go.sum tools.go main.go
    cat >go.mod <<GOMOD
module finetune.dev/hack/etcd

go 1.24.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
    cat >main.go <<'GOSRC'
// Command etcd runs etcd's own main, built from its Go module.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GOSRC
    go mod tidy >&2
    touch .ready
  fi
  log "go build etcd $ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" . && mv "$bin/etcd.tmp" "$bin/etcd"
}

build_gomod_tool() { # name module pkg version
  local name="$1" mod="$2" pkg="$3" ver="$4" w="$out/src/$1"
  mkdir -p "$w"
  cd "$w"
  if [[ ! -f .ready ]]; then
    rm -f go.mod go.sum tools.go main.go
    printf 'module finetune.dev/hack/%s\n\ngo 1.24.0\n\nrequire %s %s\n' "$name" "$mod" "$ver" >go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >tools.go
    go mod tidy >&2
    touch .ready
  fi
  log "go build $name $ver"
  go build -trimpath -ldflags "-s -w $5" -o "$bin/$name.tmp" "$pkg" && mv "$bin/$name.tmp" "$bin/$name"
}

want etcd && build_etcd
if want kwok || want kwokctl; then
  kwokld="-X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBERNETES_VERSION}"
  want kwok && build_gomod_tool kwok sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION" "$kwokld"
  want kwokctl && build_gomod_tool kwokctl sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwokctl "$KWOK_VERSION" "$kwokld"
fi
want fake-gcs-server && build_gomod_tool fake-gcs-server github.com/fsouza/fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION" ""
build_kubernetes

for b in "${all[@]}"; do [[ -x "$bin/$b" ]] || { log "missing $b after build"; exit 1; }; done
log "built: $bin"
echo "$bin"
