"""Spelling correction from the index's own vocabulary (surface words + document freq.).

Each engine keeps a "words" field/table with the distinct unstemmed words of every
series; the planner asks it for the document frequency of a typed word and, for a
word the index has (almost) never seen, for close vocabulary words. Candidates come
from rapidfuzz's optimal-string-alignment distance (a transposition costs 1, so
"nueron" is one edit from "neuron"), restricted to words of similar length.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from rapidfuzz import process
from rapidfuzz.distance import OSA

MIN_WORD_CHARS = 5  # shorter words are abbreviations/genes far more often than typos
MIN_CANDIDATE_DF = 2  # a word seen once is as likely a typo as the query word
MAX_CANDIDATES = 3
# A known word is only "corrected" when it is this rare and a near word is far more
# common: "diseese" in 1 series vs "disease" in thousands.
RARE_STEM_DF = 2
RARE_RATIO = 100


def max_distance(word: str) -> int:
    """Edits allowed for a word: one for short words, two from 8 letters on."""
    return 1 if len(word) < 8 else 2


class VocabularySource(Protocol):
    """What the planner needs from an engine's snapshot."""

    def word_doc_freq(self, word: str) -> int:
        """Series containing this surface word (any text field)."""
        ...

    def stem_doc_freq(self, stem: str) -> int:
        """Series whose analyzed text contains this stem (any text field)."""
        ...

    def spelling(self) -> SpellingVocabulary:
        """The full word list (loaded lazily, once per snapshot)."""
        ...


class SpellingVocabulary:
    """Distinct words with document frequencies, bucketed by length for fast lookup."""

    def __init__(self, pairs: Iterable[tuple[str, int]]):
        self.df: dict[str, int] = {}
        self._by_len: dict[int, list[str]] = {}
        for word, df in pairs:
            if df < MIN_CANDIDATE_DF or not word.isalpha():
                continue
            self.df[word] = df
            self._by_len.setdefault(len(word), []).append(word)

    def __len__(self) -> int:
        return len(self.df)

    def candidates(self, word: str, distance: int) -> list[tuple[str, int, int]]:
        """``(candidate, edits, df)`` within ``distance`` edits, best first."""
        found: list[tuple[str, int, int]] = []
        for length in range(len(word) - distance, len(word) + distance + 1):
            bucket = self._by_len.get(length)
            if not bucket:
                continue
            for cand, edits, _ in process.extract(
                word, bucket, scorer=OSA.distance, score_cutoff=distance, limit=None
            ):
                if cand != word:
                    found.append((cand, int(edits), self.df[cand]))
        # Fewest edits first, then the most common word; the word itself breaks ties
        # so both engines pick the same candidates.
        found.sort(key=lambda c: (c[1], -c[2], c[0]))
        return found


@dataclass(frozen=True)
class Correction:
    """Words to try instead of (``replace``) or besides a rare typed word."""

    word: str
    candidates: tuple[str, ...]
    replace: bool


def correct(word: str, stem: str, source: VocabularySource) -> Correction | None:
    """A correction for ``word`` when the index does not (or barely) know it."""
    if len(word) < MIN_WORD_CHARS or not word.isalpha():
        return None
    stem_df = source.stem_doc_freq(stem)
    if stem_df > RARE_STEM_DF:
        return None
    distance = max_distance(word)
    found = source.spelling().candidates(word, distance)
    if not found:
        return None
    best_edits = found[0][1]
    best = [c for c in found if c[1] == best_edits]
    if stem_df > 0:
        best = [c for c in best if c[2] >= RARE_RATIO * stem_df]
    if not best:
        return None
    return Correction(
        word=word,
        candidates=tuple(c[0] for c in best[:MAX_CANDIDATES]),
        replace=stem_df == 0,
    )
