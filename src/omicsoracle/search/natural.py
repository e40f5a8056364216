"""Sample-count and year filters written in plain English, found in a query's words.

    "at least 20 samples", ">= 20 samples", "≥20 samples", "20+ samples",
    "more than 50 samples", "over 50 samples", "fewer than 10 samples",
    "at most 10 samples", "between 10 and 50 samples", "10-50 samples", "20 samples"
    "since 2015", "after 2012", "before 2010", "from 2010 to 2014", "2010-2014",
    "between 2010 and 2014", "in 2013", "until 2012"

Pure pattern matching over the query's unquoted words (no I/O, never raises). A
sample filter must end in the word "samples"/"sample" (so "over 50" alone stays text),
and a year must be a plausible GEO year (``YEAR_MIN``..``YEAR_MAX``) after a
preposition, or a span of two such years: "2010-2014" is clear, a bare "2013" is not
(it may be a gene, a cell line or a count). Bounds are inclusive, so "more than 50"
is ``>= 51`` and "before 2010" is ``<= 2009``. A plain "20 samples" reads as "at least
20" (nobody searching for 20 samples wants to lose the series with 24), but only at
the start or after "with"/"of"/...: in "trisomy 21 samples" the number is part of a name.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

YEAR_MIN, YEAR_MAX = 1990, 2030
SAMPLE_NOUNS = frozenset(("samples", "sample"))

_NUM_RE = re.compile(r"\d{1,9}")
_CMP_NUM_RE = re.compile(r"(>=|=>|≥|>|<=|=<|≤|<)(\d{1,9})")
_NUM_PLUS_RE = re.compile(r"(\d{1,9})\+")
_SPAN_RE = re.compile(r"(\d{1,9})(?:-|–|—|\.\.)(\d{1,9})")
_EDGE_RE = re.compile(r"^[(\[{\"']+|[)\]}\"',.;:!?]+$")

# Words before a count and the comparison they mean.
_COUNT_PREFIXES: dict[tuple[str, ...], str] = {
    ("at", "least"): ">=", ("no", "fewer", "than"): ">=", ("no", "less", "than"): ">=",
    ("minimum", "of"): ">=", ("minimum",): ">=", ("min",): ">=",
    ("≥",): ">=", (">=",): ">=", ("=>",): ">=",
    ("more", "than"): ">", ("greater", "than"): ">", ("over",): ">", ("above",): ">",
    (">",): ">",
    ("at", "most"): "<=", ("no", "more", "than"): "<=", ("up", "to"): "<=",
    ("maximum", "of"): "<=", ("maximum",): "<=", ("max",): "<=",
    ("≤",): "<=", ("<=",): "<=", ("=<",): "<=",
    ("fewer", "than"): "<", ("less", "than"): "<", ("under",): "<", ("below",): "<",
    ("<",): "<",
}  # fmt: skip
# Words after a count ("20 or more samples", "20 samples or more").
_COUNT_SUFFIXES: dict[tuple[str, ...], str] = {
    ("or", "more"): ">=", ("or", "greater"): ">=", ("or", "fewer"): "<=", ("or", "less"): "<=",
}  # fmt: skip
_COUNT_INTRODUCERS = frozenset(("with", "having", "containing", "and", "of", "from", "in"))
# Words before a year and the comparison they mean.
_YEAR_PREFIXES: dict[tuple[str, ...], str] = {
    ("since",): ">=", ("after",): ">", ("later", "than"): ">",
    ("before",): "<", ("prior", "to"): "<", ("earlier", "than"): "<",
    ("until",): "<=", ("till",): "<=", ("up", "to"): "<=",
    ("in",): "=", ("during",): "=",
}  # fmt: skip
_SPAN_WORDS = (("from", ("to", "until", "till", "through", "-")), ("between", ("and",)))
_MAX_PREFIX = max(len(k) for k in (*_COUNT_PREFIXES, *_YEAR_PREFIXES))


@dataclass(frozen=True)
class NaturalFilter:
    """One filter found in the words ``[start, end)``: inclusive bounds of a kind."""

    kind: str  # "samples" | "year"
    lo: int | None
    hi: int | None
    start: int
    end: int


def normalize(piece: str) -> str:
    """A typed word as the patterns see it: lower case, edge punctuation removed."""
    return _EDGE_RE.sub("", piece.strip().lower())


def _bounds(op: str, n: int) -> tuple[int | None, int | None]:
    return {
        ">=": (n, None), ">": (n + 1, None), "<=": (None, n), "<": (None, n - 1), "=": (n, n),
    }[op]  # fmt: skip


def _number(word: str | None) -> int | None:
    """The count ``word`` spells in digits, else None."""
    return int(word) if word is not None and _NUM_RE.fullmatch(word) else None


def _year(word: str | None) -> int | None:
    """The year ``word`` names, if it is a plausible GEO release year."""
    if word is None or len(word) != 4 or not word.isdigit():
        return None
    return int(word) if YEAR_MIN <= int(word) <= YEAR_MAX else None


def _year_span(word: str | None) -> tuple[int, int] | None:
    """``2010-2014`` (also ``..`` or a dash) as inclusive years, earliest first."""
    m = _SPAN_RE.fullmatch(word or "")
    if m is None:
        return None
    lo, hi = _year(m.group(1)), _year(m.group(2))
    return (lo, hi) if lo is not None and hi is not None and lo <= hi else None


class _Matcher:
    """Tries every pattern at one position of the word list."""

    def __init__(self, words: Sequence[str | None]):
        self.w = list(words)

    def at(self, i: int) -> str | None:
        return self.w[i] if 0 <= i < len(self.w) else None

    def prefix(self, i: int, table: dict[tuple[str, ...], str]) -> tuple[str, int] | None:
        """Longest key of ``table`` starting at ``i``: (op, words used)."""
        for n in range(_MAX_PREFIX, 0, -1):
            key = tuple(self.at(j) for j in range(i, i + n))
            if None not in key and key in table:
                return table[key], n  # type: ignore[index]  # None excluded just above
        return None

    def noun(self, i: int) -> bool:
        return self.at(i) in SAMPLE_NOUNS

    def count(self, i: int) -> NaturalFilter | None:
        """A sample-count filter starting at word ``i``."""
        word = self.at(i)
        if word is None:
            return None
        found = self.prefix(i, _COUNT_PREFIXES)
        if found is not None:
            op, used = found
            num = self.at(i + used)
            if num is not None and _NUM_RE.fullmatch(num) and self.noun(i + used + 1):
                return NaturalFilter("samples", *_bounds(op, int(num)), i, i + used + 2)
            return None
        if word in ("between", "from"):
            lo, mid, hi = _number(self.at(i + 1)), self.at(i + 2), _number(self.at(i + 3))
            joiner = ("and",) if word == "between" else ("to", "-")
            if (
                lo is not None
                and hi is not None
                and mid in joiner
                and lo <= hi
                and self.noun(i + 4)
            ):
                return NaturalFilter("samples", lo, hi, i, i + 5)
            return None
        if m := _CMP_NUM_RE.fullmatch(word):
            op = {"≥": ">=", "=>": ">=", "≤": "<=", "=<": "<="}.get(m.group(1), m.group(1))
            if self.noun(i + 1):
                return NaturalFilter("samples", *_bounds(op, int(m.group(2))), i, i + 2)
            return None
        if m := _NUM_PLUS_RE.fullmatch(word):
            if self.noun(i + 1):
                return NaturalFilter("samples", int(m.group(1)), None, i, i + 2)
            return None
        if m := _SPAN_RE.fullmatch(word):
            lo_n, hi_n = int(m.group(1)), int(m.group(2))
            if self.noun(i + 1) and lo_n <= hi_n:
                return NaturalFilter("samples", lo_n, hi_n, i, i + 2)
            return None
        if _NUM_RE.fullmatch(word):
            return self._plain_count(i, int(word))
        return None

    def _plain_count(self, i: int, n: int) -> NaturalFilter | None:
        """``N to M samples``, ``N or more samples``, ``N samples (or more)``."""
        nxt = self.at(i + 1)
        if nxt == "to" and (hi := self.at(i + 2)) and _NUM_RE.fullmatch(hi):
            if self.noun(i + 3) and n <= int(hi):
                return NaturalFilter("samples", n, int(hi), i, i + 4)
            return None
        found = self.prefix(i + 1, _COUNT_SUFFIXES)
        if found is not None and self.noun(i + 1 + found[1]):
            return NaturalFilter("samples", *_bounds(found[0], n), i, i + 2 + found[1])
        # A bare "N samples" only after a word that introduces a count: in "trisomy 21
        # samples" the number belongs to the name before it.
        if self.noun(i + 1) and (i == 0 or self.at(i - 1) in _COUNT_INTRODUCERS):
            found = self.prefix(i + 2, _COUNT_SUFFIXES)
            op, extra = found if found is not None else (">=", 0)
            return NaturalFilter("samples", *_bounds(op, n), i, i + 2 + extra)
        return None

    def year(self, i: int) -> NaturalFilter | None:
        """A release-year filter starting at word ``i``."""
        word = self.at(i)
        for opener, joiners in _SPAN_WORDS:
            if word != opener:
                continue
            lo, mid, hi = _year(self.at(i + 1)), self.at(i + 2), _year(self.at(i + 3))
            if lo is not None and hi is not None and mid in joiners and lo <= hi:
                return NaturalFilter("year", lo, hi, i, i + 4)
            if word == "from" and lo is not None and mid in ("onwards", "onward", "on"):
                return NaturalFilter("year", lo, None, i, i + 3)
            if word == "from" and (span := _year_span(self.at(i + 1))):
                return NaturalFilter("year", *span, i, i + 2)
        found = self.prefix(i, _YEAR_PREFIXES)
        if found is not None:
            op, used = found
            year = _year(self.at(i + used))
            if year is not None:
                return NaturalFilter("year", *_bounds(op, year), i, i + used + 1)
            if op == "=" and (span := _year_span(self.at(i + used))):
                return NaturalFilter("year", *span, i, i + used + 1)
            return None
        if span := _year_span(word):
            return NaturalFilter("year", *span, i, i + 1)
        lo, hi = _year(word), _year(self.at(i + 2))
        if lo is not None and hi is not None and self.at(i + 1) in ("to", "-") and lo <= hi:
            return NaturalFilter("year", lo, hi, i, i + 3)
        return None


def find_filters(words: Sequence[str | None]) -> list[NaturalFilter]:
    """Non-overlapping filters in ``words`` (normalized; None = a word that cannot take part).

    Sample counts are tried before years at each position so "between 2000 and 3000
    samples" is a count, not a year span.
    """
    matcher = _Matcher(words)
    out: list[NaturalFilter] = []
    i = 0
    while i < len(matcher.w):
        found = matcher.count(i)
        if found is None:
            found = matcher.year(i)
            if found is not None and matcher.noun(found.end):
                found = None  # "in 2000 samples": the number counts samples
        if found is None:
            i += 1
            continue
        out.append(found)
        i = found.end
    return out
