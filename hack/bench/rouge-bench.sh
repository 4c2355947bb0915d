#!/usr/bin/env bash
# Compares single-threaded ROUGE throughput of the Java scorer (JMH) with the
# reference Python `rouge-score` package on the same generated corpus
# (rouge1, rouge2, rougeL, rougeLsum, stemming on) and prints pairs/s and the
# ratio.
#
# Usage: hack/bench/rouge-bench.sh [--pairs N] [--seed S] [--quick]
#   --quick   shorter JMH warm-up/measurement (for a smoke run)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
pairs=2000
seed=20240611
jmh_opts=(-wi 5 -w 2s -i 5 -r 2s -f 1 -t 1)
while [[ $# -gt 0 ]]; do
  case "$1" in
    --pairs) pairs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --quick) jmh_opts=(-wi 2 -w 1s -i 3 -r 1s -f 1 -t 1); shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

python="${ROUGE_PYTHON:-$("${repo}/hack/rouge-parity/setup.sh" | tail -n 1)}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
corpus="${work}/corpus.jsonl"
"${python}" "${repo}/hack/rouge-parity/gen_corpus.py" --seed "${seed}" --pairs "${pairs}" --out "${corpus}"

echo "== building JMH benchmark (mvn -Pjmh)" >&2
(cd "${repo}" && mvn -B -q -pl operator -am -Pjmh -DskipTests test-compile >&2)
(cd "${repo}" && mvn -B -q -pl operator -Pjmh dependency:build-classpath \
  -Dmdep.includeScope=test -Dmdep.outputFile="${work}/cp.txt" >&2)
cp="${repo}/operator/target/test-classes:${repo}/operator/target/classes:$(cat "${work}/cp.txt")"

echo "== Java (JMH, 1 thread)" >&2
java -cp "${cp}" org.openjdk.jmh.Main 'dev.finetune.operator.eval.RougeBenchmark.scoreCorpus' \
  "${jmh_opts[@]}" -p corpus="${corpus}" -p stem=true \
  -rf json -rff "${work}/jmh.json" >&2
java_ops="$("${python}" -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["primaryMetric"]["score"])' "${work}/jmh.json")"

echo "== Python rouge-score (timeit)" >&2
py_out="$("${python}" "${repo}/hack/bench/rouge_bench.py" --corpus "${corpus}")"
echo "${py_out}" >&2
py_pps="$(echo "${py_out}" | sed -n 's/^python_pairs_per_s=//p')"

"${python}" - "${java_ops}" "${pairs}" "${py_pps}" <<'PY'
import sys
java_ops, pairs, py_pps = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
java_pps = java_ops * pairs
print("pairs=%d (rouge1, rouge2, rougeL, rougeLsum; stemming on; 1 thread)" % pairs)
print("java_pairs_per_s=%.0f" % java_pps)
print("python_pairs_per_s=%.0f" % py_pps)
print("ratio=%.1fx" % (java_pps / py_pps))
PY
