"""Domain records: what every parser yields and every store keeps.

The model knows nothing about files or databases (anndata's rule): parsers in
``omicsoracle.formats`` build these records, ``omicsoracle.store`` persists them.
Lists are used for multi-valued GEO fields because GEO repeats keys
(``!Series_sample_id`` once per sample) and order matters for display.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

# GEO accession families. GDS are curated DataSets, the rest are submitter records.
ACCESSION_RE = re.compile(r"^(GSE|GSM|GPL|GDS)([1-9][0-9]{0,8})$")
PMID_RE = re.compile(r"^[1-9][0-9]{0,8}$")

RecordType = Literal["series", "sample", "platform", "dataset", "publication"]


@dataclass(slots=True)
class Series:
    """A GEO series (GSE): one study, its samples and platforms."""

    accession: str
    source: str  # provenance key, see omicsoracle.merge.FIELD_PRIORITY
    title: str | None = None
    summary: str | None = None
    overall_design: str | None = None
    organisms: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    platforms: list[str] = field(default_factory=list)
    samples: list[str] = field(default_factory=list)
    n_samples: int | None = None
    release_date: str | None = None  # ISO YYYY-MM-DD
    last_update_date: str | None = None  # ISO YYYY-MM-DD
    pubmed_ids: list[str] = field(default_factory=list)
    contact: str | None = None
    sra: list[str] = field(default_factory=list)
    supplementary_types: list[str] = field(default_factory=list)
    geo_uid: str | None = None
    datasets: list[str] = field(default_factory=list)  # GDS accessions
    # Every other "!Series_key = value" line, keys without the "Series_" prefix.
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Sample:
    """A GEO sample (GSM)."""

    accession: str
    source: str
    title: str | None = None
    series: list[str] = field(default_factory=list)
    platform: str | None = None
    organisms: list[str] = field(default_factory=list)
    source_name: str | None = None
    # "tissue: liver" lines as (key, value); key is "" when the line has no colon.
    characteristics: list[tuple[str, str]] = field(default_factory=list)
    molecule: str | None = None
    sample_type: str | None = None
    description: str | None = None
    release_date: str | None = None
    last_update_date: str | None = None
    n_rows: int | None = None  # rows in its data table, when the file carries one
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Platform:
    """A GEO platform (GPL): an array design or a sequencer."""

    accession: str
    source: str
    title: str | None = None
    technology: str | None = None
    distribution: str | None = None
    organisms: list[str] = field(default_factory=list)
    manufacturer: str | None = None
    release_date: str | None = None
    last_update_date: str | None = None
    n_rows: int | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, description)
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class DatasetSubset:
    """A GDS subset: the samples sharing one value of an experimental variable."""

    id: str  # GDS507_1
    type: str  # "disease state"
    description: str  # "RCC"
    samples: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Dataset:
    """A curated GEO DataSet (GDS) with its subsets."""

    accession: str
    source: str
    title: str | None = None
    description: str | None = None
    dataset_type: str | None = None
    platform: str | None = None
    organisms: list[str] = field(default_factory=list)
    reference_series: str | None = None
    pubmed_ids: list[str] = field(default_factory=list)
    value_type: str | None = None
    n_samples: int | None = None
    n_features: int | None = None
    update_date: str | None = None
    subsets: list[DatasetSubset] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class DataTable:
    """A slice of the data table that follows a GSM, GPL or GDS record.

    Tables are yielded in bounded chunks (``seq`` = 0, 1, ...) so a 1 GB file
    never needs the whole table in memory.
    """

    owner: str  # accession of the record the table belongs to
    seq: int
    columns: list[str]
    rows: list[list[str]]


@dataclass(slots=True)
class Author:
    last_name: str | None = None
    fore_name: str | None = None
    initials: str | None = None
    collective: str | None = None  # consortium name, when the author is a group
    affiliations: list[str] = field(default_factory=list)


@dataclass(slots=True)
class MeshHeading:
    descriptor: str
    major: bool = False
    qualifiers: list[str] = field(default_factory=list)
    ui: str | None = None


@dataclass(slots=True)
class Publication:
    """A PubMed article."""

    pmid: str
    source: str
    title: str | None = None
    abstract: str | None = None
    journal: str | None = None
    year: int | None = None
    pub_date: str | None = None  # as precise as the record allows: YYYY, YYYY-MM or YYYY-MM-DD
    doi: str | None = None
    language: str | None = None
    authors: list[Author] = field(default_factory=list)
    mesh: list[MeshHeading] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    publication_types: list[str] = field(default_factory=list)
    # GEO accessions from the DataBankList (DataBankName "GEO").
    geo_accessions: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PublicationDeletion:
    """PubMed's ``DeleteCitation``: these PMIDs are withdrawn."""

    pmids: list[str]


@dataclass(slots=True)
class Relationship:
    """A series-publication link with where it came from and how sure it is."""

    series: str
    pmid: str
    relation: str  # "primary" (the series' own paper) or "mentions" (article cites it)
    source: str  # "geo_soft", "geo_miniml", "geo_browse_csv", "pubmed_databank", ...
    confidence: float


@dataclass(slots=True)
class Rejected:
    """A record a parser could not accept. Parsers yield it and go on."""

    line: int | None  # 1-based line (or record start line) in the decompressed text
    record: str | None  # accession/PMID when known, else a description
    reason: str


Record = (
    Series
    | Sample
    | Platform
    | Dataset
    | DataTable
    | Publication
    | PublicationDeletion
    | Relationship
    | Rejected
)
