#!/usr/bin/env python3
"""Writes a deterministic Gemini-format (Vertex AI tuning) JSONL file of about SIZE_MB megabytes.

usage: dataset_gen.py OUT SIZE_MB [SEED]

Examples have an optional systemInstruction, 1-3 user/model exchanges, texts of 10-400 words
drawn from a fixed vocabulary with some non-ASCII words, so UTF-8 decoding is exercised.
"""
import json
import random
import sys


def main():
    out, size_mb = sys.argv[1], float(sys.argv[2])
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else 42
    rnd = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rnd.choice(letters) for _ in range(rnd.randint(2, 10))) for _ in range(4000)]
    vocab += ["café", "naïve", "Grüße", "日本語", "данные", "🙂", "ñandú", "λόγος"]
    punct = [".", ",", "?", "!", ";", ":"]

    def text(lo, hi):
        n = rnd.randint(lo, hi)
        words = [rnd.choice(vocab) for _ in range(n)]
        for i in range(7, n, rnd.randint(6, 14)):
            words[i] += rnd.choice(punct)
        if rnd.random() < 0.2:
            words.insert(rnd.randint(0, n), '"quoted"\n\tnext')
        return " ".join(words)

    target = int(size_mb * 1024 * 1024)
    written = 0
    with open(out, "wb") as f:
        while written < target:
            ex = {}
            if rnd.random() < 0.3:
                ex["systemInstruction"] = {"role": "system", "parts": [{"text": text(5, 40)}]}
            contents = []
            for _ in range(rnd.randint(1, 3)):
                parts = [{"text": text(10, 150)}]
                if rnd.random() < 0.1:
                    parts.append({"text": text(5, 50)})
                contents.append({"role": "user", "parts": parts})
                contents.append({"role": "model", "parts": [{"text": text(20, 400)}]})
            ex["contents"] = contents
            line = (json.dumps(ex, ensure_ascii=False) + "\n").encode("utf-8")
            f.write(line)
            written += len(line)
    print(f"wrote {out}: {written} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
