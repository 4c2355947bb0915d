#!/usr/bin/env bash
# Evaluation cost: the ROUGE-only scoring of before (baseline) against all metrics with paired
# bootstrap intervals, and the report, on N generated JSON examples (one thread).
# Usage: hack/bench/evaluation-bench.sh [N] [REPS]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}/bench-evaluation"
mkdir -p "$cache"
(cd "$root" && mvn -B -q -o -pl operator -am test-compile -Dspotless.check.skip=true >&2)
(cd "$root" && mvn -B -q -o -pl operator dependency:build-classpath -Dmdep.outputFile="$cache/classpath.txt" >&2)
cp="$root/operator/target/test-classes:$root/operator/target/classes:$(cat "$cache/classpath.txt")"
echo "machine: $(nproc) CPU(s); $(java -version 2>&1 | head -1)" >&2
java -Xmx1g -cp "$cp" dev.finetune.operator.bench.EvaluationBench "${1:-10000}" "${2:-3}"
