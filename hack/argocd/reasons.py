#!/usr/bin/env python3
"""Lists every phase and condition reason the operator can write into a FineTuneJob's status.

Read from the Java sources, not kept by hand: a reason is whatever is passed to a parameter named
`reason` (JobContext.fail/condition, Conditions.set, the step outcomes' records such as Failed,
Retry or WaitingForCapacity, PoolStatus.waiting, ...) or assigned to a variable named `reason`:
string literals, both sides of a ternary, and String constants resolved by name. A reason built
at run time from a literal prefix ("Trainer" + the Job's own reason) is listed as `Trainer*`.
The phases are the constants of FineTuneJobStatus.Phase. Event reasons are not status: sources
whose file name contains "Event" (JobEvents.java, ...) are skipped.

    hack/argocd/reasons.py [REPO]      one per line: `phase NAME` or `reason NAME`
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DECL = re.compile(r"(?:record\s+|\b[\w<>\[\], ?]+\s+)(\w+)\s*\(([^()]*)\)\s*(?:implements\b[^{]*)?(?:throws\b[^{]*)?\{")
CALL = re.compile(r"(?:\bnew\s+(?:\w+\.)*|\.|\b)(\w+)\s*\(")
CONSTANT = re.compile(r'\bString\s+([A-Z][A-Z0-9_]+)\s*=\s*"([A-Za-z]+)"\s*;')
ASSIGNED = re.compile(r"\breason\s*=\s*([^;]*);")
LITERAL = re.compile(r'"([A-Z][A-Za-z]*)"(\s*\+)?')
NAME = re.compile(r"(?<![\w\".])(?:\w+\.)*([A-Z][A-Z0-9_]+)\b(?!\s*\()")
KEYWORDS = {"if", "for", "while", "switch", "catch", "return", "synchronized", "new"}


def strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", lambda m: " " * len(m.group(0)), text, flags=re.S)
    return re.sub(r"//[^\n]*", "", text)


def call_args(text: str, start: int) -> list[str] | None:
    """The top-level arguments of the call whose '(' is at text[start - 1]."""
    depth, args, cur, i, in_str = 1, [], [], start, False
    while i < len(text):
        ch = text[i]
        if in_str:
            cur.append(ch)
            if ch == "\\":
                cur.append(text[i + 1])
                i += 1
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
            cur.append(ch)
        elif ch in "([{":
            depth += 1
            cur.append(ch)
        elif ch in ")]}":
            depth -= 1
            if depth == 0:
                args.append("".join(cur).strip())
                return [a for a in args if a] if any(args) else []
            cur.append(ch)
        elif ch == "," and depth == 1:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
        i += 1
    return None


def main(repo: Path) -> int:
    sources = sorted(p for p in (repo / "operator/src/main/java").rglob("*.java") if "Event" not in p.name)
    texts = {p: strip_comments(p.read_text(encoding="utf-8")) for p in sources}
    constants: dict[str, set[str]] = {}
    # (method name, arity) -> index of its `reason` parameter
    reason_params: dict[tuple[str, int], int] = {}
    for text in texts.values():
        for name, value in CONSTANT.findall(text):
            constants.setdefault(name, set()).add(value)
        for m in DECL.finditer(text):
            if m.group(1) in KEYWORDS:
                continue
            params = [p.strip() for p in m.group(2).split(",") if p.strip()]
            for i, p in enumerate(params):
                if re.fullmatch(r"(?:final\s+)?String\s+reason", p):
                    reason_params[(m.group(1), len(params))] = i
    reasons: set[str] = set()
    unresolved: list[str] = []

    def collect(expr: str, where: str | None) -> None:
        """Adds the reasons expr can have; where (a call's argument) is reported if none."""
        found = False
        for lit, plus in LITERAL.findall(expr):
            reasons.add(lit + ("*" if plus else ""))
            found = True
        for const in NAME.findall(re.sub(r'"[^"]*"', '""', expr)):
            if const in constants:
                reasons.update(constants[const])
                found = True
        # A variable, a record accessor or a method's result passes on a reason collected where
        # it was made.
        passed_on = re.fullmatch(r"[a-z][\w.]*(?:\([^()]*\)[\w.]*)*", expr)
        if where and not found and not passed_on:
            unresolved.append(f"{where}: {expr}")

    for path, text in texts.items():
        rel = path.relative_to(repo)
        for m in CALL.finditer(text):
            if m.group(1) in KEYWORDS:
                continue
            args = call_args(text, m.end())
            if args is None:
                continue
            idx = reason_params.get((m.group(1), len(args)))
            if idx is None:
                continue
            # A declaration is not a call: its "arguments" are typed parameters.
            if re.fullmatch(r"(?:final\s+)?String\s+reason", args[idx]):
                continue
            collect(args[idx], f"{rel}:{text.count(chr(10), 0, m.start()) + 1}")
        for m in ASSIGNED.finditer(text):
            collect(m.group(1), None)
    phase_src = (repo / "crds/src/main/java/dev/finetune/api/v1alpha1/FineTuneJobStatus.java").read_text(
        encoding="utf-8"
    )
    m = re.search(r"enum\s+Phase\s*\{([^;}]*)", phase_src)
    if not m:
        print("reasons.py: enum Phase not found in FineTuneJobStatus.java", file=sys.stderr)
        return 1
    for p in (p.strip() for p in m.group(1).split(",")):
        if p:
            print("phase", p)
    for r in sorted(reasons - {"True", "False", "Unknown"}):
        print("reason", r)
    for u in unresolved:
        print(f"reasons.py: cannot tell which reason this is: {u}", file=sys.stderr)
    return 1 if unresolved else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2])))
