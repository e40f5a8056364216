"""What the search index holds for one series, built from the store."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class SearchDoc:
    """One searchable series with everything search, filters and facets need.

    Built by ``Store.search_docs``; both engines index exactly this, so their
    match sets agree.
    """

    accession: str
    title: str = ""
    summary: str = ""
    overall_design: str = ""
    organisms: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    n_samples: int | None = None
    release_date: str | None = None  # ISO YYYY-MM-DD
    pubmed_ids: list[str] = field(default_factory=list)
    supplementary_types: list[str] = field(default_factory=list)  # "CEL", "FASTQ", "TXT", ...
    samples: list[str] = field(default_factory=list)  # GSM accessions (accession lookup)
    datasets: list[str] = field(default_factory=list)  # GDS accessions (accession lookup)
    # Extra text that helps matching but is not shown: sample titles/characteristics,
    # GDS subset descriptions, linked article titles and MeSH terms.
    extra_text: str = ""
    # Enrichment facets (base.ANNOTATION_FACETS) -> values: extracted entities of the
    # series and its linked records, and its samples' characteristics as "key: value";
    # plus "characteristic_key": every characteristic key (a filter, not a facet).
    annotations: dict[str, list[str]] = field(default_factory=dict)
