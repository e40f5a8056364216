"""GEO header fields -> model records, shared by the SOFT and series-matrix parsers.

Both formats carry the same ``!Series_key``/``!Sample_key``/``!Platform_key``
vocabulary; they differ only in line syntax. The parsers collect a record's
header lines into :data:`Fields` (key lower-cased and without its ``Series_``/
``Sample_``/... prefix, values in file order) and the ``build_*`` functions here
turn that into model records.

Mapping rules:

* Keys mapped to a model field are consumed; every other key goes to ``extra``.
* Fields *derived* from a line rather than copied from it keep the raw line in
  ``extra`` too (``relation`` -> ``sra``, ``supplementary_file`` ->
  ``supplementary_types``, ``submission_date``), because the derivation loses
  information a later consumer may want.
* A value that should be an accession or PMID but is not stays in ``extra``
  under its own key instead of vanishing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator

from omicsoracle import model
from omicsoracle.formats.text import parse_count

Fields = dict[str, list[str]]
"""Header lines of one record: normalized key -> values in file order."""

# First component of a GEO key that names the record type, not the field.
_KEY_PREFIXES = frozenset(
    {"series", "sample", "platform", "dataset", "annotation", "subset", "database"}
)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}

# Compression suffixes are not the file type: "counts.csv.gz" is a CSV.
_COMPRESSION = frozenset({"gz", "bz2", "xz", "z", "lzma", "zst"})


def normalize_key(raw: str) -> str:
    """``"Series_sample_id"`` -> ``"sample_id"``; keys without a known prefix are kept.

    Old (2001-era) files and GDS files mix capitalisation (``!dataset_title``,
    ``!Sample_title``), so keys are lower-cased.
    """
    key = raw.strip().lower()
    head, sep, rest = key.partition("_")
    if sep and head in _KEY_PREFIXES and rest:
        return rest
    return key


def iso_date(value: str | None) -> str | None:
    """GEO dates -> ``YYYY-MM-DD``; None when the text is not a recognisable date.

    Accepts ``"Public on Jan 15 2017"``, ``"Jan 15 2017"``, ``"Jan 15, 2017"``,
    ``"15 Jan 2017"``, ``"06/20/2008 15:39:40"`` (annotation files) and ISO dates.
    """
    if not value:
        return None
    text = value.strip()
    if text[:10].lower() == "public on ":
        text = text[10:]
    parts = text.replace(",", " ").split()
    if not parts:
        return None
    try:
        if len(parts) == 3 and parts[0][:3].lower() in _MONTHS:
            return dt.date(int(parts[2]), _MONTHS[parts[0][:3].lower()], int(parts[1])).isoformat()
        if len(parts) == 3 and parts[1][:3].lower() in _MONTHS:
            return dt.date(int(parts[2]), _MONTHS[parts[1][:3].lower()], int(parts[0])).isoformat()
        first = parts[0]
        if first.count("/") == 2:
            month, day, year = first.split("/")
            return dt.date(int(year), int(month), int(day)).isoformat()
        if first.count("-") == 2:
            return dt.date.fromisoformat(first[:10]).isoformat()
    except ValueError:
        return None
    return None


def person_name(value: str) -> str | None:
    """GEO's ``"First,Middle,Last"`` -> ``"First Middle Last"`` (``",,GEO"`` -> ``"GEO"``)."""
    name = " ".join(part.strip() for part in value.split(",") if part.strip())
    return name or None


def supplementary_type(url: str) -> str | None:
    """File type of a supplementary file: its last non-compression extension, upper-cased."""
    name = url.strip().rstrip("/").rsplit("/", 1)[-1]
    if not name or name.upper() == "NONE" or "." not in name:
        return None
    exts = name.split(".")[1:]
    if exts[-1].lower() == "tgz":
        return "TAR"
    while len(exts) > 1 and exts[-1].lower() in _COMPRESSION:
        exts.pop()
    return exts[-1].upper() or None


def sra_accession(relation: str) -> str | None:
    """``"SRA: https://www.ncbi.nlm.nih.gov/sra?term=SRP108660"`` -> ``"SRP108660"``."""
    label, sep, target = relation.partition(":")
    if not sep or label.strip().upper() != "SRA":
        return None
    target = target.strip()
    for marker in ("term=", "acc="):
        _, found, tail = target.partition(marker)
        if found:
            return tail.split("&", 1)[0].strip() or None
    return target.rstrip("/").rsplit("/", 1)[-1] or None


def characteristic(value: str) -> tuple[str, str]:
    """``"tissue: liver"`` -> ``("tissue", "liver")``; no colon -> ``("", value)``."""
    key, sep, rest = value.partition(":")
    if not sep:
        return "", value.strip()
    return key.strip(), rest.strip()


def accession_tokens(values: Iterable[str], prefix: str) -> tuple[list[str], list[str]]:
    """Accessions of family ``prefix`` in ``values`` (comma/space separated).

    Returns (valid accessions without duplicates, raw values holding anything else).
    Series-matrix files pack all sample ids into one space-separated value, GDS
    subsets use commas, SOFT repeats the line: all three pass through here.
    """
    found: dict[str, None] = {}
    bad: list[str] = []
    for value in values:
        tokens = value.replace(",", " ").split()
        ok = [t for t in tokens if t.startswith(prefix) and model.ACCESSION_RE.match(t)]
        found.update(dict.fromkeys(ok))
        if len(ok) != len(tokens):
            bad.append(value)
    return list(found), bad


def declared_rows(fields: Fields) -> int | None:
    """The row count the header declares for the record's data table, if any."""
    for key in ("data_row_count", "feature_count", "row_count"):
        for value in fields.get(key, ()):
            number = parse_count(value)
            if number is not None:
                return number
    return None


def _first(values: list[str] | None) -> str | None:
    for value in values or ():
        if value:
            return value
    return None


def _text(values: list[str] | None) -> str | None:
    """Multi-line text fields (summary, description): lines joined with newlines."""
    joined = "\n".join(values or ()).strip()
    return joined or None


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _take_date(fields: Fields, key: str, keep_raw: bool = False) -> str | None:
    """Parse ``fields[key]`` as a date; an unparseable value stays in ``extra``."""
    raw = _first(fields.get(key))
    date = iso_date(raw)
    if date is not None and not keep_raw:
        del fields[key]
    return date


def _take_int(fields: Fields, key: str) -> int | None:
    raw = _first(fields.get(key))
    if raw is None:
        return None
    number = parse_count(raw)
    if number is None:
        return None  # left in extra
    del fields[key]
    return number


def _take_ids(fields: Fields, key: str, prefix: str) -> list[str]:
    ids, bad = accession_tokens(fields.pop(key, ()), prefix)
    if bad:
        fields[key] = bad
    return ids


def _take_id(fields: Fields, key: str, prefix: str) -> str | None:
    """A single-valued accession field; further accessions stay in ``extra``."""
    ids = _take_ids(fields, key, prefix)
    if len(ids) > 1:
        fields.setdefault(key, []).extend(ids[1:])
    return ids[0] if ids else None


def _take_pmids(fields: Fields, key: str = "pubmed_id") -> list[str]:
    pmids: dict[str, None] = {}
    bad: list[str] = []
    for value in fields.pop(key, ()):
        tokens = value.replace(",", " ").split()
        ok = [t for t in tokens if model.PMID_RE.match(t)]
        pmids.update(dict.fromkeys(ok))
        if len(ok) != len(tokens):
            bad.append(value)
    if bad:
        fields[key] = bad
    return list(pmids)


def _release_date(fields: Fields) -> str | None:
    """Release date from ``status`` ("Public on ..."), else the submission date."""
    date = iso_date(_first(fields.get("status")))
    if date is not None:
        del fields["status"]
        return date
    # Old files without a parseable status: submission is the best bound we have.
    return _take_date(fields, "submission_date", keep_raw=True)


def _supplementary_types(fields: Fields) -> list[str]:
    types: list[str] = []
    for key, values in fields.items():
        if key.startswith("supplementary_file"):
            types.extend(t for t in map(supplementary_type, values) if t)
    return _unique(types)


def _column_lines(columns: list[tuple[str, str]]) -> list[str]:
    return [f"{name} = {desc}".rstrip() for name, desc in columns]


def build_series(accession: str, fields: Fields, source: str) -> model.Series:
    """A Series from its header fields (``fields`` is not modified)."""
    f = {k: list(v) for k, v in fields.items()}
    f.pop("geo_accession", None)
    samples = _take_ids(f, "sample_id", "GSM")
    organisms: list[str] = []
    for key in ("sample_organism", "platform_organism", "organism"):
        if f.get(key):
            organisms = _unique(f.pop(key))
            break
    contact_key = "contact_name" if "contact_name" in f else "submitter_name"
    return model.Series(
        accession=accession,
        source=source,
        title=_first(f.pop("title", None)),
        summary=_text(f.pop("summary", None)),
        overall_design=_text(f.pop("overall_design", None)),
        organisms=organisms,
        types=_unique(f.pop("type", ())),
        platforms=_take_ids(f, "platform_id", "GPL"),
        samples=samples,
        n_samples=len(samples) if samples else None,
        release_date=_release_date(f),
        last_update_date=_take_date(f, "last_update_date"),
        pubmed_ids=_take_pmids(f),
        contact=person_name(_first(f.pop(contact_key, None)) or ""),
        sra=_unique(s for s in map(sra_accession, f.get("relation", ())) if s),
        supplementary_types=_supplementary_types(f),
        extra=f,
    )


def build_sample(
    accession: str, fields: Fields, source: str, columns: list[tuple[str, str]] | None = None
) -> model.Sample:
    """A Sample from its header fields; ``columns`` (``#NAME = desc``) go to ``extra``."""
    f = {k: list(v) for k, v in fields.items()}
    f.pop("geo_accession", None)
    organisms = _unique([*f.pop("organism_ch1", ()), *f.pop("organism", ())])
    source_name = None
    # 2001-era files name the biological source "target_source" (dual channel: "...1").
    for key in ("source_name_ch1", "source_name", "target_source", "target_source1"):
        if f.get(key):
            source_name = _first(f.pop(key))
            break
    series = _take_ids(f, "series_id", "GSE")
    molecule_key = "molecule_ch1" if "molecule_ch1" in f else "molecule"
    if columns:
        f.setdefault("columns", []).extend(_column_lines(columns))
    return model.Sample(
        accession=accession,
        source=source,
        title=_first(f.pop("title", None)),
        series=series,
        platform=_take_id(f, "platform_id", "GPL"),
        organisms=organisms,
        source_name=source_name,
        characteristics=[characteristic(v) for v in f.pop("characteristics_ch1", ()) if v],
        molecule=_first(f.pop(molecule_key, None)),
        sample_type=_first(f.pop("type", None)),
        description=_text(f.pop("description", None)),
        release_date=_release_date(f),
        last_update_date=_take_date(f, "last_update_date"),
        n_rows=_take_int(f, "data_row_count"),
        extra=f,
    )


def build_platform(
    accession: str, fields: Fields, source: str, columns: list[tuple[str, str]] | None = None
) -> model.Platform:
    """A Platform from a ``^PLATFORM`` block or a GPL annotation (``^Annotation``) header."""
    f = {k: list(v) for k, v in fields.items()}
    f.pop("geo_accession", None)
    f.pop("platform", None)  # annotation files: the accession itself
    title = _first(f.pop("title", None)) or _first(f.pop("platform_title", None))
    organisms = _unique([*f.pop("organism", ()), *f.pop("platform_organism", ())])
    return model.Platform(
        accession=accession,
        source=source,
        title=title,
        technology=_first(f.pop("technology", None)),
        distribution=_first(f.pop("distribution", None)),
        organisms=organisms,
        manufacturer=_first(f.pop("manufacturer", None)),
        release_date=_release_date(f),
        last_update_date=_take_date(f, "last_update_date"),
        n_rows=_take_int(f, "data_row_count" if "data_row_count" in f else "row_count"),
        columns=list(columns or ()),
        extra=f,
    )


def build_dataset(
    accession: str,
    fields: Fields,
    source: str,
    subsets: list[model.DatasetSubset],
    columns: list[tuple[str, str]] | None = None,
) -> model.Dataset:
    """A GDS Dataset from its ``!dataset_*`` fields and parsed subsets."""
    f = {k: list(v) for k, v in fields.items()}
    organisms = _unique([*f.pop("platform_organism", ()), *f.pop("sample_organism", ())])
    if columns:
        f.setdefault("columns", []).extend(_column_lines(columns))
    return model.Dataset(
        accession=accession,
        source=source,
        title=_first(f.pop("title", None)),
        description=_text(f.pop("description", None)),
        dataset_type=_first(f.pop("type", None)),
        platform=_take_id(f, "platform", "GPL"),
        organisms=organisms,
        reference_series=_take_id(f, "reference_series", "GSE"),
        pubmed_ids=_take_pmids(f),
        value_type=_first(f.pop("value_type", None)),
        n_samples=_take_int(f, "sample_count"),
        n_features=_take_int(f, "feature_count"),
        update_date=_take_date(f, "update_date"),
        subsets=subsets,
        extra=f,
    )


def series_relationships(series: model.Series) -> Iterator[model.Relationship]:
    """The series' own papers: one "primary" link per PubMed id."""
    for pmid in series.pubmed_ids:
        yield model.Relationship(series.accession, pmid, "primary", series.source, 1.0)


def dataset_relationships(dataset: model.Dataset) -> Iterator[model.Relationship]:
    """A GDS links its reference series to its PubMed ids (curated by GEO staff)."""
    # Further reference series (rare) stay in extra, next to any malformed value.
    more, _ = accession_tokens(dataset.extra.get("reference_series", ()), "GSE")
    for gse in _unique([dataset.reference_series or "", *more]):
        for pmid in dataset.pubmed_ids:
            yield model.Relationship(gse, pmid, "primary", "geo_gds", 1.0)
