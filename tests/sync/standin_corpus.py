"""The records the E-utilities stand-in serves, built from real GEO and PubMed files.

Kept apart from the HTTP server (tests/sync/standin.py) so the server module stays
about protocol and faults. Everything here is deterministic: the same arguments give
the same records, uids, dates, GSM ids and PubMed links on every run.

Sources (all real, see tests/data/PROVENANCE.md and data/PROVENANCE.md):
- ``data/corpus/geo_series.jsonl.gz``: series title/summary/design/organisms/types/
  platforms/n_samples/geo_uid. It has no sample lists, so GSM ids are invented
  (``GSM9000000`` upwards, in corpus order) and titled ``"<series title> sample k"``.
- ``tests/data/soft/GSE87585|GSE93431|GSE94489_family.soft.gz``: three series with
  their real titles, samples (ids, titles, characteristics) and PubMed ids; their
  family SOFT is served byte for byte.
- ``tests/data/soft/GDS507.soft.gz`` header: a real DataSet (entrytype GDS).
- PubMed articles of ``tests/data/eutils/efetch.pubmed.xml``,
  ``tests/data/pubmed/pubmed26n1334.xml.gz`` and ``pubmedsample_2019.xml.gz``,
  kept as the serialized ``<PubmedArticle>`` element per PMID.
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from lxml import etree

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "data" / "corpus" / "geo_series.jsonl.gz"
SOFT_DIR = REPO / "tests" / "data" / "soft"
REAL_SOFT = ("GSE87585", "GSE93431", "GSE94489")
GDS_FILES = ("GDS507",)
ARTICLE_FILES = (
    REPO / "tests" / "data" / "eutils" / "efetch.pubmed.xml",
    REPO / "tests" / "data" / "pubmed" / "pubmed26n1334.xml.gz",
    REPO / "tests" / "data" / "pubmed" / "pubmedsample_2019.xml.gz",
)
FIRST_INVENTED_GSM = 9_000_000
SERIES_UID_BASE = 200_000_000
# One corpus series in LINK_EVERY gets a real fixture PMID (so efetch returns a real article).
LINK_EVERY = 4


@dataclass(frozen=True, slots=True)
class Sample:
    """A GSM of a served record."""

    accession: str
    title: str
    characteristics: tuple[str, ...] = ()
    organism: str = ""


@dataclass(frozen=True, slots=True)
class GeoRecord:
    """One served db=gds document (a series, entrytype GSE, or a DataSet, entrytype GDS)."""

    uid: str
    accession: str
    entrytype: str  # "GSE" or "GDS"
    title: str
    summary: str
    pdat: dt.date
    mdat: dt.date
    taxa: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    platforms: tuple[str, ...] = ()  # GPL accessions
    samples: tuple[Sample, ...] = ()
    pubmedids: tuple[int, ...] = ()
    overall_design: str = ""
    suppfile: str = ""
    gse: str = ""  # GDS: number(s) of its reference series
    ptechtype: str = ""
    valtype: str = ""
    ssinfo: str = ""
    subsetinfo: str = ""
    soft_file: Path | None = None  # real family SOFT to serve instead of a generated one

    @property
    def number(self) -> int:
        """The numeric part of the accession (GSE87585 -> 87585)."""
        return int(self.accession[3:])

    def with_changes(self, **changes: object) -> GeoRecord:
        """A copy with some fields replaced (used by ``modify``)."""
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(slots=True)
class Corpus:
    """The loaded records plus the article store."""

    records: list[GeoRecord] = field(default_factory=list)
    articles: dict[int, bytes] = field(default_factory=dict)


def series_uid(accession: str) -> str:
    """GEO's uid for a series: 200000000 + its number."""
    return str(SERIES_UID_BASE + int(accession[3:]))


def spread(index: int, total: int, start: dt.date, end: dt.date) -> tuple[dt.date, dt.date]:
    """Deterministic (pdat, mdat) of record ``index`` of ``total`` over [start, end].

    pdat walks the range evenly; mdat is pdat plus 0..29 days (capped at ``end``) so a
    modification-date window and a publication-date window select different records.
    """
    span = max((end - start).days, 0)
    pdat = start + dt.timedelta(days=(index * span) // max(total - 1, 1) if total > 1 else 0)
    mdat = min(pdat + dt.timedelta(days=(index * 7) % 30), end)
    return pdat, mdat


def load(limit: int, start: dt.date, end: dt.date, *, include_real_soft: bool = True) -> Corpus:
    """Build the served corpus: ``limit`` corpus series + the real SOFT series + GDS507."""
    articles = load_articles()
    pmids = sorted(articles)
    raw = list(_corpus_rows(limit))
    extra: list[GeoRecord] = []
    if include_real_soft:
        extra.extend(_soft_series(SOFT_DIR / f"{acc}_family.soft.gz") for acc in REAL_SOFT)
        extra.extend(_dataset(SOFT_DIR / f"{acc}.soft.gz") for acc in GDS_FILES)
    total = len(raw) + len(extra)
    records: list[GeoRecord] = []
    next_gsm = FIRST_INVENTED_GSM
    for i, row in enumerate(raw):
        pdat, mdat = spread(i, total, start, end)
        linked: tuple[int, ...] = ()
        if pmids and i % LINK_EVERY == 0:
            linked = (pmids[(i // LINK_EVERY) % len(pmids)],)
        rec, next_gsm = _from_corpus_row(row, pdat, mdat, linked, next_gsm)
        records.append(rec)
    for j, rec in enumerate(extra):
        pdat, mdat = spread(len(raw) + j, total, start, end)
        records.append(rec.with_changes(pdat=pdat, mdat=mdat))
    return Corpus(records=records, articles=articles)


def _corpus_rows(limit: int) -> Iterator[dict[str, object]]:
    seen: set[str] = set()
    with gzip.open(CORPUS, "rt", encoding="utf-8") as fh:
        for line in fh:
            if len(seen) >= limit:
                return
            row = json.loads(line)
            acc = str(row.get("accession", ""))
            # The real SOFT series are added from their files; skip duplicates.
            if not acc.startswith("GSE") or acc in seen or acc in REAL_SOFT:
                continue
            seen.add(acc)
            yield row


def _strs(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list) else ()


def _from_corpus_row(
    row: dict[str, object], pdat: dt.date, mdat: dt.date, pmids: tuple[int, ...], next_gsm: int
) -> tuple[GeoRecord, int]:
    acc = str(row["accession"])
    title = str(row.get("title") or acc)
    taxa = _strs(row.get("organisms"))
    n = row.get("n_samples")
    # The corpus has no sample lists; a series without a count still gets 2 samples.
    n_samples = n if isinstance(n, int) and n > 0 else 2
    organism = taxa[0] if taxa else ""
    samples = tuple(
        Sample(
            accession=f"GSM{next_gsm + k}",
            title=f"{title} sample {k + 1}",
            characteristics=(f"replicate: {k + 1}", f"group: {'AB'[k % 2]}"),
            organism=organism,
        )
        for k in range(n_samples)
    )
    formats = _strs(row.get("supplementary_formats"))
    rec = GeoRecord(
        uid=str(row.get("geo_uid") or series_uid(acc)),
        accession=acc,
        entrytype="GSE",
        title=title,
        summary=str(row.get("summary") or ""),
        overall_design=str(row.get("overall_design") or ""),
        pdat=pdat,
        mdat=mdat,
        taxa=taxa,
        types=_strs(row.get("types")),
        platforms=_strs(row.get("platforms")),
        samples=samples,
        pubmedids=pmids,
        suppfile=", ".join(formats),
    )
    return rec, next_gsm + n_samples


def _soft_fields(path: Path, stop_at_table: bool = False) -> list[tuple[str, str, str]]:
    """(block type, key, value) of every ``!key = value`` line; block type from ``^`` lines."""
    out: list[tuple[str, str, str]] = []
    block = ""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.rstrip("\r\n")
            if line.startswith("^"):
                block = line[1:].split("=", 1)[0].strip().upper()
                out.append((block, "^", line.split("=", 1)[1].strip()))
            elif line.startswith("!"):
                key, _, value = line[1:].partition("=")
                lkey = key.strip().lower()
                if stop_at_table and lkey.endswith("_table_begin"):
                    break
                out.append((block, lkey, value.strip()))
    return out


def _soft_series(path: Path) -> GeoRecord:
    fields = _soft_fields(path)
    series = {
        k: [v for b, kk, v in fields if b == "SERIES" and kk == k]
        for k in (
            "series_title",
            "series_summary",
            "series_overall_design",
            "series_type",
            "series_platform_id",
            "series_pubmed_id",
            "series_geo_accession",
        )
    }
    samples: list[Sample] = []
    current: dict[str, list[str]] | None = None
    acc = ""
    for block, key, value in [*fields, ("END", "^", "")]:
        if key == "^":
            if current is not None:
                samples.append(
                    Sample(
                        accession=acc,
                        title=(current.get("sample_title") or [acc])[0],
                        characteristics=tuple(current.get("sample_characteristics_ch1", [])),
                        organism=(current.get("sample_organism_ch1") or [""])[0],
                    )
                )
            current = {} if block == "SAMPLE" else None
            acc = value
        elif current is not None:
            current.setdefault(key, []).append(value)
    accession = series["series_geo_accession"][0]
    taxa = tuple(dict.fromkeys(s.organism for s in samples if s.organism))
    return GeoRecord(
        uid=series_uid(accession),
        accession=accession,
        entrytype="GSE",
        title=series["series_title"][0],
        summary=" ".join(series["series_summary"]),
        overall_design=" ".join(series["series_overall_design"]),
        pdat=dt.date(2000, 1, 1),
        mdat=dt.date(2000, 1, 1),
        taxa=taxa,
        types=tuple(series["series_type"]),
        platforms=tuple(series["series_platform_id"]),
        samples=tuple(samples),
        pubmedids=tuple(int(p) for p in series["series_pubmed_id"] if p.isdigit()),
        soft_file=path,
    )


def _dataset(path: Path) -> GeoRecord:
    fields = _soft_fields(path, stop_at_table=True)
    ds = {k: v for b, k, v in fields if b == "DATASET"}
    subsets: dict[str, list[str]] = {}
    sample_ids: list[str] = []
    for block, key, value in fields:
        if block == "SUBSET" and key == "subset_type":
            subsets.setdefault(value, [])
        if block == "SUBSET" and key == "subset_sample_id":
            sample_ids.extend(s.strip() for s in value.split(","))
    accession = next(v for b, k, v in fields if b == "DATASET" and k == "^")
    samples = tuple(Sample(accession=s, title=s) for s in dict.fromkeys(sample_ids))
    organism = ds.get("dataset_sample_organism", "")
    return GeoRecord(
        uid=accession[3:],
        accession=accession,
        entrytype="GDS",
        title=ds.get("dataset_title", accession),
        summary=ds.get("dataset_description", ""),
        pdat=dt.date(2000, 1, 1),
        mdat=dt.date(2000, 1, 1),
        taxa=(organism,) if organism else (),
        types=("Expression profiling by array",),
        platforms=(ds["dataset_platform"],) if "dataset_platform" in ds else (),
        samples=tuple(replace(s, organism=organism) for s in samples),
        pubmedids=tuple(int(p) for p in [ds.get("dataset_pubmed_id", "")] if p.isdigit()),
        gse=ds.get("dataset_reference_series", "").removeprefix("GSE"),
        ptechtype=ds.get("dataset_platform_technology_type", ""),
        valtype=ds.get("dataset_value_type", ""),
        ssinfo=";".join(subsets),
        subsetinfo=";".join(subsets),
        suppfile="",
    )


def load_articles() -> dict[int, bytes]:
    """PMID -> serialized real ``<PubmedArticle>`` (first file wins on a duplicate PMID)."""
    out: dict[int, bytes] = {}
    for path in ARTICLE_FILES:
        data = path.read_bytes()
        if path.suffix == ".gz":
            data = gzip.decompress(data)
        context = etree.iterparse(
            io.BytesIO(data),
            events=("end",),
            tag="PubmedArticle",
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
        )
        for _event, elem in context:
            pmid = elem.findtext("MedlineCitation/PMID")
            if pmid and pmid.strip().isdigit() and int(pmid) not in out:
                elem.tail = None
                out[int(pmid)] = etree.tostring(elem, encoding="utf-8")
    return out


# ----------------------------------------------------------------- family SOFT


def _soft_date(day: dt.date) -> str:
    return day.strftime("%b %d %Y")


def _kv(key: str, value: str) -> list[str]:
    """``!key = value`` lines; a multi-line value becomes repeated keys, as GEO writes paragraphs."""
    parts = [p.strip() for p in value.splitlines() if p.strip()]
    return [f"!{key} = {p}" for p in parts] or [f"!{key} = "]


def family_soft(rec: GeoRecord) -> bytes:
    """The gzipped family SOFT of a series: the real file when there is one, else generated.

    The generated file holds ^SERIES (title, summary, overall design, types, sample ids,
    platforms, PubMed ids) and one ^SAMPLE block per sample with its characteristics,
    the fields GEO's real family files carry for these; gzip mtime 0 keeps it
    byte-identical between runs.
    """
    if rec.soft_file is not None:
        return rec.soft_file.read_bytes()
    lines = [
        "^DATABASE = GeoMiame",
        "!Database_name = Gene Expression Omnibus (GEO)",
        f"^SERIES = {rec.accession}",
        *_kv("Series_title", " ".join(rec.title.split())),
        f"!Series_geo_accession = {rec.accession}",
        f"!Series_status = Public on {_soft_date(rec.pdat)}",
        f"!Series_submission_date = {_soft_date(rec.pdat)}",
        f"!Series_last_update_date = {_soft_date(rec.mdat)}",
        *(f"!Series_pubmed_id = {p}" for p in rec.pubmedids),
        *_kv("Series_summary", rec.summary),
        *_kv("Series_overall_design", rec.overall_design),
        *(f"!Series_type = {t}" for t in rec.types),
        *(f"!Series_sample_id = {s.accession}" for s in rec.samples),
        *(f"!Series_platform_id = {p}" for p in rec.platforms),
    ]
    platform = rec.platforms[0] if rec.platforms else ""
    for s in rec.samples:
        lines += [
            f"^SAMPLE = {s.accession}",
            *_kv("Sample_title", " ".join(s.title.split())),
            f"!Sample_geo_accession = {s.accession}",
            f"!Sample_status = Public on {_soft_date(rec.pdat)}",
            "!Sample_channel_count = 1",
            *([f"!Sample_organism_ch1 = {s.organism}"] if s.organism else []),
            *(f"!Sample_characteristics_ch1 = {c}" for c in s.characteristics),
            *([f"!Sample_platform_id = {platform}"] if platform else []),
            f"!Sample_series_id = {rec.accession}",
        ]
    text = "\n".join(lines) + "\n"
    return gzip.compress(text.encode("utf-8"), mtime=0)
