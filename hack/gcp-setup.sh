#!/usr/bin/env bash
# The Google Cloud side of an install (docs/gcp-setup.md): the APIs, the operator's Google service
# account, its custom roles (from hack/gcp/roles/*.yaml), its grants, and the Workload Identity
# binding of the operator's Kubernetes service account (NAMESPACE/finetune-operator).
#
#   hack/gcp-setup.sh --project P --location L --cluster C [options] [--dry-run | --apply]
#
#   --dry-run            print the gcloud commands (the default); nothing is called
#   --apply              run them (gcloud must be logged in as someone who may change IAM)
#   --project-number N   skip looking the project number up
#   --namespace NS       the operator's namespace (default finetune-system)
#   --node-sa EMAIL      the nodes' service account (default: Compute Engine default,
#                        PROJECT_NUMBER-compute@developer.gserviceaccount.com)
#   --allowed-gsa EMAIL  a Google service account jobs may run as (classic Workload Identity);
#                        repeatable: the operator may bind jobs to it (finetuneIamBinder on it)
#   --bucket gs://B      a bucket jobs read or write; repeatable: the operator may read it
#                        (roles/storage.objectViewer) and, for identity.mode direct, grant jobs
#                        on it (finetuneBucketBinder)
#   --print-settings     also print deploy/overlays/gke/settings.env for these values
#
# Every step is idempotent: run it again after adding a bucket or a service account.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
roles_dir="$here/gcp/roles"
mode=dry-run
project="" location="" cluster="" number="" namespace=finetune-system node_sa="" settings=false
gsas=() buckets=()
die() { echo "gcp-setup: $*" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) mode=dry-run ;;
    --apply) mode=apply ;;
    --project) project="${2:?--project needs a value}"; shift ;;
    --project-number) number="${2:?--project-number needs a value}"; shift ;;
    --location) location="${2:?--location needs a value}"; shift ;;
    --cluster) cluster="${2:?--cluster needs a value}"; shift ;;
    --namespace) namespace="${2:?--namespace needs a value}"; shift ;;
    --node-sa) node_sa="${2:?--node-sa needs a value}"; shift ;;
    --allowed-gsa) gsas+=("${2:?--allowed-gsa needs a value}"); shift ;;
    --bucket) buckets+=("${2:?--bucket needs a value}"); shift ;;
    --print-settings) settings=true ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  shift
done
[[ -n "$project" ]] || die "--project is required"
[[ -n "$location" ]] || die "--location is required (the cluster's region or zone)"
[[ -n "$cluster" ]] || die "--cluster is required"
[[ "$project" =~ ^[a-z][a-z0-9-]{4,28}[a-z0-9]$ ]] || die "--project $project is not a project id"
[[ -z "$number" || "$number" =~ ^[0-9]+$ ]] || die "--project-number $number is not a number"
for b in "${buckets[@]}"; do
  [[ "$b" =~ ^gs://[a-z0-9][a-z0-9._-]*[a-z0-9]/?$ ]] || die "--bucket $b is not gs://BUCKET"
done
for g in "${gsas[@]}"; do
  [[ "$g" == *@*.iam.gserviceaccount.com ]] || die "--allowed-gsa $g is not a service account email"
done
for f in "$roles_dir"/*.yaml; do [[ -f "$f" ]] || die "no role files in $roles_dir"; done

gsa="finetune-operator@$project.iam.gserviceaccount.com"
ksa="serviceAccount:$project.svc.id.goog[$namespace/finetune-operator]"

# In dry-run the commands are printed as a person pastes them; in apply they run.
step() { echo; echo "# $*"; }
# A shell-quoted command line; the project number, unknown in a dry run, stays a variable that the
# first printed command sets.
quote() { printf '%q ' "$@" | sed 's/ $//; s/\\\$PROJECT_NUMBER/${PROJECT_NUMBER}/g'; }
run() {
  quote "$@"
  echo
  if [[ $mode == apply ]]; then "$@"; fi
}
# A command that only runs when a check fails (create what is missing).
unless() {
  local check="$1"; shift
  printf '%s || ' "$check"
  quote "$@"
  echo
  if [[ $mode == apply ]] && ! eval "$check"; then "$@"; fi
}

# Role files are named relative to the repository, in the printed commands and when they run.
cd "$repo"
echo "# FineTune Operator: Google Cloud setup for project $project, cluster $location/$cluster ($mode)"
if [[ -z "$number" ]]; then
  step "The project number (Workload Identity Federation principals and the default node SA)"
  echo "PROJECT_NUMBER=\"\$(gcloud projects describe $project --format='value(projectNumber)')\""
  if [[ $mode == apply ]]; then
    number="$(gcloud projects describe "$project" --format='value(projectNumber)')"
  else
    number='$PROJECT_NUMBER'
  fi
fi
node_sa="${node_sa:-$number-compute@developer.gserviceaccount.com}"

step "APIs: GKE, Compute Engine (GPUs and their quotas), IAM, IAM credentials (Workload Identity tokens), Cloud Storage, Artifact Registry (the images)"
run gcloud services enable container.googleapis.com compute.googleapis.com iam.googleapis.com \
  iamcredentials.googleapis.com storage.googleapis.com artifactregistry.googleapis.com --project "$project"

step "The operator's Google service account"
unless "gcloud iam service-accounts describe $gsa --project $project >/dev/null 2>&1" \
  gcloud iam service-accounts create finetune-operator --project "$project" \
  --display-name "FineTune Operator"

step "Custom roles, from the role files (only the permissions the operator uses)"
for f in "$roles_dir"/*.yaml; do
  id="$(basename "$f" .yaml)"
  rel="${f#"$repo"/}"
  perms="$(sed -n 's/^  - \([a-zA-Z.]*\)$/\1/p' "$f" | paste -sd, -)"
  [[ -n "$perms" ]] || die "$rel lists no includedPermissions"
  # Update an existing role to the file's permissions, else create it from the file.
  check="gcloud iam roles describe $id --project $project >/dev/null 2>&1"
  echo "$check && $(quote gcloud iam roles update "$id" --project "$project" --permissions "$perms" --quiet) || $(quote gcloud iam roles create "$id" --project "$project" --file "$rel")"
  if [[ $mode == apply ]]; then
    if eval "$check"; then
      gcloud iam roles update "$id" --project "$project" --permissions "$perms" --quiet
    else
      gcloud iam roles create "$id" --project "$project" --file "$rel"
    fi
  fi
done

step "GKE: create, read and delete the jobs' GPU node pools"
run gcloud projects add-iam-policy-binding "$project" --member "serviceAccount:$gsa" \
  --role "projects/$project/roles/finetuneOperator" --condition None
step "Every node pool create: act as the nodes' service account ($node_sa)"
run gcloud iam service-accounts add-iam-policy-binding "$node_sa" --project "$project" \
  --member "serviceAccount:$gsa" --role roles/iam.serviceAccountUser

step "Workload Identity: the operator's Kubernetes service account $namespace/finetune-operator acts as $gsa"
run gcloud iam service-accounts add-iam-policy-binding "$gsa" --project "$project" \
  --member "$ksa" --role roles/iam.workloadIdentityUser

if [[ ${#gsas[@]} -gt 0 ]]; then
  step "Classic Workload Identity: the operator may bind jobs to these Google service accounts"
  for g in "${gsas[@]}"; do
    gp="${g#*@}"
    gp="${gp%.iam.gserviceaccount.com}"
    if [[ "$gp" == "$project" ]]; then
      run gcloud iam service-accounts add-iam-policy-binding "$g" --project "$gp" \
        --member "serviceAccount:$gsa" --role "projects/$project/roles/finetuneIamBinder"
    else
      # A project's custom roles can be granted in that project only.
      run gcloud iam service-accounts add-iam-policy-binding "$g" --project "$gp" \
        --member "serviceAccount:$gsa" --role roles/iam.serviceAccountAdmin
    fi
  done
fi
if [[ ${#buckets[@]} -gt 0 ]]; then
  step "Buckets: the operator validates datasets and reads progress and predictions; for identity.mode direct it grants jobs on them"
  for b in "${buckets[@]}"; do
    b="${b%/}"
    run gcloud storage buckets add-iam-policy-binding "$b" --member "serviceAccount:$gsa" \
      --role roles/storage.objectViewer
    run gcloud storage buckets add-iam-policy-binding "$b" --member "serviceAccount:$gsa" \
      --role "projects/$project/roles/finetuneBucketBinder"
  done
fi

if $settings; then
  step "deploy/overlays/gke/settings.env"
  cat <<ENV
PROJECT_ID=$project
PROJECT_NUMBER=$number
CLUSTER_LOCATION=$location
CLUSTER_NAME=$cluster
OPERATOR_GSA=$gsa
OPERATOR_IMAGE=$location-docker.pkg.dev/$project/finetune/operator:0.1.0
TRAINER_IMAGE=$location-docker.pkg.dev/$project/finetune/trainer:0.1.0
ADMIN_GROUP=gke-admins@example.com
ENV
fi
