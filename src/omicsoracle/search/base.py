"""The search interface every engine implements, with its request/response types.

Other modules (API, CLI, ingest) code against these names only; the engines live in
``tantivy_index`` and ``sql_fts`` and are opened through :func:`omicsoracle.search.open_index`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from omicsoracle.search.document import SearchDoc

SortOrder = Literal["relevance", "date", "samples"]
SORT_ORDERS: tuple[SortOrder, ...] = ("relevance", "date", "samples")
# A page is at most this long: deeper pages use the cursor, never a huge limit.
MAX_LIMIT = 200
MAX_FACET_SIZE = 1000
# Facets and filters from the enrichment step (omicsoracle.extraction): entities
# mentioned in a series, its samples, GDS and articles, and its samples' normalised
# characteristics ("tissue: liver"). Filled once ``enrich`` ran over the records.
ANNOTATION_FACETS = ("disease", "tissue", "cell_type", "cell_line", "gene", "characteristic")
LIST_FILTERS = ("organism", "type", "platform", "raw_data", *ANNOTATION_FACETS)
FACET_NAMES = ("organism", "type", "platform", "year", "samples", *ANNOTATION_FACETS)


class CursorExpired(Exception):
    """The index snapshot this cursor was paging is gone; the client must search again."""

    def __init__(self, message: str = "this result page's index snapshot is gone; search again"):
        super().__init__(message)


class InvalidCursor(ValueError):
    """The cursor is not one this index issued for this request (garbage or tampered)."""


@dataclass(frozen=True)
class SearchFilters:
    """Structured filters; values within one field are OR-ed, fields are AND-ed.

    ``organism`` accepts scientific or common names ("human"), ``type`` GEO series types
    or assay words ("rna-seq"), ``platform`` GPL accessions, ``raw_data`` supplementary
    file types ("CEL", "FASTQ"). Year and sample bounds are inclusive. The annotation
    filters take the values their facets show: ``disease``, ``tissue``, ``cell_type``,
    ``cell_line`` and ``gene`` extracted entities (case-insensitive), ``characteristic``
    a sample characteristic ``key: value`` (normalised like the stored ones, so
    ``Tissue:Liver`` finds ``tissue: liver``) or a bare key (series whose samples have it).
    """

    organism: tuple[str, ...] = ()
    type: tuple[str, ...] = ()
    platform: tuple[str, ...] = ()
    min_samples: int | None = None
    max_samples: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    raw_data: tuple[str, ...] = ()
    disease: tuple[str, ...] = ()
    tissue: tuple[str, ...] = ()
    cell_type: tuple[str, ...] = ()
    cell_line: tuple[str, ...] = ()
    gene: tuple[str, ...] = ()
    characteristic: tuple[str, ...] = ()

    @classmethod
    def build(
        cls,
        *,
        organism: Sequence[str] | None = None,
        type: Sequence[str] | None = None,
        platform: Sequence[str] | None = None,
        min_samples: int | None = None,
        max_samples: int | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
        raw_data: Sequence[str] | None = None,
        **annotations: Sequence[str] | None,
    ) -> SearchFilters:
        """Filters from optional lists, as the CLI and the API receive them.

        ``annotations`` are the ANNOTATION_FACETS filters by name; another name is a
        TypeError, as for any unknown keyword.
        """
        unknown = set(annotations) - set(ANNOTATION_FACETS)
        if unknown:
            raise TypeError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        return cls(
            organism=tuple(organism or ()),
            type=tuple(type or ()),
            platform=tuple(platform or ()),
            min_samples=min_samples,
            max_samples=max_samples,
            year_from=year_from,
            year_to=year_to,
            raw_data=tuple(raw_data or ()),
            **{k: tuple(v or ()) for k, v in annotations.items()},
        )

    def is_empty(self) -> bool:
        """True when no filter is set."""
        return self == SearchFilters()

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that are set, JSON-ready."""
        out: dict[str, Any] = {}
        for key in LIST_FILTERS:
            values = getattr(self, key)
            if values:
                out[key] = list(values)
        for key in ("min_samples", "max_samples", "year_from", "year_to"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


@dataclass(frozen=True)
class SearchRequest:
    """One search: user text, page size, optional cursor, filters and sort order."""

    query: str
    limit: int = 20
    cursor: str | None = None
    filters: SearchFilters = SearchFilters()
    sort: SortOrder = "relevance"
    # True: match the words as typed (no synonyms, corrections or filters from words).
    literal: bool = False
    # Values per list facet (default: engine.FACET_SIZES, 20 or so), up to what the
    # engine counts (tantivy: 100 per enrichment facet); for analyses over the facets.
    facet_size: int | None = None

    def __post_init__(self) -> None:
        # Validate here so every engine rejects the same requests the same way.
        if not isinstance(self.query, str):
            raise TypeError("query must be a string")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int):
            raise TypeError("limit must be an integer")
        if not 1 <= self.limit <= MAX_LIMIT:
            raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
        if self.sort not in SORT_ORDERS:
            raise ValueError(f"sort must be one of {', '.join(SORT_ORDERS)}")
        if self.facet_size is not None and not 1 <= self.facet_size <= MAX_FACET_SIZE:
            raise ValueError(f"facet_size must be between 1 and {MAX_FACET_SIZE}")


@dataclass(frozen=True)
class Snippet:
    """Plain text with highlight offsets ``[start, end)`` into that text (never HTML)."""

    text: str
    highlights: tuple[tuple[int, int], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON shape: ``{"text": ..., "highlights": [[start, end], ...]}``."""
        return {"text": self.text, "highlights": [[s, e] for s, e in self.highlights]}


@dataclass(frozen=True)
class SearchHit:
    """One result row as the page shows it."""

    accession: str
    title: str
    snippet: Snippet
    organisms: tuple[str, ...]
    types: tuple[str, ...]
    platforms: tuple[str, ...]
    n_samples: int | None
    release_date: str | None
    pubmed_ids: tuple[str, ...]
    score: float

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of one result."""
        return {
            "accession": self.accession,
            "title": self.title,
            "snippet": self.snippet.to_dict(),
            "organisms": list(self.organisms),
            "types": list(self.types),
            "platforms": list(self.platforms),
            "n_samples": self.n_samples,
            "release_date": self.release_date,
            "pubmed_ids": list(self.pubmed_ids),
            "score": self.score,
        }


@dataclass(frozen=True)
class FacetCount:
    """One facet bucket."""

    value: str
    count: int


@dataclass(frozen=True)
class SearchResponse:
    """A page of results plus total, facets over the whole match set and the next cursor.

    ``relaxed`` is True when no series matched every word, so the results are the
    series matching *some* of them (most first); total, facets and cursor then describe
    that relaxed match set.
    """

    query: str
    total: int
    results: tuple[SearchHit, ...]
    facets: dict[str, tuple[FacetCount, ...]]
    next_cursor: str | None = None
    did_you_mean: str | None = None
    interpreted: dict[str, Any] = field(default_factory=dict)
    relaxed: bool = False
    understood: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The API's JSON shape (see the search issue, point 7)."""
        return {
            "query": self.query,
            "total": self.total,
            "results": [hit.to_dict() for hit in self.results],
            "facets": {
                name: [{"value": b.value, "count": b.count} for b in self.facets.get(name, ())]
                for name in FACET_NAMES
            },
            "next_cursor": self.next_cursor,
            "did_you_mean": self.did_you_mean,
            "interpreted": self.interpreted,
            "relaxed": self.relaxed,
            "understood": self.understood,
        }


@runtime_checkable
class SearchIndex(Protocol):
    """What every engine offers; see ``open_index``."""

    name: str

    def applied_change_id(self) -> int:
        """Last store change id folded into the index (0 when new)."""
        ...

    def apply(self, docs: Sequence[SearchDoc], deleted: Sequence[str], upto_change_id: int) -> None:
        """Upsert docs by accession, delete accessions, record ``upto_change_id``: one commit."""
        ...

    def clear(self) -> None:
        """Empty the index and reset the applied change id to 0 (for a reindex)."""
        ...

    def search(self, request: SearchRequest) -> SearchResponse:
        """Run one search; raises InvalidCursor / CursorExpired for bad cursors only."""
        ...

    def scan(self, request: SearchRequest, page_size: int = MAX_LIMIT) -> Iterator[list[SearchHit]]:
        """Every match, page by page, on one snapshot that cannot expire (for exports)."""
        ...

    def similar(self, title: str, text: str, exclude: str, limit: int) -> list[SearchHit]:
        """More like this: series sharing the most distinctive words of title and text."""
        ...

    def refresh(self) -> None:
        """Pick up commits made by another process."""
        ...

    # Whether commit_stamp() is cheap enough for every request (no database round trip).
    cheap_commit_stamp: bool

    def commit_stamp(self) -> object | None:
        """A cheap value that changes on every commit of any process, if the engine has one.

        None: the engine cannot tell cheaply, and callers ask the store instead.
        """
        return None

    def doc_count(self) -> int:
        """Number of series in the current snapshot."""
        ...

    def close(self) -> None:
        """Release files, connections and snapshots."""
        ...
