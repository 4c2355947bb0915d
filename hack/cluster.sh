#!/usr/bin/env bash
# The local control plane: a real kube-apiserver, etcd, kube-controller-manager and kube-scheduler
# (Kubernetes 1.34, built from Go modules by hack/controlplane/build.sh), with kwok simulating the
# nodes: CPU-only nodes and GPU nodes labelled and tainted as GKE does. Started by kwokctl's binary
# runtime. Real nodes (hack/node.sh) join beside the kwok nodes; kwok manages only its own nodes
# (annotation kwok.x-k8s.io/node=fake). Everything listens on 127.0.0.1, except kube-apiserver,
# which also serves the real nodes' pods on the node bridge's host address (hack/node.sh): its
# certificate names that address, and it reaches kubelets by InternalIP with a client
# certificate of the cluster CA (kubectl logs/exec).
#
#   hack/cluster.sh up [NAME]     start (or reuse) a cluster; prints the kubeconfig path
#   hack/cluster.sh down [NAME]   stop and delete it
#   hack/cluster.sh kubeconfig [NAME]
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-up}"
name="${2:-finetune-dev}"
export KWOK_WORKDIR="${KWOK_WORKDIR:-${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}/kwok}"
kubeconfig="$KWOK_WORKDIR/clusters/$name/kubeconfig.yaml"
pki="$KWOK_WORKDIR/clusters/$name/pki"
node_host_ip="${FINETUNE_NODE_SUBNET:-10.213.0}.1"
log() { echo "[cluster] $*" >&2; }

case "$cmd" in
  up)
    bin="$("$here/controlplane/build.sh")"
    stages="$(dirname "$bin")/kwok-stages"
    export PATH="$bin:$PATH"
    if [[ -f "$kubeconfig" ]] && kubectl --kubeconfig "$kubeconfig" get --raw=/readyz >/dev/null 2>&1; then
      log "reusing running cluster $name"
    else
      kwokctl --name "$name" delete cluster >/dev/null 2>&1 || true
      read -r p_api p_etcd p_peer p_kcm p_sched p_kwok < <(python3 -c '
import socket
socks = [socket.socket() for _ in range(6)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()')
      config="$(mktemp)"
      cat "$stages"/*.yaml | sed '/^---$/d' | awk 'BEGIN{first=1} /^apiVersion:/{ if(!first) print "---"; first=0 } {print}' >"$config"
      { echo "---"; cat "$here/controlplane/pod-complete-stage.yaml"; } >>"$config"
      # Everything on loopback (kube-apiserver also needs an advertise address on a machine
      # without a default route).
      cat >>"$config" <<YAML
---
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  kubeApiserverCertSANs: ["$node_host_ip"]
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - {key: advertise-address, value: 127.0.0.1}
  - {key: bind-address, value: 0.0.0.0}
  - {key: kubelet-client-certificate, value: "$pki/admin.crt"}
  - {key: kubelet-client-key, value: "$pki/admin.key"}
  - {key: kubelet-preferred-address-types, value: InternalIP}
- name: kube-controller-manager
  extraArgs:
  - {key: bind-address, value: 127.0.0.1}
- name: kube-scheduler
  extraArgs:
  - {key: bind-address, value: 127.0.0.1}
- name: kwok-controller
  extraArgs:
  - {key: server-address, value: "127.0.0.1:$p_kwok"}
  - {key: manage-all-nodes, value: "false"}
  - {key: manage-nodes-with-annotation-selector, value: kwok.x-k8s.io/node=fake}
- name: etcd
  extraArgs:
  - {key: listen-client-urls, value: "http://127.0.0.1:$p_etcd"}
  - {key: advertise-client-urls, value: "http://127.0.0.1:$p_etcd"}
  - {key: listen-peer-urls, value: "http://127.0.0.1:$p_peer"}
  - {key: initial-advertise-peer-urls, value: "http://127.0.0.1:$p_peer"}
  - {key: initial-cluster, value: "node0=http://127.0.0.1:$p_peer"}
YAML
      log "starting cluster $name (kube-apiserver $("$bin/kube-apiserver" --version | awk '{print $2}'))"
      kwokctl --name "$name" create cluster \
        --runtime binary \
        --config "$config" \
        --kubeconfig "$KWOK_WORKDIR/clusters/$name.kubeconfig" \
        --etcd-binary "$bin/etcd" \
        --kube-apiserver-binary "$bin/kube-apiserver" \
        --kube-controller-manager-binary "$bin/kube-controller-manager" \
        --kube-scheduler-binary "$bin/kube-scheduler" \
        --kwok-controller-binary "$bin/kwok" \
        --kube-apiserver-port "$p_api" \
        --etcd-port "$p_etcd" \
        --kube-controller-manager-port "$p_kcm" \
        --kube-scheduler-port "$p_sched" \
        --controller-port "$p_kwok" \
        --disable-qps-limits \
        --wait 3m >&2
      rm -f "$config"
      cp "$KWOK_WORKDIR/clusters/$name.kubeconfig" "$kubeconfig"
    fi
    kubectl --kubeconfig "$kubeconfig" apply -f "$here/controlplane/nodes.yaml" >&2
    echo "$kubeconfig"
    ;;
  down)
    bin="$("$here/controlplane/build.sh")"
    "$bin/kwokctl" --name "$name" delete cluster >&2 || true
    ;;
  kubeconfig)
    echo "$kubeconfig"
    ;;
  *)
    echo "usage: $0 up|down|kubeconfig [NAME]" >&2
    exit 2
    ;;
esac
