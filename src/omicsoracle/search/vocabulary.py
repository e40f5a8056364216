"""Vocabulary completions: organisms, species common names, assay and concept terms.

Each is ranked by how many series it describes (:func:`collect_terms`), for the
suggester's terms index (:mod:`omicsoracle.search.suggest`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from omicsoracle.search.analysis import tokens, words
from omicsoracle.search.prefix_index import PrefixIndex
from omicsoracle.search.synonyms import ASSAYS, CONCEPTS, SPECIES


class Term(NamedTuple):
    """A term or organism completion and how many series it describes."""

    text: str
    kind: str
    detail: str | None
    popularity: int
    key: str  # folded words joined by spaces
    case_sensitive: bool  # ambiguous abbreviation: only offered to input typed in capitals


def _title_count(index: PrefixIndex, forms: Iterable[str]) -> int:
    """Titles holding every word of at least one form (a phrase or an abbreviation)."""
    hits: set[int] = set()
    for form in forms:
        lists = [index.exact(word) for word in dict.fromkeys(words(form))]
        if not lists or any(p is None for p in lists):
            continue
        present = sorted((p for p in lists if p is not None), key=len)
        rarest, rest = present[0], present[1:]
        hits.update(i for i in rarest if all(_contains(p, i) for p in rest))
    return len(hits)


def _contains(ids: memoryview, item: int) -> bool:
    i = bisect_left(ids, item)
    return i < len(ids) and ids[i] == item


def collect_terms(organisms: Mapping[str, int], index: PrefixIndex) -> list[Term]:
    """Organisms, species common names, assay and concept words; ranked best first."""
    terms: dict[str, Term] = {}

    def add(text: str, kind: str, detail: str | None, popularity: int, case: bool = False) -> None:
        key = " ".join(words(text))
        compact = key.replace(" ", "")  # "RNA-seq" and "RNAseq" are one suggestion
        old = terms.get(compact)
        if key and (old is None or popularity > old.popularity):
            shown = " ".join(text.split())
            terms[compact] = Term(
                shown, kind, detail if detail != shown else None, popularity, key, case
            )

    def distinct(forms: Iterable[str]) -> list[str]:
        # "humans" next to "human" and "microarrays" next to "microarray" only add noise.
        by_stem: dict[tuple[str, ...], str] = {}
        for form in forms:
            by_stem.setdefault(tuple(tokens(form)), form)
        return list(by_stem.values())

    for name, count in organisms.items():
        add(name, "organism", None, count)
    for species in SPECIES:
        count = organisms.get(species.scientific, 0)
        add(species.scientific, "organism", None, count)
        for name in distinct(species.names):
            add(name, "organism", species.scientific, count)
    for assay in ASSAYS:
        count = _title_count(index, assay.words)
        for word in distinct((assay.name, *assay.words)):
            add(word, "term", assay.name, count)
    for concept in CONCEPTS:
        count = _title_count(index, (*concept.phrases, *concept.abbreviations))
        for phrase in distinct((concept.name, *concept.phrases)):
            add(phrase, "term", concept.name, count)
        for abbreviation in concept.abbreviations:
            add(abbreviation, "term", concept.name, count, concept.ambiguous)
    kinds = {"organism": 0, "term": 1}
    return sorted(terms.values(), key=lambda t: (-t.popularity, kinds[t.kind], t.key))
