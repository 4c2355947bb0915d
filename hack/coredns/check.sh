#!/usr/bin/env bash
# Checks the cluster DNS the real node uses, against a running local cluster (hack/cluster.sh up):
#   hack/coredns/check.sh KUBECONFIG
# An Indexed Job of two pods (kwok runs them) under a headless Service: the endpointslice controller
# lists both pods with their hostnames, CoreDNS (built by build.sh, only the kubernetes plugin)
# answers <pod>.<service>.<ns>.svc.cluster.local with each pod's address, and answers NXDOMAIN for a
# name outside the cluster (nothing is forwarded).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export KUBECONFIG="${1:?usage: $0 KUBECONFIG}"
PATH="$("$here/../controlplane/build.sh"):$PATH"
coredns="$("$here/build.sh")"
ns="dns-check-$$"
work="$(mktemp -d)"
port="$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
cleanup() {
  if [[ -f "$work/pid" ]]; then kill "$(cat "$work/pid")" 2>/dev/null || true; fi
  kubectl delete namespace "$ns" --wait=false >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "[coredns] FAIL: $*" >&2; exit 1; }

kubectl create namespace "$ns" >/dev/null
kubectl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Service
metadata: {name: grp, namespace: $ns}
spec: {clusterIP: None, publishNotReadyAddresses: true, selector: {app: grp}, ports: [{name: r, port: 29500}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: w, namespace: $ns}
spec:
  completionMode: Indexed
  completions: 2
  parallelism: 2
  template:
    metadata: {labels: {app: grp, kwok.finetune.dev/hold: "true"}}
    spec:
      subdomain: grp
      restartPolicy: Never
      tolerations: [{operator: Exists}]
      containers: [{name: c, image: none}]
YAML
cat >"$work/Corefile" <<COREFILE
.:$port {
    bind 127.0.0.1
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $KUBECONFIG
    }
    nxdomain
}
COREFILE
"$coredns" -conf "$work/Corefile" >"$work/log" 2>&1 &
echo $! >"$work/pid"

hostnames() {
  kubectl get endpointslices -n "$ns" -l kubernetes.io/service-name=grp \
    -o jsonpath='{range .items[*].endpoints[*]}{.hostname}{"\n"}{end}' | sort | tr '\n' ' '
}
for _ in $(seq 120); do [[ "$(hostnames)" == "w-0 w-1 " ]] && break; sleep 0.5; done
[[ "$(hostnames)" == "w-0 w-1 " ]] || fail "endpoint slices of the headless Service list '$(hostnames)', not w-0 w-1"
echo "[coredns] ok: the endpoint slices list both pods (w-0, w-1)"

ip_of() { kubectl get pod -n "$ns" -l batch.kubernetes.io/job-completion-index="$1" -o jsonpath='{.items[0].status.podIP}'; }
for _ in $(seq 60); do
  python3 "$here/dnsquery.py" 127.0.0.1 "$port" "w-0.grp.$ns.svc.cluster.local" 2>/dev/null | grep -q NOERROR && break
  sleep 0.5
done
for i in 0 1; do
  got="$(python3 "$here/dnsquery.py" 127.0.0.1 "$port" "w-$i.grp.$ns.svc.cluster.local")"
  [[ "$got" == "w-$i.grp.$ns.svc.cluster.local NOERROR $(ip_of "$i")" ]] || fail "w-$i: $got (pod IP $(ip_of "$i"))"
  echo "[coredns] ok: $got"
done
for name in "nothing.$ns.svc.cluster.local" storage.googleapis.com; do
  got="$(python3 "$here/dnsquery.py" 127.0.0.1 "$port" "$name")"
  [[ "$got" == "$name NXDOMAIN " ]] || fail "$name: $got"
  echo "[coredns] ok: $got"
done
