"""Abbreviations the corpus defines itself: "non-small cell lung cancer (NSCLC)".

Schwartz and Hearst's algorithm (A simple algorithm for identifying abbreviation
definitions in biomedical text, PSB 2003): for a short form in parentheses, the long
form is the shortest run of words just before it, at most min(|SF| + 5, 2|SF|) words,
in which every character of the short form appears in order, read right to left, the
first one at the start of a word. It needs no dictionary, finds what the authors of
the corpus meant, and is precise (96% in the paper) at a recall the corpus makes up
for by repetition: a pair seen in several series is kept, one seen once is not.

    .venv/bin/python -m omicsoracle.search.abbreviations data/corpus/geo_series.jsonl.gz

prints ``short<TAB>long<TAB>series`` rows, most used first (the query agent's
vocabulary reads them; see issue 5).
"""

from __future__ import annotations

import gzip
import re
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

# A parenthesised candidate: 2-10 characters, no nested parentheses or semicolons.
_PAREN = re.compile(r"\(([^()\[\];]{2,10})\)")
_WORD = re.compile(r"\S+")
# Pairs seen in fewer series than this are chance or typos.
MIN_SERIES = 2


def _short_form_ok(short: str) -> bool:
    short = short.strip()
    if not (2 <= len(short) <= 10) or len(short.split()) > 2:
        return False
    if not short[0].isalnum() or not any(c.isalpha() for c in short):
        return False
    # "(n = 12)", "(2015)", "(p < 0.05)": not abbreviations.
    return not any(c in short for c in "=<>%,")


def best_long_form(short: str, words_before: list[str]) -> str | None:
    """The long form of ``short`` ending just before it, or None (Schwartz-Hearst)."""
    limit = min(len(short) + 5, 2 * len(short))
    candidate = " ".join(words_before[-limit:])
    s = len(short) - 1
    long_index = len(candidate) - 1
    while s >= 0:
        c = short[s].lower()
        if not c.isalnum():
            s -= 1
            continue
        while long_index >= 0 and (
            candidate[long_index].lower() != c
            or (s == 0 and long_index > 0 and candidate[long_index - 1].isalnum())
        ):
            long_index -= 1
        if long_index < 0:
            return None
        long_index -= 1
        s -= 1
    start = candidate.rfind(" ", 0, long_index + 1) + 1
    long_form = candidate[start:].strip(" ,;:")
    if len(long_form) <= len(short) or short.lower() in long_form.lower().split():
        return None
    return long_form


def definitions(text: str) -> Iterator[tuple[str, str]]:
    """(short form, long form) pairs defined in ``text``."""
    for match in _PAREN.finditer(text):
        short = match.group(1).strip()
        if not _short_form_ok(short):
            continue
        before = _WORD.findall(text[: match.start()])
        long_form = best_long_form(short, before)
        if long_form is not None:
            yield short, long_form


def mine(texts: Iterable[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """``(short, long, series)`` from (accession, text) rows: per short form its most
    used long form (case-folded), kept when at least MIN_SERIES series define it."""
    seen: dict[str, Counter[str]] = defaultdict(Counter)
    spelled: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    for _accession, text in texts:
        for short, long_form in sorted(set(definitions(text))):
            key = long_form.lower()
            seen[short][key] += 1
            spelled[(short, key)][long_form] += 1
    rows = []
    for short, forms in seen.items():
        # Ties broken by the text itself: the table must not depend on hash order.
        key, count = _most_used(forms)
        if count >= MIN_SERIES:
            rows.append((short, _most_used(spelled[(short, key)])[0], count))
    rows.sort(key=lambda row: (-row[2], row[0]))
    return rows


def _most_used(counts: Counter[str]) -> tuple[str, int]:
    return min(counts.items(), key=lambda item: (-item[1], item[0]))


def corpus_texts(path: Path) -> Iterator[tuple[str, str]]:
    """(accession, title + summary) of each series of a corpus JSONL file."""
    with gzip.open(path, "rb") as fh:
        for line in fh:
            row = orjson.loads(line)
            yield row.get("accession", ""), f"{row.get('title') or ''}. {row.get('summary') or ''}"


def main(argv: list[str] | None = None) -> int:
    paths = [Path(p) for p in (argv if argv is not None else sys.argv[1:])]
    if not paths:
        print(
            "usage: python -m omicsoracle.search.abbreviations CORPUS.jsonl.gz...", file=sys.stderr
        )
        return 2
    rows = mine(row for path in paths for row in corpus_texts(path))
    out = sys.stdout
    out.write("# short\tlong\tseries\n")
    for short, long_form, count in rows:
        out.write(f"{short}\t{long_form}\t{count}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
