#!/usr/bin/env bash
# Tests hack/gcp-setup.sh and the permission names the project uses:
#   - a dry run (the default) prints the setup and calls nothing: a gcloud on PATH that records
#     its calls sees none;
#   - --apply calls gcloud with exactly the printed commands, creating what its checks find
#     missing (the recording gcloud answers "not found" to every describe);
#   - bad arguments stop with a message naming the argument;
#   - every permission named by a role file (hack/gcp/roles/*.yaml), by docs/gcp-permissions.md,
#     docs/gcp-setup.md or by the operator's GCP code is in hack/gcp/permissions.txt, the list of
#     real permission names checked against Google's references.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
setup="$repo/hack/gcp-setup.sh"
passed=0
failed=0
pass() { passed=$((passed + 1)); echo "[gcp] ok   $*" >&2; }
fail() { failed=$((failed + 1)); echo "[gcp] FAIL $*" >&2; }
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# A gcloud that records each call (shell-quoted) and knows nothing.
mkdir -p "$tmp/bin"
cat >"$tmp/bin/gcloud" <<'SH'
#!/usr/bin/env bash
printf '%q ' "$@" | sed 's/ $//' >>"$GCLOUD_LOG"; echo >>"$GCLOUD_LOG"
case "$*" in
  "projects describe"*) echo 123456789012 ;;
  *" describe "*) exit 1 ;;
esac
SH
chmod +x "$tmp/bin/gcloud"
export PATH="$tmp/bin:$PATH" GCLOUD_LOG="$tmp/calls"
args=(--project ml-prod --location us-central1 --cluster train
  --allowed-gsa trainer@ml-prod.iam.gserviceaccount.com --allowed-gsa etl@data-proj.iam.gserviceaccount.com
  --bucket gs://ml-data --bucket gs://ml-out/)

# --- dry run
: >"$tmp/calls"
"$setup" "${args[@]}" >"$tmp/dry.txt"
if [[ ! -s "$tmp/calls" ]]; then pass "dry run calls no gcloud"; else fail "dry run called gcloud: $(cat "$tmp/calls")"; fi
expect() {
  if grep -qxF -- "$1" "$tmp/dry.txt"; then pass "prints: ${2:-$1}"; else fail "does not print: $1"; fi
}
expect 'PROJECT_NUMBER="$(gcloud projects describe ml-prod --format='"'"'value(projectNumber)'"'"')"' "the project number lookup"
expect 'gcloud services enable container.googleapis.com compute.googleapis.com iam.googleapis.com iamcredentials.googleapis.com storage.googleapis.com artifactregistry.googleapis.com --project ml-prod' "the APIs"
expect 'gcloud iam service-accounts describe finetune-operator@ml-prod.iam.gserviceaccount.com --project ml-prod >/dev/null 2>&1 || gcloud iam service-accounts create finetune-operator --project ml-prod --display-name FineTune\ Operator' "the operator's service account"
expect 'gcloud iam roles describe finetuneOperator --project ml-prod >/dev/null 2>&1 && gcloud iam roles update finetuneOperator --project ml-prod --permissions container.clusters.get\,container.clusters.update\,container.operations.get\,container.operations.list --quiet || gcloud iam roles create finetuneOperator --project ml-prod --file hack/gcp/roles/finetuneOperator.yaml' "the GKE custom role from its file"
expect 'gcloud projects add-iam-policy-binding ml-prod --member serviceAccount:finetune-operator@ml-prod.iam.gserviceaccount.com --role projects/ml-prod/roles/finetuneOperator --condition None' "the GKE role granted"
expect 'gcloud iam service-accounts add-iam-policy-binding ${PROJECT_NUMBER}-compute@developer.gserviceaccount.com --project ml-prod --member serviceAccount:finetune-operator@ml-prod.iam.gserviceaccount.com --role roles/iam.serviceAccountUser' "actAs on the default node service account"
expect 'gcloud iam service-accounts add-iam-policy-binding finetune-operator@ml-prod.iam.gserviceaccount.com --project ml-prod --member serviceAccount:ml-prod.svc.id.goog\[finetune-system/finetune-operator\] --role roles/iam.workloadIdentityUser' "the Workload Identity binding of finetune-system/finetune-operator"
expect 'gcloud iam service-accounts add-iam-policy-binding trainer@ml-prod.iam.gserviceaccount.com --project ml-prod --member serviceAccount:finetune-operator@ml-prod.iam.gserviceaccount.com --role projects/ml-prod/roles/finetuneIamBinder' "the binder role on an allowed GSA"
expect 'gcloud iam service-accounts add-iam-policy-binding etl@data-proj.iam.gserviceaccount.com --project data-proj --member serviceAccount:finetune-operator@ml-prod.iam.gserviceaccount.com --role roles/iam.serviceAccountAdmin' "a predefined role on a GSA of another project"
expect 'gcloud storage buckets add-iam-policy-binding gs://ml-out --member serviceAccount:finetune-operator@ml-prod.iam.gserviceaccount.com --role projects/ml-prod/roles/finetuneBucketBinder' "the bucket binder role"
"$setup" "${args[@]}" --namespace ml-ops --node-sa nodes@ml-prod.iam.gserviceaccount.com --project-number 42 >"$tmp/dry2.txt"
if grep -qF 'serviceAccount:ml-prod.svc.id.goog\[ml-ops/finetune-operator\]' "$tmp/dry2.txt" \
  && grep -qF 'add-iam-policy-binding nodes@ml-prod.iam.gserviceaccount.com' "$tmp/dry2.txt" \
  && ! grep -q 'projects describe' "$tmp/dry2.txt"; then
  pass "--namespace, --node-sa and --project-number are used"
else
  fail "--namespace/--node-sa/--project-number not reflected"
fi

# --- apply: the same commands, run
: >"$tmp/calls"
"$setup" "${args[@]}" --apply >"$tmp/apply.txt"
"$setup" "${args[@]}" --project-number 123456789012 >"$tmp/dry3.txt"
# What the printed lines make a shell run when every describe fails: the check, then the create.
grep -v '^#' "$tmp/dry3.txt" | grep . | sed 's/ >\/dev\/null 2>&1//' | python3 -c '
import sys
for line in sys.stdin:
    parts = line.rstrip("\n").replace(" && ", " || ").split(" || ")
    cmds = [parts[0], parts[-1]] if len(parts) > 1 else parts
    for c in cmds:
        print(c[len("gcloud "):])
' >"$tmp/expected"
(echo "projects describe ml-prod --format=value\(projectNumber\)"; cat "$tmp/expected") >"$tmp/expected-apply"
if diff -u "$tmp/expected-apply" "$tmp/calls" >&2; then
  pass "--apply runs exactly the printed commands ($(wc -l <"$tmp/calls") gcloud calls)"
else
  fail "--apply ran other commands than it prints (diff above)"
fi

# --- bad input
bad() {
  local want="$1"; shift
  if "$setup" "$@" >/dev/null 2>"$tmp/err"; then
    fail "accepted $*"
  elif grep -qF -- "$want" "$tmp/err"; then
    pass "refuses $* ($(cat "$tmp/err"))"
  else
    fail "refuses $* without naming $want: $(cat "$tmp/err")"
  fi
}
bad "--project is required" --location us-central1 --cluster c
bad "--bucket ml-data is not gs://BUCKET" --project ml-prod --location l --cluster c --bucket ml-data
bad "--allowed-gsa bob@example.com is not a service account email" --project ml-prod --location l --cluster c --allowed-gsa bob@example.com
bad "unknown argument --aply" --project ml-prod --location l --cluster c --aply

# --- permission names
known="$(grep -v '^#' "$here/permissions.txt" | grep .)"
check_names() {
  local where="$1" names="$2" unknown
  unknown="$(comm -23 <(echo "$names" | grep . | sort -u) <(echo "$known" | sort -u))"
  if [[ -z "$names" ]]; then
    fail "$where names no permission (the pattern found nothing)"
  elif [[ -z "$unknown" ]]; then
    pass "$where: $(echo "$names" | sort -u | wc -l) permissions, all real"
  else
    fail "$where names permissions not in hack/gcp/permissions.txt: $(echo "$unknown" | tr '\n' ' ')"
  fi
}
perm='(container|iam|storage|compute|resourcemanager)\.[a-zA-Z]+\.[a-zA-Z]+'
check_names "hack/gcp/roles" "$(sed -n 's/^  - \(.*\)$/\1/p' "$here"/roles/*.yaml)"
for f in "$here"/roles/*.yaml; do
  extra="$(grep -vE '^(#|title:|description:|  |stage: (ALPHA|BETA|GA)$|includedPermissions:$)' "$f" || true)"
  [[ -z "$extra" ]] || fail "${f#"$repo"/} has fields a role file does not have: $extra"
done
check_names "docs/gcp-permissions.md" "$(grep -oE '`'"$perm"'`' "$repo/docs/gcp-permissions.md" | tr -d '`')"
check_names "docs/gcp-setup.md" "$(grep -oE "$perm" "$repo/docs/gcp-setup.md" | grep -vE '\.(googleapis|gserviceaccount|svc)\.|^iam\.gke\.io' || true)"
check_names "operator/src/main/java (gcp)" "$(grep -rhoE "\"[^\"]*$perm" "$repo/operator/src/main/java/dev/finetune/operator/gcp" | grep -oE "$perm" | grep -vE '\.(googleapis|com)$' || true)"

echo "gcp-setup: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
