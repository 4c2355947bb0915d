#!/usr/bin/env python3
"""Scores a JSONL corpus of {"target", "prediction"} pairs with the reference
`rouge-score` package, with and without stemming, and writes one JSON line per
pair:

  {"stem": {"rouge1": [p, r, f], ...}, "nostem": {...}}

Floats are written with repr() precision, so they round-trip exactly.

With --stems WORDS_FILE OUT_FILE it also writes "word<TAB>stem" lines using
NLTK's PorterStemmer (the stemmer rouge-score uses), for every word of
WORDS_FILE (one per line).
"""
import argparse
import json

from nltk.stem import porter
from rouge_score import rouge_scorer

TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus")
    ap.add_argument("--out")
    ap.add_argument("--stems", nargs=2, metavar=("WORDS", "OUT"))
    args = ap.parse_args()

    if args.corpus:
        scorers = {
            "stem": rouge_scorer.RougeScorer(TYPES, use_stemmer=True),
            "nostem": rouge_scorer.RougeScorer(TYPES, use_stemmer=False),
        }
        with open(args.corpus, encoding="utf-8") as fin, open(args.out, "w") as fout:
            for line in fin:
                row = json.loads(line)
                out = {}
                for name, scorer in scorers.items():
                    scores = scorer.score(row["target"], row["prediction"])
                    out[name] = {
                        t: [scores[t].precision, scores[t].recall, scores[t].fmeasure]
                        for t in TYPES
                    }
                fout.write(json.dumps(out) + "\n")

    if args.stems:
        stemmer = porter.PorterStemmer()
        words_file, out_file = args.stems
        with open(words_file, encoding="utf-8") as fin, open(out_file, "w") as fout:
            for line in fin:
                w = line.rstrip("\n")
                if w:
                    fout.write("%s\t%s\n" % (w, stemmer.stem(w)))


if __name__ == "__main__":
    main()
