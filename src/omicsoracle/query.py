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
* ``key:value`` filters (keys below); comma-separated values are OR-ed; a filter
  with an unusable value is dropped and reported in ``ignored``;
* a query made only of GEO accessions (GSE/GSM/GPL/GDS) and PubMed IDs is an ID
  lookup.

Common names and assay words in filter values are mapped to GEO's vocabulary
(``organism:human`` -> Homo sapiens, ``type:rna-seq`` -> "Expression profiling by
high throughput sequencing").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from omicsoracle.model import ACCESSION_RE, PMID_RE
from omicsoracle.search.base import SearchFilters
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
        self.values: dict[str, list[str]] = {
            "organism": [],
            "type": [],
            "platform": [],
            "raw_data": [],
        }
        self.bounds: dict[str, int | None] = dict.fromkeys(
            ("min_samples", "max_samples", "year_from", "year_to")
        )
        self.ignored: list[str] = []

    def add(self, raw: str, key: str, value: str) -> None:
        value = value.strip().strip('"').strip()
        if not value:
            self.ignored.append(raw)
            return
        if key in ("samples", "year"):
            bounds = parse_range(value)
            if bounds is None:
                self.ignored.append(raw)
                return
            lo_key, hi_key = (
                ("min_samples", "max_samples") if key == "samples" else ("year_from", "year_to")
            )
            self.bounds[lo_key] = _tighten(self.bounds[lo_key], bounds[0], lower=True)
            self.bounds[hi_key] = _tighten(self.bounds[hi_key], bounds[1], lower=False)
            return
        for part in _LIST_SPLIT_RE.split(value):
            part = " ".join(part.split())
            if not part:
                continue
            if key == "organism":
                self.values[key].append(canonical_organism(part))
            elif key == "type":
                self.values[key].extend(types_for(part))
            else:  # platform / raw data: accession-like codes, upper case
                self.values[key].append(part.upper())

    def build(self) -> SearchFilters:
        def uniq(key: str) -> tuple[str, ...]:
            return tuple(dict.fromkeys(self.values[key]))

        return SearchFilters(
            organism=uniq("organism"), type=uniq("type"), platform=uniq("platform"),
            raw_data=uniq("raw_data"), **self.bounds,
        )  # fmt: skip


def _as_id(token: str) -> str | None:
    upper = token.upper()
    if ACCESSION_RE.match(upper):
        return upper
    if PMID_RE.match(token):
        return token
    return None


def parse_query(text: str) -> ParsedQuery:
    """Parse user text; any string is accepted (garbage becomes words or nothing)."""
    if not isinstance(text, str):
        text = str(text)
    text = text.replace("\x00", " ")[:MAX_QUERY_CHARS]
    filters = _FilterBuilder()
    terms: list[str] = []
    phrases: list[str] = []
    excluded: list[str] = []
    for piece in _lex(text):
        body = piece.text.strip()
        if not body:
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
    ids: list[str] = []
    if terms and not phrases and not excluded:
        for term in terms:
            for part in _LIST_SPLIT_RE.split(term):
                if not part:
                    continue
                as_id = _as_id(part)
                if as_id is None:
                    ids = []
                    break
                ids.append(as_id)
            else:
                continue
            break
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
    )
