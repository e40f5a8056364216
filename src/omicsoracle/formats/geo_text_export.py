"""GEO DataSets search results saved as "Summary (text)".

Records are numbered and separated by blank lines::

    1. Characterization of premature cell senescence in Alzheimer's disease ...
    (Submitter supplied) Aging is associated with cell senescence ... more...
    Organism:	Homo sapiens
    Type:		Expression profiling by high throughput sequencing
    Platform: GPL20301 49 Samples
    FTP download: GEO (RDS) ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE264nnn/GSE264648/
    Series		Accession: GSE264648	ID: 200264648

The last line names the entry type (Series, DataSet, Platform or Sample), the
accession and the Entrez UID. The counts line varies: ``Platforms: GPL1 GPL2 28
Samples``, ``Dataset: GDS5646 Platform: GPL10558 10 Samples``, ``4 related
Platforms 101 Samples``, and for a DataSet ``Platform: GPL570 Series: GSE7621 25
Samples``, so it is read by accession pattern rather than by position.
Summaries are cut by GEO and end in "more..."; such a summary is kept without
the marker and flagged with ``extra["summary_truncated"] = ["true"]``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from omicsoracle.formats import Format
from omicsoracle.formats.source import Source
from omicsoracle.formats.text import parse_count, repair_text, split_clean, strip_bom
from omicsoracle.model import ACCESSION_RE, Dataset, Platform, Record, Rejected, Sample, Series

SOURCE = "geo_text_export"
MAX_ENTRY_LINES = 200

_TITLE_RE = re.compile(r"^(\d+)\.\s+(.*)$")
_ENTRY_RE = re.compile(r"^(Series|DataSet|Platform|Sample)\t+Accession:\s*(\S+)(?:\s+ID:\s*(\d+))?")
_KEY_RE = re.compile(r"^([A-Z][A-Za-z ]{0,30}):\s*(.*)$")
# Lines that carry accessions and counts; "N related Platforms ..." has no colon.
_COUNTS_RE = re.compile(
    r"^(?:(?:Platforms?|Data[Ss]ets?|Series|Reference Series|Samples?):\s|\d+ related )"
)
_GPL_RE = re.compile(r"\bGPL[1-9][0-9]*\b")
_GSE_RE = re.compile(r"\bGSE[1-9][0-9]*\b")
_GDS_RE = re.compile(r"\bGDS[1-9][0-9]*\b")
_N_SAMPLES_RE = re.compile(r"\b(\d+) Samples?\b")
_N_RELATED_RE = re.compile(r"\b(\d+) related Platforms?\b")
_FTP_TYPES_RE = re.compile(r"\(([^)]*)\)")
_SRA_RE = re.compile(r"\b([SED]RP[0-9]+)\b")
_BIOPROJECT_RE = re.compile(r"\b(PRJ[NED][A-Z]?[0-9]+)\b")
_KNOWN_KEYS = frozenset(
    {"Organism", "Type", "FTP download", "SRA Run Selector", "Project", "Source name"}
)
_SUBMITTER = "(Submitter supplied)"
_MORE = "more..."
_PREFIX_OF = {"Series": "GSE", "DataSet": "GDS", "Platform": "GPL", "Sample": "GSM"}


@dataclass
class _Entry:
    """One numbered record, its lines sorted into fields."""

    start: int
    number: str | None = None
    title: str | None = None
    summary: list[str] = field(default_factory=list)
    fields: dict[str, list[str]] = field(default_factory=dict)
    kind: str | None = None
    accession: str | None = None
    uid: str | None = None

    def first(self, key: str) -> str | None:
        values = self.fields.get(key)
        return values[0] if values else None


def parse(source: Source) -> Iterator[Record]:
    """Stream one record per numbered entry: Series, Dataset, Platform or Sample.

    An entry without an accession line, or whose accession does not fit its
    type, is yielded as ``Rejected`` with the line the entry starts on.
    """
    entry: _Entry | None = None
    entry_lines = 0
    skipping = False  # inside an over-long entry, until the next blank line
    for lineno, line in source.lines():
        text = strip_bom(line) if lineno == 1 else line
        if not text.strip():
            if entry is not None:
                yield _build(entry)
                entry = None
            skipping = False
            continue
        if skipping:
            continue
        # A new number after a complete entry starts the next one even when the
        # separating blank line is missing.
        if entry is not None and entry.accession is not None and _TITLE_RE.match(text):
            yield _build(entry)
            entry = None
        if entry is None:
            entry = _Entry(start=lineno)
            entry_lines = 0
            m = _TITLE_RE.match(text)
            if m:
                entry.number, entry.title = m[1], repair_text(m[2])
                continue
        entry_lines += 1
        if entry_lines > MAX_ENTRY_LINES:
            # Not an export entry (real ones have < 15 lines): bound the memory.
            yield Rejected(entry.start, _label(entry), f"entry longer than {MAX_ENTRY_LINES} lines")
            entry = None
            skipping = True
            continue
        _add_line(entry, text)
    if entry is not None:
        yield _build(entry)


def _add_line(entry: _Entry, text: str) -> None:
    m = _ENTRY_RE.match(text)
    if m:
        entry.kind, entry.accession, entry.uid = m[1], m[2], m[3]
        return
    if _COUNTS_RE.match(text):
        entry.fields.setdefault("counts", []).append(text)
        return
    m = _KEY_RE.match(text)
    # A DataSet summary has no "(Submitter supplied)" marker and may itself read
    # "Something: ...", so before the summary only known keys count as fields.
    if m and (m[1] in _KNOWN_KEYS or entry.summary or entry.fields):
        entry.fields.setdefault(m[1], []).append(m[2].strip())
    elif not entry.fields:
        # Free text between the title and the first field is the summary.
        entry.summary.append(text.removeprefix(_SUBMITTER).strip())
    else:
        entry.fields.setdefault("other", []).append(text.strip())


def _label(entry: _Entry) -> str | None:
    return entry.accession or (f"record {entry.number}" if entry.number else None)


def _build(entry: _Entry) -> Record:
    label = _label(entry)
    if entry.number is None:
        return Rejected(entry.start, label, "text without a numbered title line")
    if entry.accession is None or entry.kind is None:
        return Rejected(entry.start, label, "record without an accession line")
    prefix = _PREFIX_OF[entry.kind]
    if not entry.accession.startswith(prefix) or not ACCESSION_RE.match(entry.accession):
        return Rejected(
            entry.start, label, f"{entry.kind} entry with accession {entry.accession!r}"
        )
    summary, truncated = _summary(entry.summary)
    counts = " ".join(entry.fields.get("counts", []))
    platforms = list(dict.fromkeys(_GPL_RE.findall(counts)))
    n_samples = _int(_N_SAMPLES_RE.search(counts))
    organisms = split_clean(entry.first("Organism"), ";")
    extra = _extra(entry)
    if truncated:
        extra["summary_truncated"] = ["true"]

    if entry.kind == "Series":
        series = Series(accession=entry.accession, source=SOURCE, title=entry.title)
        series.summary = summary
        series.organisms = organisms
        series.types = split_clean(entry.first("Type"), ";")
        series.platforms = platforms
        series.n_samples = n_samples
        series.geo_uid = entry.uid
        series.datasets = list(dict.fromkeys(_GDS_RE.findall(counts)))
        ftp = entry.first("FTP download") or ""
        types = _FTP_TYPES_RE.search(ftp)
        series.supplementary_types = split_clean(types[1], ",") if types else []
        series.sra = list(dict.fromkeys(_SRA_RE.findall(ftp)))
        series.extra = extra
        return series
    if entry.uid:
        extra["geo_uid"] = [entry.uid]
    if entry.kind == "DataSet":
        dataset = Dataset(accession=entry.accession, source=SOURCE, title=entry.title)
        dataset.description = summary
        dataset.organisms = organisms
        # "Expression profiling by array, transformed count, 2 disease state sets"
        type_parts = split_clean(entry.first("Type"), ",")
        dataset.dataset_type = type_parts[0] if type_parts else None
        if len(type_parts) > 1 and ("count" in type_parts[1] or "ratio" in type_parts[1]):
            dataset.value_type = type_parts[1]
        dataset.platform = platforms[0] if platforms else None
        series_refs = _GSE_RE.findall(counts)
        dataset.reference_series = series_refs[0] if series_refs else None
        dataset.n_samples = n_samples
        dataset.extra = extra
        return dataset
    if entry.kind == "Platform":
        platform = Platform(accession=entry.accession, source=SOURCE, title=entry.title)
        platform.organisms = organisms
        if summary:
            extra["description"] = [summary]
        platform.extra = extra
        return platform
    sample = Sample(accession=entry.accession, source=SOURCE, title=entry.title)
    sample.organisms = organisms
    sample.platform = platforms[0] if platforms else None
    sample.series = list(dict.fromkeys(_GSE_RE.findall(counts)))
    sample.source_name = repair_text(entry.first("Source name"))
    sample.description = summary
    sample.extra = extra
    return sample


def _summary(lines: list[str]) -> tuple[str | None, bool]:
    text = repair_text("\n".join(lines))
    if text is not None and text.endswith(_MORE):
        return repair_text(text.removesuffix(_MORE)), True
    return text, False


def _extra(entry: _Entry) -> dict[str, list[str]]:
    extra: dict[str, list[str]] = {}
    counts = " ".join(entry.fields.get("counts", []))
    related = _int(_N_RELATED_RE.search(counts))
    if related is not None:
        extra["n_related_platforms"] = [str(related)]
    ftp = entry.first("FTP download")
    if ftp:
        extra["ftp"] = [url for url in ftp.split() if "://" in url]
    for selector in entry.fields.get("SRA Run Selector", []):
        extra.setdefault("sra_run_selector", []).append(selector)
        extra.setdefault("bioproject", []).extend(_BIOPROJECT_RE.findall(selector))
    for key, values in entry.fields.items():
        if key in ("counts", "Organism", "Type", "FTP download", "SRA Run Selector", "Source name"):
            continue
        cleaned = [v for v in (repair_text(value) for value in values) if v]
        if cleaned:
            extra.setdefault(key.lower().replace(" ", "_"), []).extend(cleaned)
    return {key: values for key, values in extra.items() if values}


def _int(match: re.Match[str] | None) -> int | None:
    return parse_count(match[1]) if match else None


_SNIFF_TITLE_RE = re.compile(rb"^\d+\.\s+\S", re.MULTILINE)
_SNIFF_ENTRY_RE = re.compile(rb"^(?:Series|DataSet|Platform|Sample)\t+Accession: G", re.MULTILINE)


def sniff(head: bytes, filename: str) -> bool:
    """True when the head holds a numbered title and a GEO "Accession:" entry line."""
    return bool(_SNIFF_TITLE_RE.search(head) and _SNIFF_ENTRY_RE.search(head))


FORMAT = Format(name="geo_text_export", sniff=sniff, parse=parse)
