#!/usr/bin/env bash
# Scale benchmark: N FineTuneJobs through the whole flow (validation on fake-gcs-server, sizing,
# IAM on its stand-in, kwok GPU nodes, the trainer pod, ROUGE evaluation, release of the grants)
# with one operator replica in-JVM, against the local control plane. Not a timed test.
#
# usage: hack/bench/scale.sh [N ...]            (default: 1000)
#   env: BENCH_BEFORE=<git ref>   also measure that commit's code, same machine, same cluster
#        BENCH_CLUSTER (default finetune-bench)   BENCH_MINUTES (give up after, default 40)
#
# Reports, per run, as JSON under target/bench/ and on stdout: time until all jobs are terminal,
# status writes per job (kube-apiserver's apiserver_request_total for finetunejobs/status), status
# writes in 20 s after all are terminal (nothing changes then), Events per job, the operator's API
# calls per job (counted in its client), p50/p95 of one reconcile (one or more steps, waits excluded:
# a wait is a reschedule, not time in a reconcile), live heap after a full GC and CPU seconds (both
# of the whole JVM: operator, stand-ins and driver).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cluster="${BENCH_CLUSTER:-finetune-bench}"
minutes="${BENCH_MINUTES:-40}"
if [[ $# -gt 0 ]]; then sizes=("$@"); else sizes=(1000); fi
out="$root/target/bench"
mkdir -p "$out"
log() { echo "[scale-bench] $*" >&2; }

kubeconfig="$("$root/hack/cluster.sh" up "$cluster")"
driver="operator/src/test/java/dev/finetune/operator/bench/ScaleBench.java"
# What the driver uses besides the operator: the same in both runs.
helpers=(operator/src/test/java/dev/finetune/operator/it/TrainerOutput.java)

run() { # dir label n
  local dir="$1" label="$2" n="$3"
  log "$label: $n jobs"
  (cd "$dir" && FINETUNE_IT_KUBECONFIG="$kubeconfig" mvn -B -ntp -q -pl crds,operator -am test \
      -Dspotless.check.skip=true -Dtest=ScaleBench -Dsurefire.failIfNoSpecifiedTests=false \
      -Dbench.jobs="$n" -Dbench.minutes="$minutes" -Dbench.out="$out/$label-$n.json" \
      >"$out/$label-$n.log" 2>&1) || { log "$label failed, see $out/$label-$n.log"; return 1; }
  cat "$out/$label-$n.json"
}

before=""
if [[ -n "${BENCH_BEFORE:-}" ]]; then
  before="$(mktemp -d)"
  trap 'rm -rf "$before"' EXIT
  git -C "$root" archive "$BENCH_BEFORE" | tar -x -C "$before"
  mkdir -p "$before/$(dirname "$driver")"
  cp "$root/$driver" "$before/$driver"
  for f in "${helpers[@]}"; do cp "$root/$f" "$before/$f"; done
fi
for n in "${sizes[@]}"; do
  if [[ -n "$before" ]]; then run "$before" "before-$(git -C "$root" rev-parse --short "$BENCH_BEFORE")" "$n"; fi
  run "$root" "after" "$n"
done
