"""From a parsed query to an engine-neutral match plan.

Both engines compile the same :class:`Plan`, which is what makes their match sets
identical: a series matches when it satisfies every required clause, no excluded
clause, every tag filter and every numeric range. A clause is satisfied by any of its
alternatives: a run of stems in one text field (a phrase when longer than one), a tag
(organism/type), or an ID. Weights only affect ranking.

A *relaxed* plan (``Plan.relaxed``, used when the strict one matches nothing) needs
only one required clause instead of all of them; excluded clauses and filters stay
hard. Engines rank it by BM25 plus ``COORDINATION_BOOST`` per satisfied clause, so
series that match more of the query's concepts come first in both engines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from omicsoracle.extraction import characteristics
from omicsoracle.model import ACCESSION_RE
from omicsoracle.query import ParsedQuery
from omicsoracle.search.analysis import stem, stem_words, words
from omicsoracle.search.base import ANNOTATION_FACETS, SearchFilters, SearchRequest
from omicsoracle.search.fields import tag
from omicsoracle.search.spelling import Correction, VocabularySource, correct
from omicsoracle.search.stopwords import STOPWORDS
from omicsoracle.search.synonyms import Entry, canonical_organism, types_for
from omicsoracle.understanding import LexiconMatch, match_lexicon

# Ranking weights of the kinds of alternative (the text field weights live in the
# engines). A synonym is as good as the typed word; a spelling guess is worth less so
# an exact rare word still wins; a tag match (organism/type) is a mild signal on top.
SYNONYM_WEIGHT = 1.0
SAFE_ABBREVIATION_WEIGHT = 0.8
CORRECTION_WEIGHT = 0.6
TAG_WEIGHT = 0.5
BOOST_TAG_WEIGHT = 0.3
MAX_ALTERNATIVES = 16
# Relaxed plans: score added per satisfied required clause. Far above what one
# clause's BM25 usually reaches, so the number of matched concepts decides first and
# BM25 orders series that match as many; identical in both engines.
COORDINATION_BOOST = 100.0
_EDGE_PUNCT_RE = re.compile(r"^[^\w]+|[^\w]+$")


@dataclass(frozen=True)
class Alt:
    """A run of stems that must appear contiguously in one text field."""

    stems: tuple[str, ...]
    weight: float = 1.0


@dataclass(frozen=True)
class Clause:
    """One concept of the query: satisfied by any alternative, tag or id."""

    label: str
    alts: tuple[Alt, ...] = ()
    tags: tuple[tuple[str, float], ...] = ()
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Everything an engine needs to match, rank and highlight."""

    required: tuple[Clause, ...] = ()
    excluded: tuple[Clause, ...] = ()
    tag_filters: tuple[tuple[str, ...], ...] = ()  # AND of OR-sets
    sample_ranges: tuple[tuple[int | None, int | None], ...] = ()
    year_ranges: tuple[tuple[int | None, int | None], ...] = ()
    boost_tags: tuple[tuple[str, float], ...] = ()
    exact_ids: tuple[str, ...] = ()  # the series with these accessions rank first
    highlight: frozenset[str] = frozenset()
    impossible: bool = False  # contradictory filters: nothing can match
    relaxed: bool = False  # required clauses OR-ed (see the module docstring)
    did_you_mean: str | None = None
    interpreted: dict[str, Any] = field(default_factory=dict)

    def can_relax(self) -> bool:
        """True when OR-ing the required clauses could match more than AND-ing them."""
        return not self.relaxed and not self.impossible and len(self.required) > 1


@dataclass
class _Group:
    """One typed term: its folded words and stems (several for "triple-negative")."""

    typed: str
    words: list[str]
    stems: list[str]
    correction: Correction | None = None


def _dedup_alts(alts: list[Alt]) -> tuple[Alt, ...]:
    best: dict[tuple[str, ...], float] = {}
    for alt in alts:
        if alt.stems and alt.weight > best.get(alt.stems, -1.0):
            best[alt.stems] = alt.weight
    return tuple(Alt(s, w) for s, w in list(best.items())[:MAX_ALTERNATIVES])


def _entry_clause(entry: Entry, label: str, via_abbreviation: bool) -> tuple[Clause, list[str]]:
    alts = [Alt(a, SYNONYM_WEIGHT) for a in entry.alternatives]
    if via_abbreviation:
        alts += [Alt(a, SYNONYM_WEIGHT) for a in entry.abbreviations]
    elif not entry.ambiguous:
        alts += [Alt(a, SAFE_ABBREVIATION_WEIGHT) for a in entry.abbreviations]
    tags: list[tuple[str, float]] = []
    if entry.organism:
        tags.append((tag("organism", entry.organism), TAG_WEIGHT))
    if entry.types_match:
        tags += [(tag("type", t), TAG_WEIGHT) for t in entry.types]
    shown = [entry.name] if entry.kind != "variant" else []
    shown += [" ".join(a.stems) for a in alts]
    return Clause(label, _dedup_alts(alts), tuple(tags)), shown


def _match_lexicon(groups: list[_Group], i: int) -> LexiconMatch | None:
    """Longest lexicon entry at group ``i``; an unknown word counts as its correction."""
    keys = [
        [stem(g.correction.candidates[0])] if g.correction is not None and g.correction.replace
        else g.stems
        for g in groups
    ]  # fmt: skip
    return match_lexicon(keys, [g.typed for g in groups], i)


class Planner:
    """Builds a Plan for one request against one snapshot's vocabulary."""

    def __init__(self, source: VocabularySource):
        self.source = source

    def plan(self, request: SearchRequest, parsed: ParsedQuery) -> Plan:
        """Compile the parsed query and both filter sets into a Plan.

        ``request.literal``: every word is matched as typed, without synonyms or
        spelling corrections (``parsed`` then comes from a literal understanding).
        """
        literal = request.literal
        expansions: dict[str, list[str]] = {}
        corrections: dict[str, list[str]] = {}
        required: list[Clause] = []
        exact_ids: tuple[str, ...] = ()
        boost: list[tuple[str, float]] = []
        if parsed.ids:
            lowered = tuple(i.lower() for i in parsed.ids)
            numeric = [Alt((i,)) for i in lowered if i.isdigit()]
            required.append(Clause(" ".join(parsed.ids), tuple(numeric), ids=lowered))
            exact_ids = tuple(i for i in lowered if not i.isdigit())
        groups = self._groups(parsed.terms, correct_words=not literal)
        # Stop words are dropped when the text says anything else; a query of only
        # stop words ("the", "data") keeps them as ordinary terms.
        drop_stopwords = bool(
            parsed.phrases or parsed.ids or not parsed.filters.is_empty()
            or any(not _is_stop(g) for g in groups)
        )  # fmt: skip
        dropped: list[str] = []
        i = 0
        while i < len(groups):
            g = groups[i]
            hit = None if literal else _match_lexicon(groups, i)
            if hit is not None:
                entry, used, via_abbrev = hit.entry, hit.used, hit.via_abbreviation
                label = " ".join(x.typed for x in groups[i : i + used])
                clause, shown = _entry_clause(entry, label, via_abbrev)
                required.append(clause)
                expansions[label] = shown
                if entry.kind == "assay" and not entry.types_match:
                    boost += [(tag("type", t), BOOST_TAG_WEIGHT) for t in entry.types]
                for x in groups[i : i + used]:
                    if x.correction:
                        corrections[x.words[0]] = list(x.correction.candidates)
                i += used
                continue
            i += 1
            if drop_stopwords and _is_stop(g):
                dropped.append(g.typed)
                continue
            required.append(self._term_clause(g, corrections))
        for phrase in parsed.phrases:
            stems = tuple(stem_words(words(phrase)))
            if stems:
                required.append(Clause(phrase, (Alt(stems),)))
        excluded = []
        for text in parsed.excluded:
            stems = tuple(stem_words(words(text)))
            if stems:
                excluded.append(Clause(text, (Alt(stems),)))
        tag_filters, samples, years, impossible = _filters(request.filters, parsed.filters)
        highlight = frozenset(s for c in required for a in c.alts for s in a.stems)
        did_you_mean = _did_you_mean(parsed.text, groups) if corrections else None
        # "filters": what the query text asked for (key:value and English phrases,
        # merged); "request_filters": the structured filters sent beside it.
        interpreted: dict[str, Any] = {
            "terms": list(parsed.terms), "phrases": list(parsed.phrases),
            "excluded": list(parsed.excluded), "ids": list(parsed.ids),
            "filters": parsed.filters.to_dict(), "request_filters": request.filters.to_dict(),
            "filter_phrases": list(parsed.understood), "stopwords": dropped,
            "expansions": expansions, "corrections": corrections, "ignored": list(parsed.ignored),
        }  # fmt: skip
        return Plan(
            required=tuple(required), excluded=tuple(excluded), tag_filters=tag_filters,
            sample_ranges=samples, year_ranges=years, boost_tags=tuple(dict.fromkeys(boost)),
            exact_ids=exact_ids, highlight=highlight, impossible=impossible,
            did_you_mean=did_you_mean, interpreted=interpreted,
        )  # fmt: skip

    def _groups(self, terms: tuple[str, ...], correct_words: bool) -> list[_Group]:
        groups = []
        for typed in terms:
            ws = words(typed)
            if not ws:
                continue
            g = _Group(typed, ws, stem_words(ws))
            # A stop word is never a typo.
            if correct_words and len(ws) == 1 and ws[0] not in STOPWORDS:
                g.correction = correct(ws[0], g.stems[0], self.source)
            groups.append(g)
        return groups

    def _term_clause(self, g: _Group, corrections: dict[str, list[str]]) -> Clause:
        alts: list[Alt] = []
        c = g.correction
        if c is None or not c.replace:
            alts.append(Alt(tuple(g.stems)))
        if c is not None:
            corrections[c.word] = list(c.candidates)
            weight = SYNONYM_WEIGHT if c.replace else CORRECTION_WEIGHT
            alts += [Alt((stem(cand),), weight) for cand in c.candidates]
        ids: tuple[str, ...] = ()
        bare = _EDGE_PUNCT_RE.sub("", g.typed).upper()
        if ACCESSION_RE.match(bare):
            ids = (bare.lower(),)
        return Clause(g.typed, _dedup_alts(alts), ids=ids)


def _is_stop(g: _Group) -> bool:
    return all(w in STOPWORDS for w in g.words)


def _filters(
    *sources: SearchFilters,
) -> tuple[
    tuple[tuple[str, ...], ...],
    tuple[tuple[int | None, int | None], ...],
    tuple[tuple[int | None, int | None], ...],
    bool,
]:
    """AND the filter sets: each field of each source is its own constraint."""
    tags: list[tuple[str, ...]] = []
    samples: list[tuple[int | None, int | None]] = []
    years: list[tuple[int | None, int | None]] = []
    impossible = False
    for f in sources:
        if f.organism:
            tags.append(
                tuple(dict.fromkeys(tag("organism", canonical_organism(v)) for v in f.organism))
            )
        if f.type:
            tags.append(tuple(dict.fromkeys(tag("type", t) for v in f.type for t in types_for(v))))
        if f.platform:
            tags.append(
                tuple(dict.fromkeys(tag("platform", v.strip().upper()) for v in f.platform))
            )
        if f.raw_data:
            tags.append(
                tuple(dict.fromkeys(tag("raw_data", v.strip().upper()) for v in f.raw_data))
            )
        tags += _annotation_filters(f)
        for lo, hi, out in (
            (f.min_samples, f.max_samples, samples),
            (f.year_from, f.year_to, years),
        ):
            if lo is None and hi is None:
                continue
            if lo is not None and hi is not None and lo > hi:
                impossible = True
            out.append((lo, hi))
    return tuple(tags), tuple(samples), tuple(years), impossible


def _annotation_filters(f: SearchFilters) -> list[tuple[str, ...]]:
    """One OR-set of tags per annotation filter that is set (entities case-insensitive,
    characteristics normalised like the stored ones; a bare key matches any value)."""
    out: list[tuple[str, ...]] = []
    for name in ANNOTATION_FACETS:
        values = getattr(f, name)
        if not values:
            continue
        if name != "characteristic":
            out.append(tuple(dict.fromkeys(tag(name, v) for v in values)))
            continue
        tags = []
        for v in values:
            key, value = characteristics.parse_filter(v)
            if value is None:
                tags.append(tag("characteristic_key", key))
            else:
                tags.append(tag("characteristic", characteristics.facet_value(key, value)))
        out.append(tuple(dict.fromkeys(tags)))
    return out


def _did_you_mean(text: str, groups: list[_Group]) -> str | None:
    out = text
    for g in groups:
        if g.correction is None:
            continue
        pattern = re.compile(r"(?<!\w)" + re.escape(_EDGE_PUNCT_RE.sub("", g.typed)) + r"(?!\w)")
        out = pattern.sub(g.correction.candidates[0], out, count=1)
    return out if out != text else None
