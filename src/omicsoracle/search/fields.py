"""What both engines store for one SearchDoc: analyzed text, filter tags, sort keys.

Computed once here so the engines cannot drift apart: tantivy and FTS5 index exactly
these strings. Filter values become opaque "tags" (a kind prefix plus a hash of the
case-folded value) in one tag field, so organism/type/platform/raw-data filters are
plain term matches in both engines and can sit inside a text concept ("human" matches
the word or the organism).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import date

import orjson

from omicsoracle.model import ACCESSION_RE
from omicsoracle.search.analysis import stem_words, words
from omicsoracle.search.base import ANNOTATION_FACETS
from omicsoracle.search.document import SearchDoc

TEXT_FIELDS = ("title", "summary", "design", "extra")
ALL_TAG = "xall"  # every series carries it: the "match everything" term
TAG_PREFIX = {
    "organism": "og", "type": "ty", "platform": "pl", "raw_data": "rw",
    "disease": "ds", "tissue": "ti", "cell_type": "ct", "cell_line": "cl", "gene": "gn",
    "characteristic": "ch", "characteristic_key": "ck",
}  # fmt: skip
# What the engines index changed (fields, tags; 4: the extra text holds every sample
# word; 5: per-sample identifier values left out of the characteristic facet): an index
# written under another version is rebuilt from change 0 by every engine.
INDEX_FORMAT = 5
# A series with thousands of samples could carry thousands of characteristic values;
# past this many per facet the rest are left out of its facets (they stay searchable text).
MAX_ANNOTATIONS_PER_FACET = 200

# Sample-count facet buckets (upper bound inclusive); index len(...) means unknown.
SAMPLE_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (5, "1-5"), (10, "6-10"), (20, "11-20"), (50, "21-50"), (100, "51-100"),
    (500, "101-500"), (None, ">500"),
)  # fmt: skip
UNKNOWN = "unknown"
UNKNOWN_BUCKET = len(SAMPLE_BUCKETS)
_EPOCH = date(1970, 1, 1).toordinal()
_KEY_SHIFT = 31  # low bits: accession number (< 10**9 < 2**31) makes sort keys unique
# IDs are matched as single terms in both engines; anything but [a-z0-9] would be split
# by FTS5 and not by tantivy, so such values are not indexed as IDs.
_ID_RE = re.compile(r"[a-z0-9]+")


def tag(kind: str, value: str) -> str:
    """The index term for a filter value (case-insensitive, whitespace-normalized)."""
    folded = " ".join(value.casefold().split())
    digest = hashlib.blake2b(folded.encode(), digest_size=6).hexdigest()
    return TAG_PREFIX[kind] + digest


def parse_date(value: str | None) -> date | None:
    """ISO date or None (anything unparsable counts as missing)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def accession_number(accession: str) -> int:
    """Numeric part of a GEO accession; a stable 30-bit hash for anything else."""
    m = ACCESSION_RE.match(accession)
    if m:
        return int(m.group(2))
    return zlib.crc32(accession.encode()) & 0x3FFFFFFF


def date_key(day: date | None, number: int) -> int:
    """Unique descending-sort key: newer first, ties by accession, missing dates last."""
    rank = 0 if day is None else max(day.toordinal() - _EPOCH, 0) + 1
    return (rank << _KEY_SHIFT) | number


def samples_key(n_samples: int | None, number: int) -> int:
    """Unique descending-sort key: larger series first, missing counts last."""
    rank = 0 if n_samples is None else max(n_samples, 0) + 1
    return (rank << _KEY_SHIFT) | number


def samples_bucket(n_samples: int | None) -> int:
    """Index into SAMPLE_BUCKETS (UNKNOWN_BUCKET when missing)."""
    if n_samples is None:
        return UNKNOWN_BUCKET
    for i, (upper, _) in enumerate(SAMPLE_BUCKETS):
        if upper is None or n_samples <= upper:
            return i
    return UNKNOWN_BUCKET  # unreachable: the last bucket is open-ended


@dataclass(slots=True)
class IndexedDoc:
    """One series as both engines index it."""

    accession: str
    texts: dict[str, str]  # field -> analyzed text (space-joined stems)
    words: str  # distinct surface words of all text: the spelling vocabulary
    tags: list[str]
    ids: list[str]  # lower-case accessions and PMIDs this series answers to
    organisms: list[str]
    types: list[str]
    platforms: list[str]
    annotations: dict[str, list[str]]  # ANNOTATION_FACETS name -> facet values
    year: int | None
    n_samples: int | None
    date_key: int
    samples_key: int
    samples_bucket: int
    show: bytes  # orjson of what a result row displays


def _dedup(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in (" ".join(x.split()) for x in values) if v))


def index_doc(doc: SearchDoc) -> IndexedDoc:
    """Analyze one SearchDoc into the fields both engines index."""
    texts: dict[str, str] = {}
    surface: dict[str, None] = {}
    for name, raw in zip(
        TEXT_FIELDS, (doc.title, doc.summary, doc.overall_design, doc.extra_text), strict=True
    ):
        ws = words(raw or "")
        surface.update(dict.fromkeys(ws))
        texts[name] = " ".join(stem_words(ws))
    organisms, types = _dedup(doc.organisms), _dedup(doc.types)
    platforms = [p.upper() for p in _dedup(doc.platforms)]
    raw_data = [r.upper() for r in _dedup(doc.supplementary_types)]
    tags = [ALL_TAG]
    tags += [tag("organism", v) for v in organisms]
    tags += [tag("type", v) for v in types]
    tags += [tag("platform", v) for v in platforms]
    tags += [tag("raw_data", v) for v in raw_data]
    annotations: dict[str, list[str]] = {}
    for name in ANNOTATION_FACETS:
        values = _dedup(doc.annotations.get(name, []))[:MAX_ANNOTATIONS_PER_FACET]
        if values:
            annotations[name] = values
            tags += [tag(name, v) for v in values]
    # Every characteristic key of the samples, including keys whose values are too
    # many to be facet values (ages, donor IDs): "series with an age characteristic".
    tags += [
        tag("characteristic_key", k) for k in _dedup(doc.annotations.get("characteristic_key", []))
    ]
    ids = [doc.accession, *doc.samples, *doc.platforms, *doc.datasets, *doc.pubmed_ids]
    day = parse_date(doc.release_date)
    number = accession_number(doc.accession)
    n_samples = doc.n_samples if doc.n_samples is None or doc.n_samples >= 0 else None
    show = orjson.dumps({
        "a": doc.accession, "t": doc.title or "", "s": doc.summary or "",
        "o": organisms, "y": types, "p": platforms, "n": n_samples,
        "d": day.isoformat() if day else None, "m": list(doc.pubmed_ids),
    })  # fmt: skip
    return IndexedDoc(
        accession=doc.accession,
        texts=texts,
        words=" ".join(surface),
        tags=list(dict.fromkeys(tags)),
        ids=list(dict.fromkeys(i for i in (x.strip().lower() for x in ids) if _ID_RE.fullmatch(i))),
        organisms=organisms,
        types=types,
        platforms=platforms,
        annotations=annotations,
        year=day.year if day else None,
        n_samples=n_samples,
        date_key=date_key(day, number),
        samples_key=samples_key(n_samples, number),
        samples_bucket=samples_bucket(n_samples),
        show=show,
    )
