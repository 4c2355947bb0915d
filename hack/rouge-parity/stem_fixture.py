#!/usr/bin/env python3
"""Regenerates operator/src/test/resources/rouge/porter-nltk.tsv: "word<TAB>stem"
pairs from NLTK's PorterStemmer (NLTK_EXTENSIONS mode, as used by rouge-score).

Usage: $(hack/rouge-parity/setup.sh | tail -1) hack/rouge-parity/stem_fixture.py > \
         operator/src/test/resources/rouge/porter-nltk.tsv
"""
import random
import sys

from nltk.stem import porter

sys.path.insert(0, __import__("os").path.dirname(__file__))
import gen_corpus  # noqa: E402

EXTRA = """a as is us be by abc ab yyy sky dy dying lying tying news innings outing
cannings howe proceed exceed succeed proceeding exceeded succeeds sses ies ied
eed ing ed lies dies ties pies skies flies spies cries tries tied died lied
caresses ponies cats feed agreed disabled matting mating meeting milling
messing meetings plastered bled motoring sing conflated troubled sized hopping
tanned falling hissing fizzed failing filing happy enjoy relational rational
generalization oscillators conditionally reconditioned hopefully fulli
carefully archaeology geology analogies analogy apologies logical
electricity electrical electrically formalize formality triplicate formative
revival allowance inference airliner gyroscopic adjustable defensible
irritant replacement adjustment dependent adoption homologous communism
activate angularity effective bowdlerize probate rate cease controll roll
controlling rolling generous generously generations nationally rationally
yearly early y2k mp3s 1990s covid19 abc123 fly syzygy toy boy by""".split()


def main():
    words = set(EXTRA) | set(w.lower() for w in gen_corpus.STEM_EDGE)
    rng = random.Random(7)
    for _ in range(150):
        words.add(gen_corpus.word(rng).lower())
    words = sorted(w for w in words if w.isascii() and w.isalnum())
    stemmer = porter.PorterStemmer()
    for w in words:
        print("%s\t%s" % (w, stemmer.stem(w)))


if __name__ == "__main__":
    main()
