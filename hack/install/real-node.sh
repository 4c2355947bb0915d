#!/usr/bin/env bash
# A working operator from the Helm chart, on the stack `hack/dev.sh up` started (the real node
# runs the operator image; make e2e-test's stack with FINETUNE_DEV_NAME=finetune-e2e):
#   1. reads the operator that dev.sh installed with kustomize (deploy/ plus its local overlay):
#      image, configuration, node placement, API server address;
#   2. removes that install but for the CRD and the namespace (FineTuneJobs stay);
#   3. `helm install`s charts/finetune-operator with the same settings and waits until the
#      operator pod is Ready on the real node (its /readyz) and holds the leader lease;
#   4. puts the kustomize install back (`kubectl apply -k` of dev.sh's overlay) and waits for it.
# The kustomize install itself is checked by dev.sh (rollout status). Needs KUBECONFIG and
# FINETUNE_DEV_NAME as `hack/dev.sh up` prints and uses them; exits non-zero on any failure.
#
#   hack/install/real-node.sh
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
name="${FINETUNE_DEV_NAME:-finetune-dev}"
overlay="$repo/.dev/$name/operator-overlay"
ns=finetune-system
log() { echo "[real-node] $*" >&2; }
[[ -n "${KUBECONFIG:-}" ]] || { log "KUBECONFIG is not set (run with the environment hack/dev.sh up prints)"; exit 2; }
[[ -f "$overlay/kustomization.yaml" ]] || { log "no $overlay: start the stack with hack/dev.sh up"; exit 2; }
export PATH="$("$repo/hack/controlplane/build.sh"):$PATH"
helm="$("$here/helm.sh")"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# 1. the live kustomize install, as chart values (JSON is YAML)
kubectl -n "$ns" get deploy finetune-operator -o json >"$out/deploy.json"
kubectl -n "$ns" get configmap finetune-operator -o json >"$out/cm.json"
python3 - "$out" >"$out/values.json" <<'PY'
import json, sys
out = sys.argv[1]
d = json.load(open(f"{out}/deploy.json"))
cm = json.load(open(f"{out}/cm.json"))
spec = d["spec"]["template"]["spec"]
c = next(c for c in spec["containers"] if c["name"] == "operator")
repo, _, tag = c["image"].rpartition(":")
print(json.dumps({
    "image": {"repository": repo, "tag": tag, "pullPolicy": c.get("imagePullPolicy", "")},
    "replicas": d["spec"]["replicas"],
    "nodeSelector": spec.get("nodeSelector", {}),
    "tolerations": spec.get("tolerations", []),
    "extraEnv": c.get("env", []),
    "config": cm["data"],
    "serviceAccount": {"gcpServiceAccount": ""},
}, indent=2))
PY
log "helm values from the kustomize install: image $(python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))["image"]; print(v["repository"] + ":" + v["tag"])' "$out/values.json")"

# 2. remove the kustomize install, keeping the CRD (and so every FineTuneJob) and the namespace
kubectl kustomize "$overlay" >"$out/kustomize.yaml"
python3 - "$out/kustomize.yaml" >"$out/remove.yaml" <<'PY'
import re, sys
docs = re.split(r"(?m)^---\s*$", open(sys.argv[1]).read())
keep = [d for d in docs if d.strip() and not re.search(r"(?m)^kind: (CustomResourceDefinition|Namespace)\s*$", d)]
print("\n---\n".join(keep))
PY
kubectl delete -f "$out/remove.yaml" --wait=true >/dev/null
kubectl -n "$ns" wait --for=delete pod -l app.kubernetes.io/name=finetune-operator --timeout=120s >/dev/null 2>&1 || true

# 3. helm install with the same settings; a Ready pod on the real node that leads
status=0
if "$helm" install finetune-operator "$repo/charts/finetune-operator" -n "$ns" -f "$out/values.json" >"$out/helm.log" 2>&1 \
  && kubectl -n "$ns" rollout status deploy/finetune-operator --timeout=240s >&2; then
  pod="$(kubectl -n "$ns" get pods -l app.kubernetes.io/name=finetune-operator -o jsonpath='{.items[0].metadata.name}')"
  ready="$(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')"
  holder=""
  for _ in $(seq 60); do
    holder="$(kubectl -n "$ns" get lease -o jsonpath='{.items[*].spec.holderIdentity}' 2>/dev/null || true)"
    [[ "$holder" == *"$pod"* ]] && break
    sleep 1
  done
  if [[ "$ready" == True && "$holder" == *"$pod"* ]]; then
    log "ok: helm install runs the operator: pod $pod Ready on $(kubectl -n "$ns" get pod "$pod" -o jsonpath='{.spec.nodeName}'), leader lease held"
  else
    log "FAIL: helm-installed operator pod $pod: Ready=$ready, lease holder '$holder'"
    status=1
  fi
else
  cat "$out/helm.log" >&2
  kubectl -n "$ns" get pods -o wide >&2 || true
  kubectl -n "$ns" logs deploy/finetune-operator --tail=40 >&2 || true
  log "FAIL: helm install did not bring up a ready operator"
  status=1
fi
"$helm" uninstall finetune-operator -n "$ns" --wait >/dev/null 2>&1 || status=1

# 4. the kustomize install back
kubectl apply -k "$overlay" >/dev/null
kubectl -n "$ns" rollout status deploy/finetune-operator --timeout=240s >&2 || status=1
exit $status
