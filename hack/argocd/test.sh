#!/usr/bin/env bash
# Tests the Argo CD health check under deploy/argocd/resource_customizations/ as Argo CD runs it:
#   1. every case of its health_test.yaml in a Lua 5.1 VM (gopher-lua, the VM Argo CD embeds), by
#      hack/argocd/healthtest, built from its Go module and cached by content hash under
#      ${FINETUNE_CACHE:-~/.cache/finetune-operator}/argocd-healthtest-<gopher-lua version>-<hash>/;
#   2. its testdata covers every phase and every condition reason the operator's code can write
#      (hack/argocd/reasons.py reads them from the Java sources), so a new reason fails here until
#      it has a testdata object and an expected health;
#   3. the committed argocd-cm patch is what hack/argocd/cm-snippet.sh generates from health.lua.
set -euo pipefail
shopt -s inherit_errexit
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${FINETUNE_CACHE:-$HOME/.cache/finetune-operator}"
check="$repo/deploy/argocd/resource_customizations/finetune.dev/FineTuneJob"
log() { echo "[argocd] $*" >&2; }

src="$here/healthtest"
lua_version="$(awk '$1 == "github.com/yuin/gopher-lua" {print $2}' "$src/go.mod")"
hash="$(cat "$src/go.mod" "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)"
bin="$cache/argocd-healthtest-$lua_version-$hash/healthtest"
if [[ ! -x "$bin" ]]; then
  log "building the health check runner (gopher-lua $lua_version)"
  mkdir -p "$(dirname "$bin")"
  (cd "$src" && CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-mod=mod go build -o "$bin.tmp" .)
  mv "$bin.tmp" "$bin"
fi

"$bin" "$check"

log "checking that testdata covers every phase and reason in the operator's code"
want="$(python3 "$here/reasons.py" "$repo")"
python3 - "$check" "$want" <<'PY'
import re, sys
from pathlib import Path
check, want = Path(sys.argv[1]), sys.argv[2].split("\n")
seen = {"phase": set(), "reason": set()}
for f in sorted((check / "testdata").glob("*.yaml")):
    text = f.read_text()
    seen["phase"].update(re.findall(r"^\s*phase:\s*(\w+)\s*$", text, re.M))
    seen["reason"].update(re.findall(r"^\s*-?\s*reason:\s*(\w+)\s*$", text, re.M))
    # A capacity wait reaches status as the prefix of status.message ("Stockout: ...").
    seen["reason"].update(re.findall(r"^\s*message:\s*'?([A-Z]\w+):\s", text, re.M))
prefixes = [w.split()[1][:-1] for w in want if w.endswith("*")]
missing = []
for line in want:
    kind, name = line.split()
    if name.endswith("*"):
        ok = any(r.startswith(name[:-1]) and r != name[:-1] for r in seen[kind])
    else:
        # A reason also reaches status behind a prefix the code adds (Trainer + the Job's reason).
        ok = name in seen[kind] or any(p + name in seen[kind] for p in prefixes)
    if not ok:
        missing.append(f"{kind} {name}")
if missing:
    print("[argocd] no testdata under %s/testdata for: %s" % (check, ", ".join(missing)), file=sys.stderr)
    print("[argocd] add an object with that status and its expected health to health_test.yaml", file=sys.stderr)
    sys.exit(1)
print("[argocd] testdata covers %d phases and %d reasons" % (
    sum(1 for w in want if w.startswith("phase")), sum(1 for w in want if w.startswith("reason"))), file=sys.stderr)
PY

if ! diff -u "$repo/deploy/argocd/argocd-cm-patch.yaml" <("$here/cm-snippet.sh") >&2; then
  log "deploy/argocd/argocd-cm-patch.yaml is stale: run hack/argocd/cm-snippet.sh > deploy/argocd/argocd-cm-patch.yaml"
  exit 1
fi
log "argocd-cm patch matches health.lua"
