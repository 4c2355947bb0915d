#!/usr/bin/env python3
"""Single-threaded throughput of the reference `rouge-score` package on a JSONL
corpus of {"target", "prediction"} pairs (rouge1, rouge2, rougeL, rougeLsum,
stemming on). Prints "python_pairs_per_s=<float>".
"""
import argparse
import json
import timeit

from rouge_score import rouge_scorer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-stem", action="store_true")
    args = ap.parse_args()
    with open(args.corpus, encoding="utf-8") as f:
        pairs = [json.loads(line) for line in f]
    pairs = [(p["target"], p["prediction"]) for p in pairs]
    scorer = rouge_scorer.RougeScorer(
        ["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=not args.no_stem)

    def run():
        for t, p in pairs:
            scorer.score(t, p)

    run()  # warm-up
    best = min(timeit.repeat(run, repeat=args.repeat, number=1))
    print("python_pairs=%d python_best_seconds=%.4f" % (len(pairs), best))
    print("python_pairs_per_s=%.2f" % (len(pairs) / best))


if __name__ == "__main__":
    main()
