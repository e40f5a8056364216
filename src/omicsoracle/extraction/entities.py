"""Entities in a record's text, each with its span in the field it was found in.

Dictionary types (organism, tissue, cell type, cell line, disease, gene, assay) are
found by one left-to-right pass over the field's tokens: at each token the longest
phrase of the vocabulary starting there wins (case-folded keys, then the exact keys of
genes, cell lines and capital abbreviations), found by walking each dictionary's token
trie, so the pass costs about one dict lookup per token matched. Pattern types
(statistics, time points, sample counts, treatments) come from
:mod:`omicsoracle.extraction.statistics_text`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from omicsoracle.extraction import statistics_text
from omicsoracle.extraction.vocabulary import END, TOKEN_RE, Term, Vocabulary

TYPES = (
    "organism", "tissue", "cell_type", "cell_line", "disease", "gene", "assay",
    "treatment", "time_point", "sample_count", "statistic",
)  # fmt: skip

# The text fields scanned, per record type, in display order.
FIELDS: dict[str, tuple[str, ...]] = {
    "series": ("title", "summary", "overall_design"),
    "sample": ("title", "source_name", "characteristics", "description"),
    "dataset": ("title", "description"),
    "platform": ("title",),
    "publication": ("title", "abstract"),
}


@dataclass(frozen=True, slots=True)
class Entity:
    """One mention: ``text == field_text[start:end]``."""

    type: str
    text: str
    normalized: str
    field: str
    start: int
    end: int
    source: str
    context: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        if out["context"] is None:
            del out["context"]
        return out


def _dictionary(text: str, field: str, vocab: Vocabulary) -> Iterator[Entity]:
    spans = [(m.start(), m.end(), m.group()) for m in TOKEN_RE.finditer(text)]
    tokens = [s[2] for s in spans]
    lows = [t.casefold() for t in tokens]
    exact_trie, folded_trie = vocab.exact_trie, vocab.folded_trie
    i, n = 0, len(spans)
    while i < n:
        # The longest phrase starting at i; at equal length the exact (case-sensitive)
        # dictionary wins, as genes and cell lines must not lose to a folded word.
        size, term = 0, None
        for trie, words in ((exact_trie, tokens), (folded_trie, lows)):
            node = trie.get(words[i])
            j = i
            while node is not None:
                j += 1
                if type(node) is Term:  # a leaf: the phrase ends here, nothing longer
                    found, node = node, None
                else:
                    found = node.get(END)
                    node = node.get(words[j]) if j < n else None
                if found is not None and j - i > size:
                    size, term = j - i, found
        if term is None:
            i += 1
            continue
        start, end = spans[i][0], spans[i + size - 1][1]
        yield Entity(term.type, text[start:end], term.normalized, field, start, end, term.source)
        i += size


def extract_text(text: str, field: str, vocab: Vocabulary) -> list[Entity]:
    """Entities of one field's text, sorted by position; pattern matches overlapping a
    longer pattern match are dropped (a statistic's "n = 12" is kept once)."""
    found = list(_dictionary(text, field, vocab))
    patterns: list[Entity] = []
    for scan in statistics_text.PATTERNS:
        for f in scan(text):
            patterns.append(
                Entity(f.type, text[f.start : f.end], f.normalized, field, f.start, f.end,
                       "pattern", f.context)
            )  # fmt: skip
    patterns.sort(key=lambda e: (e.start, -(e.end - e.start)))
    kept: list[Entity] = []
    for e in patterns:
        if kept and e.start < kept[-1].end:
            continue
        kept.append(e)
    # A treatment's agent is often a dictionary word too (a gene knocked down): keep both.
    found.extend(kept)
    found.sort(key=lambda e: (e.start, e.end, e.type))
    return found


# Sample source names and characteristic lines repeat across the samples of a series,
# and across GEO ("tissue: liver" on a quarter of a million samples): their entities
# are found once per vocabulary and reused. Titles, summaries and abstracts are nearly
# always unique, so they are scanned every time and never kept.
MEMO_FIELDS = frozenset({"source_name", "characteristics"})
MEMO_TEXT_LIMIT = 200
MEMO_ENTRIES = 200_000


def _remembered(text: str, field: str, vocab: Vocabulary) -> tuple[Entity, ...]:
    memo = vocab.memo
    found = memo.get((field, text))
    if found is None:
        if len(memo) >= MEMO_ENTRIES:
            memo.clear()  # a new corpus' values: start over rather than track recency
        found = memo[(field, text)] = tuple(extract_text(text, field, vocab))
    return found


def _scan(text: str, field: str, vocab: Vocabulary) -> list[Entity] | tuple[Entity, ...]:
    if field not in MEMO_FIELDS:
        return extract_text(text, field, vocab)
    if field != "characteristics":
        return _remembered(text, field, vocab) if len(text) <= MEMO_TEXT_LIMIT else (
            extract_text(text, field, vocab))  # fmt: skip
    # One "key: value" a line, each scanned on its own (a phrase never runs from one
    # characteristic into the next), spans shifted to the field's text.
    out: list[Entity] = []
    offset = 0
    for line in text.split("\n"):
        if len(line) <= MEMO_TEXT_LIMIT:
            found: Iterable[Entity] = _remembered(line, field, vocab)
        else:
            found = extract_text(line, field, vocab)
        for e in found:
            out.append(e if not offset else Entity(
                e.type, e.text, e.normalized, field, e.start + offset, e.end + offset,
                e.source, e.context))  # fmt: skip
        offset += len(line) + 1
    return out


def characteristics_text(pairs: Iterable[Any]) -> str:
    """A sample's characteristics as the text the extractor scans, one "key: value" a line."""
    lines = []
    for pair in pairs:
        if isinstance(pair, (list, tuple)) and len(pair) == 2:
            key, value = str(pair[0]), str(pair[1])
            lines.append(f"{key}: {value}" if key else value)
    return "\n".join(lines)


def field_texts(record_type: str, doc: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(field, text) pairs of a stored record document that carry text."""
    for field in FIELDS.get(record_type, ()):
        value = doc.get(field)
        if field == "characteristics":
            value = characteristics_text(value or ())
        if isinstance(value, str) and value.strip():
            yield field, value


def extract_record(record_type: str, doc: Mapping[str, Any], vocab: Vocabulary) -> list[Entity]:
    """Every entity of one stored record document (a ``doc`` column's JSON)."""
    out: list[Entity] = []
    for field, text in field_texts(record_type, doc):
        out.extend(_scan(text, field, vocab))
    if record_type in ("series", "sample", "dataset", "platform"):
        have = {e.normalized for e in out if e.type == "organism"}
        # GEO's organism field is a curated statement, not a mention: kept as the
        # record's own metadata (span over the organism value itself).
        for org in doc.get("organisms") or ():
            if isinstance(org, str) and org not in have:
                out.append(Entity("organism", org, org, "organisms", 0, len(org), "GEO metadata"))
    return out
