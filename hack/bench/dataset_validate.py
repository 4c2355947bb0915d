#!/usr/bin/env python3
"""Reference validator: a plain Python loop of json.loads plus the checks the Java validator makes
for the gemini format (object per line, contents/parts/text shapes, user/model alternation,
non-blank texts, optional systemInstruction), with SHA-256 of the bytes, character counts and the
same token estimate (ceil(UTF-8 bytes / 4) per text).

Not checked here (the Java validator does them): duplicate keys (json.loads keeps the last),
strict UTF-8 beyond what bytes.decode does (decode is already strict), detailed JSON paths.

usage: dataset_validate.py FILE  -> prints one JSON line with the results and MB/s
"""
import hashlib
import json
import sys
import time


class Bad(Exception):
    pass


def measure(t, path):
    if not isinstance(t, str):
        raise Bad(f"{path}: expected a string")
    if not t.strip():
        raise Bad(f"{path}: text is empty")
    return len(t), (len(t.encode("utf-8")) + 3) // 4


def parts_of(parts, path):
    if not isinstance(parts, list):
        raise Bad(f"{path}: expected an array")
    if not parts:
        raise Bad(f"{path}: must contain at least one part")
    chars = toks = 0
    for j, p in enumerate(parts):
        if not isinstance(p, dict):
            raise Bad(f"{path}[{j}]: expected an object")
        if "text" not in p:
            raise Bad(f"{path}[{j}].text: required field is missing")
        c, t = measure(p["text"], f"{path}[{j}].text")
        chars += c
        toks += t
    return chars, toks


def check(ex):
    if not isinstance(ex, dict):
        raise Bad("expected a JSON object per line")
    prompt = answer = toks = 0
    si = ex.get("systemInstruction")
    if si is not None:
        if not isinstance(si, dict):
            raise Bad("systemInstruction: expected an object")
        if "parts" not in si:
            raise Bad("systemInstruction.parts: required field is missing")
        c, t = parts_of(si["parts"], "systemInstruction.parts")
        prompt += c
        toks += t
    if "contents" not in ex:
        raise Bad("contents: required field is missing")
    contents = ex["contents"]
    if not isinstance(contents, list):
        raise Bad("contents: expected an array")
    prev = None
    for i, turn in enumerate(contents):
        if not isinstance(turn, dict):
            raise Bad(f"contents[{i}]: expected an object")
        role = turn.get("role")
        if not isinstance(role, str):
            raise Bad(f"contents[{i}].role: required string")
        if role not in ("user", "model"):
            raise Bad(f"contents[{i}].role: unknown role")
        if i == 0 and role != "user":
            raise Bad(f"contents[{i}].role: expected user first")
        if role == prev:
            raise Bad(f"contents[{i}].role: expected alternation")
        if "parts" not in turn:
            raise Bad(f"contents[{i}].parts: required field is missing")
        c, t = parts_of(turn["parts"], f"contents[{i}].parts")
        if role == "user":
            prompt += c
        else:
            answer += c
        toks += t
        prev = role
    if not contents:
        raise Bad("contents: must contain at least one turn")
    if prev != "model":
        raise Bad("last turn must be model")
    return prompt, answer, toks


def main():
    path = sys.argv[1]
    start = time.perf_counter()
    cpu_start = time.process_time()
    sha = hashlib.sha256()
    examples = errors = blank = prompt = answer = toks = nbytes = 0
    first = []
    with open(path, "rb") as f:
        for ln, raw in enumerate(f, 1):
            sha.update(raw)
            nbytes += len(raw)
            if ln == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if not raw.strip():
                blank += 1
                continue
            try:
                ex = json.loads(raw.decode("utf-8"))
                p, a, t = check(ex)
                examples += 1
                prompt += p
                answer += a
                toks += t
            except (Bad, ValueError) as e:
                errors += 1
                if len(first) < 20:
                    first.append(f"{ln}: {e}")
    secs = time.perf_counter() - start
    cpu = time.process_time() - cpu_start
    print(json.dumps({
        "examples": examples, "errors": errors, "blank": blank, "bytes": nbytes,
        "characters": prompt + answer, "estimatedTokens": toks, "sha256": sha.hexdigest(),
        "seconds": round(secs, 3), "mbPerSec": round(nbytes / 1e6 / secs, 1),
        "cpuSeconds": round(cpu, 3), "mbPerCpuSec": round(nbytes / 1e6 / cpu, 1), "firstErrors": first,
    }))


if __name__ == "__main__":
    main()
