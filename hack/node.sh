#!/usr/bin/env bash
# Real nodes for the local cluster: a kubelet (v1.34, built with the control plane) on containerd
# + runc + the CNI bridge plugin from Debian's packages. The node runs real containers beside the
# cluster's kwok nodes.
#
#   hack/node.sh up CLUSTER [NODE]      start (or reuse) the node; prints its name
#   hack/node.sh load CLUSTER IMAGE...  import images (finetune.local/...) into the node's containerd
#   hack/node.sh down CLUSTER           stop it and leave the host as it was
#
# The node is GPU-shaped: it advertises nvidia.com/gpu (4) and carries the labels and taints GKE puts
# on an L4 spot node, so the operator's production Job lands on it unchanged. It has no GPU: the
# trainer runs on CPU there only because the operator's local-cluster setting says so
# (FINETUNE_TRAINER_ALLOW_CPU).
#
# Network: pods get an address on the bridge $FINETUNE_NODE_BRIDGE (default ftbr0,
# $FINETUNE_NODE_SUBNET.0/24, the host is .1). No masquerade, no IP forwarding, no default route
# in pods: a pod reaches the host's bridge address (the API server and the stand-ins listen there)
# and nothing else.
#
# Cluster DNS: CoreDNS (hack/coredns, built from its Go module) on the host's bridge address, port
# 53, with only the kubernetes plugin: Service and pod names of the cluster domain (cluster.local)
# resolve, as the pods of a headless Service (<pod>.<service>) need; every other name is NXDOMAIN,
# nothing is forwarded. The kubelet gives pods that nameserver (clusterDNS).
set -euo pipefail
shopt -s inherit_errexit # a failure inside $(...) stops the script too
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cmd="${1:-}"
cluster="${2:-finetune-dev}"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
export KWOK_WORKDIR="${KWOK_WORKDIR:-$cache/kwok}"
bridge="${FINETUNE_NODE_BRIDGE:-ftbr0}"
subnet="${FINETUNE_NODE_SUBNET:-10.213.0}"
host_ip="$subnet.1"
run="/run/finetune-node/$cluster"
data="$cache/node/$cluster"
sock="$run/containerd.sock"
# Each node's pods live under their own cgroup (the kubelet removes pod cgroups it does not know,
# so two nodes on one host must not share the default /kubepods).
cgroup_root="finetune-$cluster"
log() { echo "[node] $*" >&2; }

bin="$("$here/controlplane/build.sh")"
export PATH="$bin:$PATH"
kubeconfig="$KWOK_WORKDIR/clusters/$cluster/kubeconfig.yaml"
pki="$KWOK_WORKDIR/clusters/$cluster/pki"

need_packages() {
  local missing=()
  command -v containerd >/dev/null || missing+=(containerd)
  command -v runc >/dev/null || missing+=(runc)
  [[ -x /usr/lib/cni/bridge ]] || missing+=(containernetworking-plugins)
  command -v ip >/dev/null || missing+=(iproute2)
  command -v openssl >/dev/null || missing+=(openssl)
  command -v curl >/dev/null || missing+=(curl)
  if [[ ${#missing[@]} -gt 0 ]]; then
    log "installing ${missing[*]} from Debian's packages"
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  fi
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ctr_() { ctr --address "$sock" --namespace k8s.io "$@"; }

# The host sysctls the kubelet sets; saved before the first start and put back by `down`.
sysctls=(vm.overcommit_memory kernel.panic kernel.panic_on_oops)

bridge_up() {
  if ! ip link show "$bridge" >/dev/null 2>&1; then
    ip link add "$bridge" type bridge
  fi
  ip addr show dev "$bridge" | grep -q "inet $host_ip/" || ip addr add "$host_ip/24" dev "$bridge"
  ip link set "$bridge" up
}

start_containerd() {
  if [[ -S "$sock" ]] && ctr --address "$sock" version >/dev/null 2>&1; then return 0; fi
  local pause="$1"
  mkdir -p "$run" "$data/containerd" "$data/cni-conf"
  cat >"$data/cni-conf/10-finetune.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "finetune-$cluster",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$bridge",
      "isGateway": false,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": false,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$subnet.0/24", "rangeStart": "$subnet.10", "rangeEnd": "$subnet.250"}]],
        "routes": [],
        "dataDir": "$run/cni-ipam"
      }
    },
    {"type": "loopback"}
  ]
}
JSON
  cat >"$data/containerd.toml" <<TOML
version = 2
root = "$data/containerd"
state = "$run/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]
[grpc]
  address = "$sock"
[ttrpc]
  address = "$run/containerd.sock.ttrpc"
[debug]
  address = "$run/containerd-debug.sock"
[metrics]
  address = ""
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause"
  # root here lacks CAP_SYS_RESOURCE: without this every sandbox fails in runc create.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$data/cni-conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "$(command -v runc)"
        Root = "$run/runc"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ""
TOML
  log "starting containerd ($sock)"
  nohup containerd --config "$data/containerd.toml" >"$data/containerd.log" 2>&1 &
  echo $! >"$run/containerd.pid"
  for _ in $(seq 100); do ctr --address "$sock" version >/dev/null 2>&1 && return 0; sleep 0.2; done
  log "containerd did not start; see $data/containerd.log"; tail -20 "$data/containerd.log" >&2; exit 1
}

load_images() { # refs...
  local ref line
  for ref in "$@"; do
    if ctr_ images ls -q | grep -qx "$ref"; then continue; fi
    line="$("$here/images/build.sh" --archive "${ref}")"
    log "importing ${line%% *} into $cluster's containerd"
    ctr_ images import --no-unpack=false "${line#* }" >&2
  done
}

# CoreDNS for the cluster domain, on the bridge address only (one per node, so per stack).
start_coredns() {
  if [[ -f "$run/coredns.pid" ]] && kill -0 "$(cat "$run/coredns.pid")" 2>/dev/null; then
    return
  fi
  local coredns
  coredns="$("$here/coredns/build.sh")"
  cat >"$data/Corefile" <<COREFILE
.:53 {
    bind $host_ip
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $kubeconfig
    }
    nxdomain
}
COREFILE
  log "starting CoreDNS on $host_ip:53 (cluster.local from the API server; nothing forwarded)"
  nohup "$coredns" -conf "$data/Corefile" >"$data/coredns.log" 2>&1 &
  echo $! >"$run/coredns.pid"
  for _ in $(seq 100); do
    grep -q "^\[INFO\] plugin/ready\|CoreDNS-" "$data/coredns.log" 2>/dev/null && break
    kill -0 "$(cat "$run/coredns.pid")" 2>/dev/null || { log "CoreDNS exited:"; tail -20 "$data/coredns.log" >&2; exit 1; }
    sleep 0.2
  done
}

case "$cmd" in
  up)
    node="${3:-$cluster-gpu-0}"
    [[ -f "$kubeconfig" ]] || { log "no cluster $cluster: run hack/cluster.sh up $cluster first"; exit 1; }
    need_packages
    mkdir -p "$run" "$data"
    # libcni keeps a result cache under /var/lib/cni (a fixed path): remove it on `down` if this
    # script made it.
    [[ -d /var/lib/cni || -f "$data/made-var-lib-cni" ]] || touch "$data/made-var-lib-cni"
    if [[ ! -f "$data/sysctl.saved" ]]; then
      for s in "${sysctls[@]}"; do echo "$s=$(sysctl -n "$s")"; done >"$data/sysctl.saved"
    fi
    bridge_up
    start_coredns
    pause="$("$here/images/build.sh" pause)"
    start_containerd "$pause"
    # The sandbox image is imported into the node under its own name (no registry to pull from).
    if ! ctr_ images ls -q | grep -qx "$pause"; then
      ctr_ images import "$("$here/images/build.sh" --archive pause | cut -d' ' -f2)" >&2
    fi
    if [[ -f "$run/kubelet.pid" ]] && kill -0 "$(cat "$run/kubelet.pid")" 2>/dev/null; then
      log "reusing kubelet of $node"
    else
      port="$(free_port)"; healthz="$(free_port)"
      for c in /sys/fs/cgroup/*/; do
        [[ -f "$c/cgroup.procs" && ! -L "${c%/}" ]] && mkdir -p "$c$cgroup_root"
      done
      printf 'options ndots:1\n' >"$data/resolv.conf" # no nameserver: pods resolve nothing off the machine
      cat >"$data/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $host_ip
port: $port
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $healthz
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $pki/ca.crt}
authorization: {mode: AlwaysAllow}
tlsCertFile: $data/pki/kubelet.crt
tlsPrivateKeyFile: $data/pki/kubelet.key
cgroupDriver: cgroupfs
cgroupRoot: /$cgroup_root
containerRuntimeEndpoint: unix://$sock
failSwapOn: false
resolvConf: $data/resolv.conf
clusterDNS: [$host_ip]
podLogsDir: $data/pod-logs
failCgroupV1: false
clusterDomain: cluster.local
serializeImagePulls: false
makeIPTablesUtilChains: false
protectKernelDefaults: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 200Mi, nodefs.available: 2%, imagefs.available: 2%, nodefs.inodesFree: 2%}
registerWithTaints:
- {key: nvidia.com/gpu, value: present, effect: NoSchedule}
- {key: cloud.google.com/gke-spot, value: "true", effect: NoSchedule}
YAML
      # Serving certificate for the bridge address, signed by the cluster CA (the API server
      # verifies nothing more, but kubectl logs/exec then speaks TLS to a known name).
      if [[ ! -f "$data/pki/kubelet.crt" ]]; then
        mkdir -p "$data/pki"
        openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$node" \
          -addext "subjectAltName=IP:$host_ip,DNS:$node" \
          -CA "$pki/ca.crt" -CAkey "$pki/ca.key" \
          -keyout "$data/pki/kubelet.key" -out "$data/pki/kubelet.crt" >/dev/null 2>&1
      fi
      log "starting kubelet $node on $host_ip:$port (containerd $sock)"
      nohup kubelet --config "$data/kubelet.yaml" --kubeconfig "$kubeconfig" \
        --hostname-override "$node" --node-ip "$host_ip" \
        --root-dir "$data/kubelet" --cert-dir "$data/pki" \
        --v 1 >"$data/kubelet.log" 2>&1 &
      echo $! >"$run/kubelet.pid"
      echo "$node" >"$run/node-name"
    fi
    k() { kubectl --kubeconfig "$kubeconfig" "$@"; }
    for _ in $(seq 120); do k get node "$node" >/dev/null 2>&1 && break; sleep 0.5; done
    # GKE's labels for a g2 (4 x L4) spot node of a node pool, and four GPUs in the node's capacity
    # (the documented way to advertise an extended resource: a JSON patch of node status), so a
    # few jobs can run at once.
    k label node "$node" --overwrite >/dev/null \
      cloud.google.com/gke-nodepool=local-l4-spot \
      cloud.google.com/gke-accelerator=nvidia-l4 \
      cloud.google.com/gke-accelerator-count=4 \
      cloud.google.com/gke-gpu=true \
      cloud.google.com/gke-spot=true \
      cloud.google.com/gke-provisioning=spot \
      node.kubernetes.io/instance-type=g2-standard-48 \
      topology.kubernetes.io/zone=local-a \
      finetune.dev/real-node=true
    k patch node "$node" --subresource=status --type=json \
      -p '[{"op":"add","path":"/status/capacity/nvidia.com~1gpu","value":"4"}]' >/dev/null
    if ! k wait --for=condition=Ready "node/$node" --timeout=180s >&2; then
      log "node $node is not Ready; last kubelet log lines:"; tail -30 "$data/kubelet.log" >&2; exit 1
    fi
    echo "$node"
    ;;
  load)
    shift 2
    start_containerd "$("$here/images/build.sh" pause)"
    load_images "$@"
    ;;
  down)
    if [[ -f "$run/kubelet.pid" ]]; then
      kill "$(cat "$run/kubelet.pid")" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$(cat "$run/kubelet.pid")" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$(cat "$run/kubelet.pid")" 2>/dev/null || true
    fi
    if [[ -S "$sock" ]] && ctr --address "$sock" version >/dev/null 2>&1; then
      # Stop every container the node ran (their shims outlive containerd otherwise).
      for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
      for _ in $(seq 25); do [[ -z "$(ctr_ tasks ls -q 2>/dev/null | head -1)" ]] && break
        for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true; done; sleep 0.2; done
      for id in $(ctr_ containers ls -q 2>/dev/null); do
        ctr_ containers delete "$id" >/dev/null 2>&1 || true
        rm -f /var/lib/cni/results/*-"$id"-* # libcni's result cache of a sandbox torn down here
      done
    fi
    if [[ -f "$run/coredns.pid" ]]; then
      kill "$(cat "$run/coredns.pid")" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$(cat "$run/coredns.pid")" 2>/dev/null || break; sleep 0.2; done
      kill -9 "$(cat "$run/coredns.pid")" 2>/dev/null || true
    fi
    if [[ -f "$run/containerd.pid" ]]; then
      kill "$(cat "$run/containerd.pid")" 2>/dev/null || true
      for _ in $(seq 50); do kill -0 "$(cat "$run/containerd.pid")" 2>/dev/null || break; sleep 0.2; done
    fi
    # Pod network namespaces, the kubelet's and containerd's mounts, the pods' cgroups.
    for ns in /var/run/netns/cni-*; do
      [[ -e "$ns" ]] || continue
      ip netns delete "$(basename "$ns")" 2>/dev/null || { umount "$ns" 2>/dev/null; rm -f "$ns"; }
    done
    awk -v a="$data/" -v b="$run/" '$2 ~ "^"a || $2 ~ "^"b {print $2}' /proc/mounts | sort -r \
      | while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    for c in /sys/fs/cgroup/*/"$cgroup_root"; do
      [[ -d "$c" ]] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
    rm -f /var/lib/cni/results/finetune-"$cluster"-* /var/lib/cni/cache/results/finetune-"$cluster"-* # libcni's cache
    if [[ -f "$data/made-var-lib-cni" ]]; then
      find /var/lib/cni -depth -type d -empty -delete 2>/dev/null || true
      [[ -d /var/lib/cni ]] || rm -f "$data/made-var-lib-cni"
    fi
    if ip link show "$bridge" >/dev/null 2>&1; then ip link delete "$bridge"; fi
    if [[ -f "$data/sysctl.saved" ]]; then
      while IFS= read -r kv; do sysctl -q -w "$kv" >/dev/null || true; done <"$data/sysctl.saved"
      rm -f "$data/sysctl.saved"
    fi
    if [[ -f "$run/node-name" && -f "$kubeconfig" ]]; then
      kubectl --kubeconfig "$kubeconfig" delete node "$(cat "$run/node-name")" --wait=false >/dev/null 2>&1 || true
    fi
    rm -rf "$run" "$data/kubelet"
    ;;
  *)
    echo "usage: $0 up|load|down CLUSTER [...]" >&2
    exit 2
    ;;
esac
