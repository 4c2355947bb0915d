#!/usr/bin/env bash
# `make dev`: the project's main job, locally. Starts the local control plane (real kube-apiserver,
# scheduler and controller-manager; kwok simulates the nodes, so the trainer pod is simulated and
# does not train), a local Cloud Storage (fake-gcs-server, preloaded with examples/data), installs
# the CRD, runs the operator, applies examples/quickstart.yaml and shows `kubectl get ftj`.
#   hack/dev.sh        start (or reuse) and apply the quickstart
#   hack/dev.sh down   stop everything
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
state="$cache/dev"
mkdir -p "$state"
name=finetune-dev
gcs_port="${FINETUNE_DEV_GCS_PORT:-4443}"

stop_pid() { [[ -f "$1" ]] && kill "$(cat "$1")" 2>/dev/null || true; rm -f "$1"; }

if [[ "${1:-}" == "down" ]]; then
  stop_pid "$state/operator.pid"
  stop_pid "$state/gcs.pid"
  "$repo/hack/cluster.sh" down "$name"
  exit 0
fi

bin="$("$repo/hack/controlplane/build.sh")"
export PATH="$bin:$PATH"
kubeconfig="$("$repo/hack/cluster.sh" up "$name")"
export KUBECONFIG="$kubeconfig"

if ! curl -sf "http://127.0.0.1:$gcs_port/storage/v1/b" >/dev/null 2>&1; then
  stop_pid "$state/gcs.pid"
  rm -rf "$state/gcs-data" && cp -r "$repo/examples/data" "$state/gcs-data"
  # The trainer pod is simulated: put sample predictions where the trainer would write them.
  out="$state/gcs-data/ft-quickstart/runs/person-extractor-v1"
  mkdir -p "$out" && cp -r "$repo/hack/dev/simulated-trainer-output/predictions" "$out/"
  nohup fake-gcs-server -scheme http -host 127.0.0.1 -port "$gcs_port" -backend memory \
    -public-host "127.0.0.1:$gcs_port" -data "$state/gcs-data" >"$state/gcs.log" 2>&1 &
  echo $! >"$state/gcs.pid"
  for _ in $(seq 50); do curl -sf "http://127.0.0.1:$gcs_port/storage/v1/b" >/dev/null && break; sleep 0.2; done
fi
echo "[dev] Cloud Storage stand-in on http://127.0.0.1:$gcs_port with buckets from examples/data"

kubectl apply --server-side -f "$repo/crds/"
kubectl wait --for=condition=Established crd/finetunejobs.finetune.dev --timeout=60s

jar="$repo/operator/target/finetune-operator.jar"
if [[ ! -f "$jar" ]]; then
  (cd "$repo" && mvn -B -ntp -q -DskipTests -DskipITs package)
fi
stop_pid "$state/operator.pid"
STORAGE_EMULATOR_HOST="http://127.0.0.1:$gcs_port" \
FINETUNE_IAM_MODE=external \
FINETUNE_LEADER_ELECTION=false \
FINETUNE_HTTP_PORT="${FINETUNE_DEV_HTTP_PORT:-8080}" \
FINETUNE_PROGRESS_POLL_INTERVAL=PT2S \
  nohup java -jar "$jar" operator --http-host 127.0.0.1 >"$state/operator.log" 2>&1 &
echo $! >"$state/operator.pid"
echo "[dev] operator running (log: $state/operator.log, metrics: http://127.0.0.1:${FINETUNE_DEV_HTTP_PORT:-8080}/metrics)"

kubectl apply -f "$repo/examples/quickstart.yaml"
echo "[dev] the trainer pod is simulated by kwok: it is scheduled on a simulated L4 node and exits 0"
echo "[dev] after a few seconds; the predictions it would write are samples from hack/dev/"
for _ in $(seq 60); do
  phase="$(kubectl get ftj -n ml-team person-extractor-v1 -o jsonpath='{.status.phase}' 2>/dev/null || true)"
  case "$phase" in Succeeded|Failed) break ;; esac
  sleep 1
done
kubectl get ftj -A -o wide
kubectl get ftj -n ml-team person-extractor-v1 -o jsonpath='{range .status.conditions[*]}{.type}={.status} ({.reason}): {.message}{"\n"}{end}'
echo "[dev] KUBECONFIG=$kubeconfig ; stop with: make dev-down"
