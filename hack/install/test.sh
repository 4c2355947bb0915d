#!/usr/bin/env bash
# The install checks (make install-test):
#   1. helm lint of charts/finetune-operator, with its defaults and with the GKE settings;
#   2. `helm template` renders the same objects as `kubectl kustomize deploy/` (the CRD included),
#      and, given deploy/overlays/gke/settings.env as values, the same as deploy/overlays/gke;
#      objects are compared in canonical form (hack/install/canon), so any drift fails with a diff;
#   3. the GKE overlay leaves no placeholder (PROJECT_ID, PROJECT_NUMBER, CLUSTER_NAME) and writes
#      every value of settings.env; the chart's crds/ is the committed CRD;
#   4. against a real local API server (hack/cluster.sh; FINETUNE_INSTALL_KUBECONFIG reuses one):
#      every rendering passes `kubectl apply --dry-run=server`; `kubectl apply -k deploy/` and
#      `helm install` (in another namespace) each create the operator's objects, witnessed by the
#      API server (CRD Established, the Deployment's pods created under the operator's
#      ServiceAccount), and `kubectl delete -k` / `helm uninstall` remove them.
# helm is built from its Go module (hack/install/helm.sh), canon from hack/install/canon; both
# are cached under ${FINETUNE_CACHE:-~/.cache/finetune-operator}/.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
chart="$repo/charts/finetune-operator"
settings="$repo/deploy/overlays/gke/settings.env"
cluster_name="${FINETUNE_INSTALL_CLUSTER:-finetune-install}"
log() { echo "[install] $*" >&2; }
passed=0
failed=0
pass() { passed=$((passed + 1)); log "ok   $*"; }
fail() { failed=$((failed + 1)); log "FAIL $*"; }

helm="$("$here/helm.sh")"
export PATH="$("$repo/hack/controlplane/build.sh"):$PATH"
src="$here/canon"
canon="$cache/canon-$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)/canon"
if [[ ! -x "$canon" ]]; then
  mkdir -p "$(dirname "$canon")"
  (cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -o "$canon.tmp" .)
  mv "$canon.tmp" "$canon"
fi
out="$(mktemp -d)"
cleanup() {
  if [[ -n "${started_cluster:-}" ]]; then "$repo/hack/cluster.sh" down "$cluster_name" >/dev/null 2>&1 || true; fi
  rm -rf "$out"
}
trap cleanup EXIT

# --- render
kubectl kustomize "$repo/deploy" >"$out/kustomize.yaml"
kubectl kustomize "$repo/deploy/overlays/gke" >"$out/kustomize-gke.yaml"
# The chart's values for the same GKE settings.
get() { sed -n "s/^$1=//p" "$settings"; }
operator_image="$(get OPERATOR_IMAGE)"
cat >"$out/gke-values.yaml" <<YAML
image:
  repository: "${operator_image%:*}"
  tag: "${operator_image##*:}"
serviceAccount:
  gcpServiceAccount: "$(get OPERATOR_GSA)"
config:
  FINETUNE_GCP_PROJECT: "$(get PROJECT_ID)"
  FINETUNE_GCP_PROJECT_NUMBER: "$(get PROJECT_NUMBER)"
  FINETUNE_CLUSTER_LOCATION: "$(get CLUSTER_LOCATION)"
  FINETUNE_CLUSTER_NAME: "$(get CLUSTER_NAME)"
  FINETUNE_TRAINER_IMAGE: "$(get TRAINER_IMAGE)"
tenancy:
  adminGroups: ["$(get ADMIN_GROUP)"]
YAML
template() {
  "$helm" template finetune-operator "$chart" --namespace finetune-system --include-crds \
    --set namespace.create=true "$@"
}
template >"$out/helm.yaml"
template -f "$out/gke-values.yaml" >"$out/helm-gke.yaml"

# --- 1. lint
if "$helm" lint --strict "$chart" >"$out/lint.log" 2>&1 \
  && "$helm" lint --strict "$chart" -f "$out/gke-values.yaml" >>"$out/lint.log" 2>&1; then
  pass "helm lint --strict (defaults and GKE values)"
else
  cat "$out/lint.log" >&2
  fail "helm lint"
fi

# --- 2. the chart and kustomize render the same objects
compare() {
  local what="$1" a="$2" b="$3"
  "$canon" "$a" >"$a.canon"
  "$canon" "$b" >"$b.canon"
  if diff -u --label "kustomize ($what)" --label "helm ($what)" "$a.canon" "$b.canon" >"$out/diff" 2>&1; then
    pass "helm template = kubectl kustomize ($what: $(grep -c '^### ' "$a.canon") objects)"
  else
    cat "$out/diff" >&2
    fail "helm template and kubectl kustomize differ ($what); change charts/finetune-operator with deploy/"
  fi
}
compare "deploy/" "$out/kustomize.yaml" "$out/helm.yaml"
compare "deploy/overlays/gke" "$out/kustomize-gke.yaml" "$out/helm-gke.yaml"

# --- 3. the overlay fills every placeholder; the chart's CRD is the committed one
if grep -nwE 'PROJECT_ID|PROJECT_NUMBER|CLUSTER_NAME' "$out/kustomize-gke.yaml" >&2; then
  fail "deploy/overlays/gke leaves placeholders (above)"
else
  missing=()
  while IFS='=' read -r key value; do
    [[ -z "$key" || "$key" == \#* ]] && continue
    grep -qF -- "$value" "$out/kustomize-gke.yaml" || missing+=("$key")
  done <"$settings"
  if [[ ${#missing[@]} -eq 0 ]]; then
    pass "deploy/overlays/gke: no placeholder left, every setting written"
  else
    fail "deploy/overlays/gke does not write ${missing[*]} into any object"
  fi
fi
if grep -q 'finetune-install-settings' "$out/kustomize-gke.yaml"; then
  fail "the settings ConfigMap of deploy/overlays/gke would reach the cluster"
fi
if cmp -s "$repo/crds/finetunejobs.finetune.dev-v1.yml" "$chart/crds/finetunejobs.finetune.dev-v1.yml"; then
  pass "charts/finetune-operator/crds holds the committed CRD"
else
  fail "charts/finetune-operator/crds/ differs from crds/: run make crds"
fi

# --- 4. against the API server
if [[ -n "${FINETUNE_INSTALL_KUBECONFIG:-}" ]]; then
  export KUBECONFIG="$FINETUNE_INSTALL_KUBECONFIG"
else
  started_cluster=1
  if ! KUBECONFIG="$("$repo/hack/cluster.sh" up "$cluster_name" 2>"$out/cluster.log")"; then
    cat "$out/cluster.log" >&2
    exit 1
  fi
  export KUBECONFIG
fi
log "API server $(kubectl version -o json | sed -n 's/.*"gitVersion": "\(.*\)".*/\1/p' | tail -1)"
# Namespaced objects can be dry-run only into a namespace that exists.
kubectl apply -f "$repo/deploy/base/namespace.yaml" >/dev/null
for f in kustomize kustomize-gke helm helm-gke; do
  if kubectl apply --dry-run=server -f "$out/$f.yaml" >"$out/dry.log" 2>&1; then
    pass "kubectl apply --dry-run=server ($f: $(grep -c . "$out/dry.log") objects)"
  else
    cat "$out/dry.log" >&2
    fail "the API server rejects the $f rendering"
  fi
done

# Waits until the Deployment in namespace $1 has its pods, created under the operator's SA.
operator_up() {
  local ns="$1" i
  kubectl wait --for=condition=Established crd/finetunejobs.finetune.dev --timeout=60s >/dev/null
  for i in $(seq 120); do
    local sas
    sas="$(kubectl -n "$ns" get pods -l app.kubernetes.io/name=finetune-operator \
      -o jsonpath='{range .items[*]}{.spec.serviceAccountName}{"\n"}{end}' 2>/dev/null | grep -c '^finetune-operator$' || true)"
    if [[ "$sas" -ge 2 ]]; then
      return 0
    fi
    sleep 0.5
  done
  kubectl -n "$ns" get deploy,rs,pods -o wide >&2 || true
  return 1
}
gone() {
  local i
  for i in $(seq 240); do
    if ! kubectl get "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.5
  done
  return 1
}

kubectl apply -k "$repo/deploy" >"$out/apply.log"
if operator_up finetune-system \
  && [[ "$(kubectl -n finetune-system get sa finetune-operator -o jsonpath='{.metadata.annotations.iam\.gke\.io/gcp-service-account}')" == finetune-operator@PROJECT_ID.iam.gserviceaccount.com ]] \
  && kubectl auth can-i patch finetunejobs.finetune.dev/status --as system:serviceaccount:finetune-system:finetune-operator -A >/dev/null; then
  pass "kubectl apply -k deploy/: CRD established, 2 operator pods created under its ServiceAccount, RBAC bound"
else
  cat "$out/apply.log" >&2
  fail "kubectl apply -k deploy/ did not bring up the operator's objects"
fi
kubectl delete -k "$repo/deploy" --wait=false >/dev/null
if gone crd/finetunejobs.finetune.dev && gone clusterrole/finetune-operator \
  && gone validatingadmissionpolicy/finetune-namespace-annotations; then
  pass "kubectl delete -k deploy/ removes the cluster-scoped objects"
else
  fail "kubectl delete -k deploy/ left cluster-scoped objects behind"
fi

# Helm into another namespace: everything that names the namespace follows the release.
if "$helm" install finetune-operator "$chart" -n finetune-helm --create-namespace >"$out/helm-install.log" 2>&1 \
  && operator_up finetune-helm \
  && [[ "$(kubectl -n finetune-helm get cm finetune-operator -o jsonpath='{.data.FINETUNE_LEASE_NAMESPACE}')" == finetune-helm ]] \
  && kubectl auth can-i patch finetunejobs.finetune.dev/status --as system:serviceaccount:finetune-helm:finetune-operator -A >/dev/null \
  && kubectl auth can-i update leases.coordination.k8s.io -n finetune-helm --as system:serviceaccount:finetune-helm:finetune-operator >/dev/null; then
  pass "helm install -n finetune-helm: CRD from the chart established, 2 operator pods created, RBAC and lease namespace follow the release"
else
  cat "$out/helm-install.log" >&2
  fail "helm install did not bring up the operator's objects"
fi
"$helm" uninstall finetune-operator -n finetune-helm >/dev/null 2>&1 || true
if gone clusterrole/finetune-operator && gone -n finetune-helm deploy/finetune-operator; then
  pass "helm uninstall removes the operator's objects (Helm keeps the CRD, by design)"
else
  fail "helm uninstall left the operator's objects behind"
fi

echo "install: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
