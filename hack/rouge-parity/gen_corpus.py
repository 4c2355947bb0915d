#!/usr/bin/env python3
"""Deterministic corpus of (target, prediction) pairs for the ROUGE parity test.

Writes JSONL lines {"target": ..., "prediction": ...}. Only the standard library
is used, so the output depends on nothing but --seed and --pairs.

The generator mixes: plain English-like sentences, stemming edge cases (-ies,
-sses, -ational, -ing, -ed, -ly, -y, NLTK irregular forms, short words),
punctuation, digits, non-ASCII text (including characters whose lowercase form
is ASCII), repeated tokens, empty/whitespace-only sides and long multi-line
texts for rougeLsum.
"""
import argparse
import json
import random

COMMON = """the a an of to in and or but is was are were be been being have has had do
does did will would shall should may might must can could this that these those
it its they them their we our you your he she his her model fine tune tuned base
training data set evaluation score summary text token sentence paragraph result
quick brown fox jumps over lazy dog cat cats run running runs ran""".split()

STEM_EDGE = """ponies ties caresses caress cats feed agreed plastered bled motoring sing
conflated troubled sized hopping tanned falling hissing fizzed failing filing
happy sky skies dying lying tying news innings inning outings outing cannings
canning howe proceed exceed succeed relational conditional rational valenci
hesitanci digitizer conformabli radicalli differentli vileli analogousli
vietnamization predication operator feudalism decisiveness hopefulness
callousness formaliti sensitiviti sensibiliti triplicate formative formalize
electriciti electrical hopeful goodness revival allowance inference airliner
gyroscopic adjustable defensible irritant replacement adjustment dependent
adoption homologou communism activate angulariti homologous effective
bowdlerize probate rate cease controll roll generously generalization
generalizations nationalities rationally quickly easily fully carefully
happily studies studied studying flies flying fly spy spies spied tried tries
trying cries cried crying dies died lies lied ties tied pies buses classes
glasses passes presses kisses misses bosses national international sensational
operational relational motivational singing bring thing string king sing ring
wedding needed seeded bleed speed agreed freed disagreed guaranteed exceeded
proceeded succeeded analogy apology biology geology theology archaeology
fulli carefulli hopefulli enjoy enjoyment enjoys toy toys boy boys syzygy
yyyy ayyy yay yaya eye eyes by bye byes ivy trees troubles private oaten orrery
sses ies ied eed ing ings ed lying1 2nd 3rd 4th 1990s 10k covid19 abc123def
fishing fished fisher fishers fishery fisheries agreement agreements
controlling controlled rolling rolled fall falls falling feeling feelings
hoping hopped hopeful hopefully hopefulness meeting meetings cats' dog's""".split()

SHORT = "a i an is it be as at by do go he me my no of on or so to up us we yes".split()

PUNCT = list(".,;:!?-()[]{}\"'/\\@#$%^&*_+=~`|<>")

NON_ASCII = [
    "café", "naïve", "über", "straße", "日本語", "中文", "русский", "ελληνικά",
    "emoji😀", "👍", "İstanbul", "KELVIN\u212aK", "\u212a", "ﬁne", "ǅ", "Ⅻ",
    "١٢٣", "½", "²", "é", "\u00a0", "\u2028", "\u3000", "\t", "\r", "\x0b", "\x0c",
]

DIGITS = ["0", "1", "42", "2024", "3.14", "1,000", "10%", "v1.2.3", "007", "x86_64"]


def word(rng):
    r = rng.random()
    if r < 0.45:
        return rng.choice(COMMON)
    if r < 0.75:
        return rng.choice(STEM_EDGE)
    if r < 0.83:
        return rng.choice(SHORT)
    if r < 0.88:
        return rng.choice(DIGITS)
    if r < 0.93:
        return rng.choice(NON_ASCII)
    # Random pseudo-words built from suffix-heavy fragments.
    stem = "".join(rng.choice("bcdfghjklmnprstvwxyzaeiouy") for _ in range(rng.randint(1, 7)))
    suffix = rng.choice([
        "", "s", "es", "ies", "sses", "ed", "ied", "eed", "ing", "ly", "y", "ational",
        "tional", "ization", "ation", "ator", "alism", "iveness", "fulness", "ousness",
        "aliti", "iviti", "biliti", "logi", "fulli", "alli", "bli", "entli", "eli",
        "ousli", "icate", "ative", "alize", "iciti", "ical", "ful", "ness", "al", "ance",
        "ence", "er", "ic", "able", "ible", "ant", "ement", "ment", "ent", "ion", "sion",
        "tion", "ou", "ism", "ate", "iti", "ous", "ive", "ize", "e", "ll", "at", "bl", "iz",
    ])
    return stem + suffix


def casing(rng, w):
    r = rng.random()
    if r < 0.1:
        return w.upper()
    if r < 0.25:
        return w.capitalize()
    return w


def sentence(rng, n_words):
    out = []
    for _ in range(n_words):
        w = casing(rng, word(rng))
        if rng.random() < 0.15:
            w = w + rng.choice(PUNCT)
        if rng.random() < 0.05:
            w = rng.choice(PUNCT) + w
        out.append(w)
        if rng.random() < 0.05:
            out.append(w)  # repeated tokens
    sep = rng.choice([" ", " ", " ", "  ", "\t", " - "])
    return sep.join(out)


def text(rng, max_sentences, max_words):
    n = rng.randint(1, max_sentences)
    sents = [sentence(rng, rng.randint(0, max_words)) for _ in range(n)]
    joiner = rng.choice(["\n", "\n", " ", "\n\n", "\r\n", ". "])
    t = joiner.join(sents)
    if rng.random() < 0.1:
        t = "\n" + t
    if rng.random() < 0.1:
        t = t + "\n"
    return t


def perturb(rng, t):
    """Prediction derived from the target: drop, swap, stem-vary and insert words."""
    lines = t.split("\n")
    out_lines = []
    for line in lines:
        words = line.split(" ")
        new = []
        for w in words:
            r = rng.random()
            if r < 0.15:
                continue
            if r < 0.25:
                new.append(casing(rng, word(rng)))
            elif r < 0.32:
                new.append(w + rng.choice(["s", "ing", "ed", "ly", "ies", "ational"]))
            else:
                new.append(w)
            if rng.random() < 0.05:
                new.append(w)
        if len(new) > 2 and rng.random() < 0.3:
            i, j = rng.randrange(len(new)), rng.randrange(len(new))
            new[i], new[j] = new[j], new[i]
        out_lines.append(" ".join(new))
    if len(out_lines) > 1 and rng.random() < 0.3:
        rng.shuffle(out_lines)
    return "\n".join(out_lines)


def pair(rng, i):
    kind = i % 10
    if kind == 0:
        # Edge cases: empty or whitespace/punctuation-only sides.
        choices = ["", " ", "\n", "\n\n", "...", "!!! ???", "日本語", text(rng, 2, 5)]
        return rng.choice(choices), rng.choice(choices)
    if kind in (1, 2):
        # Short, independent texts.
        return text(rng, 1, 8), text(rng, 1, 8)
    if kind in (3, 4, 5, 6):
        t = text(rng, 3, 25)
        return t, perturb(rng, t)
    if kind == 7:
        # Long multi-line texts (rougeLsum).
        t = text(rng, 12, 30)
        return t, perturb(rng, t)
    if kind == 8:
        # Heavy repetition (n-gram clipping).
        base = [rng.choice(COMMON + SHORT) for _ in range(rng.randint(1, 4))]
        t = " ".join(rng.choice(base) for _ in range(rng.randint(0, 40)))
        p = " ".join(rng.choice(base) for _ in range(rng.randint(0, 40)))
        return t, p
    # Independent long texts.
    return text(rng, 6, 20), text(rng, 6, 20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20240611)
    ap.add_argument("--pairs", type=int, default=2000)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    with open(args.out, "w", encoding="utf-8", newline="\n") as f:
        for i in range(args.pairs):
            t, p = pair(rng, i)
            f.write(json.dumps({"target": t, "prediction": p}, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
