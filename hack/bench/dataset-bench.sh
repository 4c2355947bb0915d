#!/usr/bin/env bash
# Dataset validation benchmark: the Java validator (JsonlValidator, bounded heap) against a plain
# Python loop of json.loads plus the same checks (dataset_validate.py), on the same generated
# Gemini-format JSONL files.
#
# usage: hack/bench/dataset-bench.sh [SIZE_MB ...]      (default: 30 300)
#   env: JAVA_HEAP (default 64m)  JAVA_PASSES (default 3)  FINETUNE_CACHE (default ~/.cache/finetune-operator)
#
# Files are generated deterministically (seed 42) under $FINETUNE_CACHE/bench and reused.
# MB = 10^6 bytes. Java pass 1 includes JIT warm-up; "warm" is the best later pass. CPU time is
# the whole process (Java: validating thread + JIT + GC), a steadier measure on a loaded machine;
# the validating thread's own CPU time is shown too, as JIT compilation is paid once per JVM.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}/bench"
heap="${JAVA_HEAP:-64m}"
passes="${JAVA_PASSES:-3}"
if [[ $# -gt 0 ]]; then sizes=("$@"); else sizes=(30 300); fi
mkdir -p "$cache"
log() { echo "[dataset-bench] $*" >&2; }

for s in "${sizes[@]}"; do
  f="$cache/gemini-${s}mb-seed42.jsonl"
  if [[ ! -s "$f" ]]; then
    log "generating $f"
    python3 "$here/dataset_gen.py" "$f.tmp" "$s" 42 && mv "$f.tmp" "$f"
  fi
done

log "compiling"
(cd "$root" && mvn -B -q -pl operator -am test-compile >&2)
(cd "$root" && mvn -B -q -pl operator dependency:build-classpath -Dmdep.outputFile="$cache/classpath.txt" >&2)
cp="$root/operator/target/test-classes:$root/operator/target/classes:$(cat "$cache/classpath.txt")"

echo "machine: $(nproc) CPU(s), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(java -version 2>&1 | head -1); $(python3 --version)"
for s in "${sizes[@]}"; do
  f="$cache/gemini-${s}mb-seed42.jsonl"
  cat "$f" >/dev/null # same page-cache state for both
  log "java -Xmx$heap on $f"
  java -Xmx"$heap" -cp "$cp" dev.finetune.operator.dataset.DatasetBench "$f" "$passes" >"$cache/java-$s.jsonl"
  log "python on $f"
  python3 "$here/dataset_validate.py" "$f" >"$cache/python-$s.json"
  python3 - "$f" "$heap" "$cache/java-$s.jsonl" "$cache/python-$s.json" <<'PY'
import json, sys
f, heap, jpath, ppath = sys.argv[1:]
java = [json.loads(l) for l in open(jpath)]
py = json.load(open(ppath))
cold, warm = java[0], max(java[1:] or java, key=lambda r: r["mbPerSec"])
same = all(java[0][k] == py[k] for k in ("examples", "characters", "estimatedTokens", "sha256"))
peak = max(r["peakHeapMiB"] for r in java)
print(f"\n{f} ({py['bytes'] / 1e6:.1f} MB, {py['examples']} examples)")
def row(name, r):
    return (f"  {name:<24}{r['mbPerSec']:7.1f} MB/s wall ({r['seconds']:6.2f} s)"
            f"  {r['mbPerCpuSec']:7.1f} MB/s of CPU ({r['cpuSeconds']:6.2f} s)")
def ratio(r):
    return (f"  ratio {r['mbPerSec'] / py['mbPerSec']:.2f}x wall,"
            f" {r['mbPerCpuSec'] / py['mbPerCpuSec']:.2f}x CPU")
print(row("python json.loads loop", py))
print(row("java, pass 1 (cold)", cold) + ratio(cold))
print(row("java, best warm pass", warm) + ratio(warm))
print(f"  java, pass 1, validating thread only (no JIT/GC threads): {cold['mbPerThreadCpuSec']:.1f} MB/s of CPU"
      f"  ratio {cold['mbPerThreadCpuSec'] / py['mbPerCpuSec']:.2f}x CPU")
print(f"  java heap: -Xmx{heap}, peak used {peak:.1f} MiB (sum of heap pool peaks)")
print(f"  results identical (examples, characters, tokens, sha256): {same}")
if not same:
    print("  java:", java[0], "\n  python:", py)
    sys.exit(1)
PY
done
