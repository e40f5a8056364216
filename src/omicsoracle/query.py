"""The user query language: pure parsing, no I/O, never raises on any input.

Syntax (what a GEO user types)::

    breast cancer "gene expression" -mouse organism:human type:rna-seq
    platform:GPL570 samples:>=20 year:2010..2014 raw:CEL
    GSE1234, GSM5678 GPL570 12345678        (a list of accessions / PMIDs)

* plain words are AND-ed; a hyphenated word is a phrase of its parts;
* ``"quoted phrase"`` must appear as written (an unclosed quote runs to the end);
* ``-word``, ``-"phrase"`` and ``NOT word`` exclude; ``AND``/``OR`` (capitals) and
  parentheses are ignored rather than rejected: Boolean logic is not supported, and
  treating them as words would silently demand the word "or";
* ``key:value`` filters (keys below; ``disease:``, ``tissue:``, ``cell_type:``,
  ``cell_line:``, ``gene:`` and ``characteristic:"tissue: liver"`` filter on what the
  enrichment step extracted); comma-separated values are OR-ed; a filter
  with an unusable value is dropped and reported in ``ignored``;
* sample-count and year filters written in English ("at least 20 samples", "since
  2015", "2010-2014"; see ``search.natural``) are filters too: their words are consumed
  and merged with the ``key:value`` ones;
* a query made only of GEO accessions (GSE/GSM/GPL/GDS) and PubMed IDs is an ID
  lookup (stop words such as "and" between them are ignored).

Common names and assay words in filter values are mapped to GEO's vocabulary
(``organism:human`` -> Homo sapiens, ``type:rna-seq`` -> "Expression profiling by
high throughput sequencing").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from omicsoracle.model import ACCESSION_RE, PMID_RE
from omicsoracle.search.base import ANNOTATION_FACETS, LIST_FILTERS, SearchFilters
from omicsoracle.search.natural import find_filters, normalize
from omicsoracle.search.stopwords import is_stopword_text
from omicsoracle.search.synonyms import canonical_organism, types_for

MAX_QUERY_CHARS = 1000  # longer input is cut: nobody types more, and cost stays bounded
MAX_PIECES = 32

FILTER_KEYS = {
    "organism": "organism", "species": "organism", "org": "organism", "taxon": "organism",
    "type": "type", "assay": "type",
    "platform": "platform", "gpl": "platform",
    "samples": "samples", "sample_count": "samples", "n_samples": "samples",
    "year": "year", "date": "year",
    "raw": "raw_data", "raw_data": "raw_data", "format": "raw_data", "supp": "raw_data",
    "disease": "disease", "tissue": "tissue", "cell_type": "cell_type", "celltype": "cell_type",
    "cell_line": "cell_line", "cellline": "cell_line", "gene": "gene",
    "characteristic": "characteristic", "char": "characteristic",
}  # fmt: skip

_NUMBER = r"(\d{1,9})"
_CMP_RE = re.compile(r"(>=|<=|>|<|=)?\s*" + _NUMBER)
_SPAN_RE = re.compile(_NUMBER + r"?\s*(?:\.\.|-|to)\s*" + _NUMBER + "?")
_LIST_SPLIT_RE = re.compile(r"[,;]+")
_SEPARATORS = "()[]{}"


@dataclass(frozen=True)
class ParsedQuery:
    """What the user asked for, before any analysis or synonym expansion."""

    text: str
    terms: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    excluded: tuple[str, ...] = ()
    filters: SearchFilters = field(default_factory=SearchFilters)
    ids: tuple[str, ...] = ()  # set when the whole query is an ID lookup
    ignored: tuple[str, ...] = field(default=())
    understood: tuple[str, ...] = ()  # English filter phrases turned into filters
    # The same phrases with what they became: (text, "samples"|"year", lo, hi).
    natural: tuple[tuple[str, str, int | None, int | None], ...] = ()

    def is_empty(self) -> bool:
        """True when nothing constrains the match set (browse everything)."""
        return not (self.terms or self.phrases or self.excluded or self.ids) and (
            self.filters.is_empty()
        )


@dataclass
class _Piece:
    text: str
    quoted: bool
    negated: bool


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    """Text after the quote at ``i`` up to the closing quote (or the end)."""
    end = text.find('"', i + 1)
    if end < 0:
        return text[i + 1 :], len(text)
    return text[i + 1 : end], end + 1


def _lex(text: str) -> list[_Piece]:
    pieces: list[_Piece] = []
    i, n = 0, len(text)
    negate_next = False
    while i < n and len(pieces) < MAX_PIECES:
        ch = text[i]
        if ch.isspace() or ch in _SEPARATORS:
            i += 1
            continue
        negated = negate_next
        negate_next = False
        if ch == "-" and i + 1 < n and not text[i + 1].isspace() and text[i + 1] != "-":
            negated, i = True, i + 1
            ch = text[i]
        if ch == '"':
            body, i = _read_quoted(text, i)
            pieces.append(_Piece(body, quoted=True, negated=negated))
            continue
        start = i
        while i < n and not text[i].isspace() and text[i] not in _SEPARATORS:
            if text[i] == '"' and i > start and text[i - 1] == ":":
                # key:"quoted value" stays one piece
                _, i = _read_quoted(text, i)
                break
            i += 1
        word = text[start:i]
        if word in ("AND", "OR"):
            continue
        if word == "NOT":
            negate_next = True
            continue
        if word.endswith(":") and word[:-1].lower() in FILTER_KEYS:
            # "organism: human" -> take the next word as the value
            j = i
            while j < n and text[j].isspace():
                j += 1
            if j < n and text[j] == '"':
                value, i = _read_quoted(text, j)
                word = word + value
            else:
                k = j
                while k < n and not text[k].isspace() and text[k] not in _SEPARATORS:
                    k += 1
                value = text[j:k]
                if value and ":" not in value and not value.startswith("-"):
                    word, i = word + value, k
        pieces.append(_Piece(word, quoted=False, negated=negated))
    return pieces


def parse_range(value: str) -> tuple[int | None, int | None] | None:
    """``>=20``, ``<5``, ``20``, ``10..50``, ``2010-2014``, ``..100`` -> inclusive bounds."""
    value = value.strip()
    if m := _CMP_RE.fullmatch(value):
        op, num = m.group(1) or "=", int(m.group(2))
        return {
            "=": (num, num), ">=": (num, None), "<=": (None, num),
            ">": (num + 1, None), "<": (None, num - 1),
        }[op]  # fmt: skip
    if (m := _SPAN_RE.fullmatch(value)) and (m.group(1) or m.group(2)):
        lo = int(m.group(1)) if m.group(1) else None
        hi = int(m.group(2)) if m.group(2) else None
        return lo, hi
    return None


def _tighten(old: int | None, new: int | None, *, lower: bool) -> int | None:
    if old is None:
        return new
    if new is None:
        return old
    return max(old, new) if lower else min(old, new)


class _FilterBuilder:
    def __init__(self) -> None:
        self.values: dict[str, list[str]] = {key: [] for key in LIST_FILTERS}
        self.bounds: dict[str, int | None] = dict.fromkeys(
            ("min_samples", "max_samples", "year_from", "year_to")
        )
        self.ignored: list[str] = []

    def add(self, raw: str, key: str, value: str) -> None:
        # A quoted annotation value is one value, commas included (MONDO and CL labels
        # have them: cell_type:"B cell, CD19-positive"); otherwise commas separate OR-ed
        # values (organism:"human, mouse").
        quoted = value.strip().startswith('"') and key in ANNOTATION_FACETS
        value = value.strip().strip('"').strip()
        if not value:
            self.ignored.append(raw)
            return
        if key in ("samples", "year"):
            bounds = parse_range(value)
            if bounds is None:
                self.ignored.append(raw)
                return
            self.add_bounds(key, *bounds)
            return
        for part in [value] if quoted else _LIST_SPLIT_RE.split(value):
            part = " ".join(part.split())
            if not part:
                continue
            if key == "organism":
                self.values[key].append(canonical_organism(part))
            elif key == "type":
                self.values[key].extend(types_for(part))
            elif key in ("platform", "raw_data"):  # accession-like codes, upper case
                self.values[key].append(part.upper())
            else:  # annotation facets: matched case-insensitively by the index
                self.values[key].append(part)

    def add_bounds(self, key: str, lo: int | None, hi: int | None) -> None:
        """AND an inclusive range on ``samples`` or ``year`` with what is already set."""
        lo_key, hi_key = (
            ("min_samples", "max_samples") if key == "samples" else ("year_from", "year_to")
        )
        self.bounds[lo_key] = _tighten(self.bounds[lo_key], lo, lower=True)
        self.bounds[hi_key] = _tighten(self.bounds[hi_key], hi, lower=False)

    def build(self) -> SearchFilters:
        def uniq(key: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(self.values[key]))

        b = self.bounds
        bounded = SearchFilters(
            min_samples=b["min_samples"], max_samples=b["max_samples"],
            year_from=b["year_from"], year_to=b["year_to"],
        )  # fmt: skip
        lists: dict[str, Any] = {key: uniq(key) for key in LIST_FILTERS}
        return replace(bounded, **lists)


def _as_id(token: str) -> str | None:
    upper = token.upper()
    if ACCESSION_RE.match(upper):
        return upper
    if PMID_RE.match(token):
        return token
    return None


def _id_lookup(terms: list[str]) -> list[str]:
    """The IDs when every term is a list of accessions/PMIDs, else ``[]``.

    Stop words between accessions ("GSE1 and GSE2") are skipped, but not around bare
    numbers: "over 50" is text, not PubMed ID 50.
    """
    content = [t for t in terms if not is_stopword_text(t)]
    ids: list[str] = []
    for term in content:
        for part in _LIST_SPLIT_RE.split(term):
            if not part:
                continue
            as_id = _as_id(part)
            if as_id is None:
                return []
            ids.append(as_id)
    if len(content) < len(terms) and all(i.isdigit() for i in ids):
        return []
    return ids


def parse_query(text: str, *, literal: bool = False) -> ParsedQuery:
    """Parse user text; any string is accepted (garbage becomes words or nothing).

    ``literal`` keeps English filter phrases ("at least 20 samples") as words: only
    ``key:value`` filters are filters then.
    """
    if not isinstance(text, str):
        text = str(text)
    text = text.replace("\x00", " ")[:MAX_QUERY_CHARS]
    filters = _FilterBuilder()
    terms: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    pieces = _lex(text)
    natural, consumed = ([], set()) if literal else _natural_filters(pieces, filters)
    for n, piece in enumerate(pieces):
        body = piece.text.strip()
        if not body or n in consumed:
            continue
        if not piece.quoted and ":" in body:
            key, _, value = body.partition(":")
            canonical = FILTER_KEYS.get(key.lower())
            if canonical is not None:
                if piece.negated:
                    filters.ignored.append("-" + body)  # negated filters are not supported
                else:
                    filters.add(body, canonical, value)
                continue
        if piece.negated:
            excluded.append(body)
        elif piece.quoted:
            phrases.append(body)
        else:
            terms.append(body)
    ids = _id_lookup(terms) if terms and not phrases and not excluded else []
    if ids:
        terms = []
    return ParsedQuery(
        text=text,
        terms=tuple(terms),
        phrases=tuple(phrases),
        excluded=tuple(excluded),
        filters=filters.build(),
        ids=tuple(dict.fromkeys(ids)),
        ignored=tuple(filters.ignored),
        understood=tuple(n[0] for n in natural),
        natural=tuple(natural),
    )


def _natural_filters(
    pieces: list[_Piece], filters: _FilterBuilder
) -> tuple[list[tuple[str, str, int | None, int | None]], set[int]]:
    """Add English sample/year filters to ``filters``.

    Returns what each phrase became, ``(text, kind, lo, hi)``, and the consumed piece
    indexes.

    Only plain words take part: a quoted phrase, an excluded word or a ``key:value``
    filter between two words breaks a pattern, so "at least" in quotes stays text.
    """
    plain: list[str | None] = []
    for piece in pieces:
        body = piece.text.strip()
        is_filter = ":" in body and body.partition(":")[0].lower() in FILTER_KEYS
        plain.append(None if piece.quoted or piece.negated or is_filter else normalize(body))
    found_filters: list[tuple[str, str, int | None, int | None]] = []
    consumed: set[int] = set()
    for found in find_filters(plain):
        filters.add_bounds(found.kind, found.lo, found.hi)
        phrase = " ".join(p.text for p in pieces[found.start : found.end])
        found_filters.append((phrase, found.kind, found.lo, found.hi))
        consumed.update(range(found.start, found.end))
    return found_filters, consumed
