"""Query understanding: what a plain-language question asks for, in one place.

    "NSCLC RNA-seq human at least 20 samples"
    -> concept non-small cell lung cancer (typed as NSCLC; expanded to its synonyms),
       type = Expression profiling by high throughput sequencing (from "RNA-seq"),
       organism = Homo sapiens (from "human"), min_samples = 20 (from the phrase)

Every entry point uses this module: the search engines (``/api/v1/search``,
``omicsoracle search``, the page), the query agent of the pipeline and the ``ask``
endpoint, so a question means the same thing everywhere. It builds on the parser
(:mod:`omicsoracle.query`, syntax and English sample/year phrases) and the lexicon
(:mod:`omicsoracle.search.synonyms`: curated tables, the HPO ontology and the
abbreviations the corpus defines), and adds the step from words to filters:

* a word naming an organism ("human", "mice", "Homo sapiens") becomes an organism
  filter, and an assay word whose GEO series type says the same thing ("RNA-seq",
  "microarray", "ChIP-seq") a type filter; their words leave the text. Several
  organism words are OR-ed ("human mouse" finds either), as are several assays. A
  ``key:value`` filter typed for the same field wins: the words then stay words.
  Assay words GEO has no type for ("scRNA-seq", "ATAC-seq") stay words: a type filter
  would let every bulk RNA-seq series in;
* disease, cell type and other concepts stay words: the planner expands each into its
  synonyms and abbreviations, and they are reported here so the page can say what it
  searched for;
* gene symbols are recognised (as typed, in capitals) and reported.

``literal=True`` switches all of it off: the words are matched as typed (stemmed),
with no synonyms, spelling corrections, or filters from words; only explicit
``key:value`` filters apply. Pure and deterministic: no I/O beyond loading the
vocabulary once.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from omicsoracle.query import ParsedQuery, parse_query
from omicsoracle.search.analysis import stem_words, words
from omicsoracle.search.base import ANNOTATION_FACETS
from omicsoracle.search.stopwords import STOPWORDS
from omicsoracle.search.synonyms import MAX_KEY_LEN, Entry, lexicon

_EDGE_PUNCT_RE = re.compile(r"^[^\w]+|[^\w]+$")
MAX_SYNONYMS_SHOWN = 8


@dataclass(frozen=True)
class Concept:
    """A recognised concept: the typed text and the entry it stands for."""

    text: str
    kind: str
    name: str
    synonyms: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    via_abbreviation: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {
            "text": self.text,
            "kind": self.kind,
            "name": self.name,
            "synonyms": list(self.synonyms),
            "sources": list(self.sources),
        }


@dataclass(frozen=True)
class FromWords:
    """Words of the query that became a filter."""

    text: str
    filter: str  # "organism" | "type" | "samples" | "year"
    value: Any

    def to_dict(self) -> dict[str, Any]:
        """JSON shape."""
        return {"text": self.text, "filter": self.filter, "value": self.value}


@dataclass(frozen=True)
class Understanding:
    """What a query asks for; ``parsed`` is what the engines plan."""

    text: str
    literal: bool
    parsed: ParsedQuery
    concepts: tuple[Concept, ...] = ()
    genes: tuple[str, ...] = ()
    from_words: tuple[FromWords, ...] = ()
    shown: tuple[str, ...] = ()  # the words and concepts for display, in typed order

    def display(self) -> str:
        """One line for "searching for: ...": words in typed order, then filters."""
        parts = list(self.shown)
        parts += [f'"{p}"' for p in self.parsed.phrases]
        parts += [f"not {e}" for e in self.parsed.excluded]
        parts += list(self.parsed.ids)
        f = self.parsed.filters
        typed_types = [w.text for w in self.from_words if w.filter == "type"]
        from_word_types = {t for w in self.from_words if w.filter == "type" for t in w.value}
        parts += list(f.organism)
        parts += typed_types + [t for t in f.type if t not in from_word_types]
        parts += [f"platform {p}" for p in f.platform]
        parts += [f"raw data {r}" for r in f.raw_data]
        for name in ANNOTATION_FACETS:
            label = name.replace("_", " ")
            parts += [f"{label} {v}" for v in getattr(f, name)]
        parts += _bounds_words("samples", f.min_samples, f.max_samples)
        parts += _bounds_words("year", f.year_from, f.year_to)
        return " · ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape (``understood`` in search responses and pipeline answers)."""
        return {
            "text": self.text,
            "literal": self.literal,
            "terms": list(self.parsed.terms),
            "phrases": list(self.parsed.phrases),
            "excluded": list(self.parsed.excluded),
            "ids": list(self.parsed.ids),
            "concepts": [c.to_dict() for c in self.concepts],
            "genes": list(self.genes),
            "filters": self.parsed.filters.to_dict(),
            "from_words": [f.to_dict() for f in self.from_words],
            "display": self.display(),
        }


def _bounds_words(what: str, lo: int | None, hi: int | None) -> list[str]:
    if lo is not None and hi is not None:
        return [f"{what} {lo}–{hi}" if lo != hi else f"{what} {lo}"]
    if lo is not None:
        return [f"{what} ≥ {lo}"]
    if hi is not None:
        return [f"{what} ≤ {hi}"]
    return []


@dataclass(frozen=True)
class LexiconMatch:
    """The longest lexicon entry starting at one typed term."""

    entry: Entry
    used: int  # how many typed terms it spans
    via_abbreviation: bool


def match_lexicon(
    keys: Sequence[Sequence[str]], typed: Sequence[str], i: int
) -> LexiconMatch | None:
    """Longest lexicon key starting at term ``i``.

    ``keys[j]`` are the stems term ``j`` contributes (the planner passes a spelling
    correction's stem for a word the index does not know); ``typed[j]`` its surface
    text, for entries that must be typed exactly (ambiguous abbreviations in capitals).
    """
    table = lexicon()
    best: LexiconMatch | None = None
    key: list[str] = []
    for j in range(i, len(keys)):
        key += keys[j]
        if len(key) > MAX_KEY_LEN:
            break
        for item in table.get(tuple(key), ()):
            if item.exact is not None:
                surface = _EDGE_PUNCT_RE.sub("", " ".join(typed[i : j + 1]))
                if surface != item.exact:
                    continue
            best = LexiconMatch(item.entry, j - i + 1, tuple(key) in item.entry.abbreviations)
            break
    return best


def understand(
    text: str,
    *,
    literal: bool = False,
    genes: Callable[[], frozenset[str]] | None = None,
) -> Understanding:
    """Understand ``text`` (any string; never raises)."""
    parsed = parse_query(text, literal=literal)
    if literal:
        return Understanding(parsed.text, True, parsed)
    terms = list(parsed.terms)
    surface = [words(t) for t in terms]
    keys = [stem_words(w) for w in surface]
    known_genes = (genes or _gene_symbols)()
    kept: list[str] = []
    concepts: list[Concept] = []
    found_genes: list[str] = []
    from_words: list[FromWords] = []
    organisms: list[str] = []
    types: list[str] = []
    shown: list[str] = []
    # Stop words are left out of the display when the query says anything else (the
    # planner drops them from matching under the same rule).
    content = any(not _is_stop(w) for w in surface)
    i = 0
    while i < len(terms):
        if not keys[i]:
            kept.append(terms[i])
            i += 1
            continue
        hit = match_lexicon(keys, terms, i)
        if hit is None:
            bare = _EDGE_PUNCT_RE.sub("", terms[i])
            if bare in known_genes and bare.casefold() not in STOPWORDS:
                found_genes.append(bare)
            kept.append(terms[i])
            if not (content and _is_stop(surface[i])):
                shown.append(terms[i])
            i += 1
            continue
        span = terms[i : i + hit.used]
        typed = " ".join(span)
        entry = hit.entry
        # A filter typed as key:value is the user's own: a word never widens it
        # ("organism:mouse human xenograft" is mouse series that mention human cells).
        if entry.kind == "species" and entry.organism and not parsed.filters.organism:
            organisms.append(entry.organism)
            from_words.append(FromWords(typed, "organism", entry.organism))
        elif (
            entry.kind == "assay" and entry.types_match and entry.types and not parsed.filters.type
        ):
            types.extend(entry.types)
            from_words.append(FromWords(typed, "type", list(entry.types)))
        else:
            kept.extend(span)
            if entry.kind != "variant":
                concepts.append(_concept(typed, entry, hit.via_abbreviation))
                same = typed.casefold() == entry.name.casefold()
                shown.append(typed if same else f"{typed} ({entry.name})")
            else:
                shown.append(typed)
        i += hit.used
    for phrase, kind, lo, hi in parsed.natural:
        from_words.append(FromWords(phrase, kind, {"min": lo, "max": hi}))
    filters = parsed.filters
    if organisms or types:
        filters = dataclasses.replace(
            filters,
            organism=tuple(dict.fromkeys((*filters.organism, *organisms))),
            type=tuple(dict.fromkeys((*filters.type, *types))),
        )
    parsed = dataclasses.replace(parsed, terms=tuple(kept), filters=filters)
    return Understanding(
        text=parsed.text,
        literal=False,
        parsed=parsed,
        concepts=tuple(concepts),
        genes=tuple(dict.fromkeys(found_genes)),
        from_words=tuple(from_words),
        shown=tuple(shown),
    )


def _is_stop(surface: Sequence[str]) -> bool:
    return bool(surface) and all(w in STOPWORDS for w in surface)


def _concept(typed: str, entry: Entry, via_abbreviation: bool) -> Concept:
    forms = entry.forms or tuple(" ".join(a) for a in (*entry.alternatives, *entry.abbreviations))
    typed_folded = {typed.casefold(), entry.name.casefold()}
    shown = [f for f in dict.fromkeys(forms) if f.casefold() not in typed_folded]
    return Concept(
        text=typed,
        kind=entry.kind,
        name=entry.name,
        synonyms=tuple(shown[:MAX_SYNONYMS_SHOWN]),
        sources=entry.sources,
        via_abbreviation=via_abbreviation,
    )


def _gene_symbols() -> frozenset[str]:
    from omicsoracle.search.thesaurus import gene_symbols  # loads a file: only when needed

    return gene_symbols()
