"""MINiML: GEO's XML format (``GSE*_family.xml``, single ``GSM*.xml`` records).

Layout (namespace ``http://www.ncbi.nlm.nih.gov/geo/info/MINiML``): a ``<MINiML>``
root whose children are ``Contributor``, ``Database``, ``Platform``, ``Sample``
and ``Series`` elements, in that order in GEO's own files. The Series comes last
and lists its samples as ``Sample-Ref``; samples carry no back-reference, so
``Sample.series`` is only filled for samples that follow their Series.

Streaming: lxml ``iterparse`` fires only for those top-level records; each one is
turned into model records and then cleared, with its finished siblings deleted,
so memory stays bounded by the largest single record.

Safety: entity expansion is off (``resolve_entities=False``, no DTD loading, no
network), and a document whose DTD declares entities is refused outright:
GEO never writes one, so it is either broken or hostile ("billion laughs",
``<!ENTITY x SYSTEM "file:///etc/passwd">``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type stubs

from omicsoracle.formats import Format
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.formats.text import clean_list, parse_count, parse_geo_date, repair_text
from omicsoracle.model import (
    ACCESSION_RE,
    PMID_RE,
    DataTable,
    Platform,
    Record,
    Rejected,
    Relationship,
    Sample,
    Series,
)

SOURCE = "geo_miniml"
NAMESPACE = "http://www.ncbi.nlm.nih.gov/geo/info/MINiML"
# Rows per DataTable chunk for inline (<Internal-Data>) tables.
TABLE_CHUNK_ROWS = 5000

_RECORD_TAGS = ("{*}MINiML", "{*}Contributor", "{*}Platform", "{*}Sample", "{*}Series")
# Element name -> the key GEO's SOFT format uses, so ``extra`` reads the same
# whichever format a record came from; unlisted names are lower-cased, "-" -> "_".
_SOFT_KEYS = {
    "Source": "source_name",
    "Supplementary-Data": "supplementary_file",
    "Hybridization-Protocol": "hyb_protocol",
    "Scan-Protocol": "scan_protocol",
    "Pubmed-ID": "pubmed_id",
    "Web-Link": "web_link",
    "Contact-Ref": "contact_name",
    "Contributor-Ref": "contributor",
    "Organism": "organism",
}
_SRA_RE = re.compile(r"\b([SED]R[APRSX][0-9]+)\b")


@dataclass
class _Document:
    """What earlier records of the same document tell later ones."""

    contributors: dict[str, str] = field(default_factory=dict)  # iid -> display name
    platforms: dict[str, None] = field(default_factory=dict)  # ordered set of GPLs
    platform_organisms: dict[str, None] = field(default_factory=dict)
    sample_organisms: dict[str, None] = field(default_factory=dict)
    series_of: dict[str, list[str]] = field(default_factory=dict)  # GSM -> GSEs seen so far


def parse(source: Source) -> Iterator[Record]:
    """Stream Platform, Sample (with DataTable chunks), Series and Relationship records.

    Raises FormatError for malformed or truncated XML (with the line number),
    for a document that declares entities, and for one without a MINiML root.
    A record without a valid accession is yielded as ``Rejected``.
    """
    doc = _Document()
    root_seen = False
    dtd_checked = False
    last_line: int | None = None
    with source.open_binary() as fh:
        context = etree.iterparse(
            fh,
            events=("start", "end"),
            tag=_RECORD_TAGS,
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            remove_comments=True,
            remove_pis=True,
        )
        try:
            for event, elem in context:
                if not dtd_checked:
                    # The DTD precedes the first element, so it is known by now.
                    _refuse_entities(elem, source.name)
                    dtd_checked = True
                parent = elem.getparent()
                if event == "start":
                    root_seen = root_seen or (parent is None and _local(elem.tag) == "MINiML")
                    continue
                # Records are the direct children of a MINiML root; the root's own
                # end event and same-named elements elsewhere are skipped.
                if (
                    parent is None
                    or parent.getparent() is not None
                    or _local(parent.tag) != "MINiML"
                ):
                    continue
                last_line = elem.sourceline
                yield from _record(elem, doc)
                # Constant memory: drop the finished record and everything before it.
                elem.clear(keep_tail=False)
                while elem.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as exc:
            line = exc.lineno or (exc.position[0] if exc.position else None)
            raise FormatError(source.name, line, f"malformed XML: {exc.msg}") from exc
        except FormatError as exc:
            if exc.line is None and last_line is not None:
                # A gzip error knows no line; the last record read tells where we were.
                raise FormatError(exc.path, last_line, exc.reason) from exc
            raise
    if not root_seen:
        raise FormatError(source.name, None, "no <MINiML> root element")


def _refuse_entities(elem: Any, name: str) -> None:
    dtd = elem.getroottree().docinfo.internalDTD
    if dtd is None:
        return
    names = [entity.name for entity in dtd.iterentities()]
    if names:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise FormatError(
            name,
            elem.sourceline,
            f"document type declares entities ({shown}); entity expansion is refused",
        )


def _record(elem: Any, doc: _Document) -> Iterator[Record]:
    kind = _local(elem.tag)
    if kind == "Contributor":
        iid = elem.get("iid")
        person = _contributor_name(elem)
        if iid and person:
            doc.contributors[iid] = person
    elif kind == "Platform":
        yield from _platform(elem, doc)
    elif kind == "Sample":
        yield from _sample(elem, doc)
    elif kind == "Series":
        yield from _series(elem, doc)


def _accession(elem: Any, prefix: str) -> str | Rejected:
    """The record's GEO accession, or a Rejected saying why there is none."""
    acc_elem = _child(elem, "Accession")
    raw = _text(acc_elem) if acc_elem is not None else None
    accession = raw or (elem.get("iid") or "").strip()
    if not accession:
        return Rejected(elem.sourceline, None, f"<{_local(elem.tag)}> without accession")
    if not accession.startswith(prefix) or not ACCESSION_RE.match(accession):
        return Rejected(
            elem.sourceline,
            accession,
            f"<{_local(elem.tag)}> accession is not {prefix}: {accession!r}",
        )
    return accession


def _platform(elem: Any, doc: _Document) -> Iterator[Record]:
    accession = _accession(elem, "GPL")
    if isinstance(accession, Rejected):
        yield accession
        return
    platform = Platform(accession=accession, source=SOURCE)
    tables: list[DataTable | Rejected] = []
    for child in _children(elem):
        name = _local(child.tag)
        if name == "Accession":
            continue
        if name == "Status":
            platform.release_date, platform.last_update_date = _status_dates(child, platform.extra)
        elif name == "Title":
            platform.title = _text(child)
        elif name == "Technology":
            platform.technology = _text(child)
        elif name == "Distribution":
            platform.distribution = _text(child)
        elif name == "Organism":
            platform.organisms = clean_list([*platform.organisms, _text(child)])
        elif name == "Manufacturer":
            platform.manufacturer = _text(child)
        elif name == "Data-Table":
            platform.columns, platform.n_rows, tables = _data_table(
                child, accession, platform.extra
            )
        else:
            _add_extra(platform.extra, child, doc)
    doc.platforms.setdefault(accession, None)
    for organism in platform.organisms:
        doc.platform_organisms.setdefault(organism, None)
    yield platform
    yield from tables


def _sample(elem: Any, doc: _Document) -> Iterator[Record]:
    accession = _accession(elem, "GSM")
    if isinstance(accession, Rejected):
        yield accession
        return
    sample = Sample(accession=accession, source=SOURCE)
    tables: list[DataTable | Rejected] = []
    for child in _children(elem):
        name = _local(child.tag)
        if name == "Accession":
            continue
        if name == "Status":
            sample.release_date, sample.last_update_date = _status_dates(child, sample.extra)
        elif name == "Title":
            sample.title = _text(child)
        elif name == "Type":
            sample.sample_type = _text(child)
        elif name == "Description":
            sample.description = _text(child)
        elif name == "Platform-Ref":
            sample.platform = (child.get("ref") or "").strip() or None
        elif name == "Channel":
            _channel(child, sample)
        elif name == "Data-Table":
            _, sample.n_rows, tables = _data_table(child, accession, sample.extra)
        else:
            _add_extra(sample.extra, child, doc)
    sample.series = list(doc.series_of.get(accession, []))
    if sample.platform:
        doc.platforms.setdefault(sample.platform, None)
    for organism in sample.organisms:
        doc.sample_organisms.setdefault(organism, None)
    yield sample
    yield from tables


def _channel(channel: Any, sample: Sample) -> None:
    position = (channel.get("position") or "1").strip()
    first = position == "1"
    suffix = f"_ch{position}"
    for child in _children(channel):
        name = _local(child.tag)
        if name == "Characteristics":
            pairs = _characteristics(child)
            sample.characteristics.extend(pairs)
            if not first:
                sample.extra.setdefault("characteristics" + suffix, []).extend(
                    f"{k}: {v}" if k else v for k, v in pairs
                )
            continue
        value = _text(child)
        if value is None:
            continue
        if name == "Organism":
            sample.organisms = clean_list([*sample.organisms, value])
            if first:
                continue
        elif first and name == "Source":
            sample.source_name = value
            continue
        elif first and name == "Molecule":
            sample.molecule = value
            continue
        sample.extra.setdefault(_soft_key(name) + suffix, []).append(value)


def _characteristics(elem: Any) -> list[tuple[str, str]]:
    """``<Characteristics tag="tissue">liver</...>`` -> [("tissue", "liver")].

    Without a tag attribute each line is read as SOFT does: "key: value", or
    ("", line) when it has no colon.
    """
    value = _text(elem)
    if value is None:
        return []
    tag = repair_text(elem.get("tag"))
    if tag:
        return [(tag, value)]
    pairs = []
    for line in value.split("\n"):
        if not line:
            continue
        key, sep, rest = line.partition(":")
        pairs.append((key.strip(), rest.strip()) if sep and key.strip() else ("", line))
    return pairs


def _series(elem: Any, doc: _Document) -> Iterator[Record]:
    accession = _accession(elem, "GSE")
    if isinstance(accession, Rejected):
        yield accession
        return
    series = Series(accession=accession, source=SOURCE)
    for child in _children(elem):
        name = _local(child.tag)
        if name == "Accession":
            continue
        if name == "Status":
            series.release_date, series.last_update_date = _status_dates(child, series.extra)
        elif name == "Title":
            series.title = _text(child)
        elif name == "Summary":
            series.summary = _text(child)
        elif name == "Overall-Design":
            series.overall_design = _text(child)
        elif name == "Type":
            series.types = clean_list([*series.types, _text(child)])
        elif name == "Pubmed-ID":
            pmid = _text(child)
            if pmid and PMID_RE.match(pmid) and pmid not in series.pubmed_ids:
                series.pubmed_ids.append(pmid)
        elif name == "Sample-Ref":
            ref = (child.get("ref") or "").strip()
            if ref and ref not in series.samples:
                series.samples.append(ref)
        elif name == "Contact-Ref":
            series.contact = doc.contributors.get(child.get("ref") or "")
        else:
            if name == "Supplementary-Data":
                kind = (child.get("type") or "").strip()
                if kind and kind.lower() not in ("unknown", "none"):
                    series.supplementary_types = clean_list([*series.supplementary_types, kind])
            elif name == "Relation" and (child.get("type") or "").strip() == "SRA":
                for sra in _SRA_RE.findall(child.get("target") or ""):
                    series.sra = clean_list([*series.sra, sra])
            _add_extra(series.extra, child, doc)
    series.n_samples = len(series.samples) or None
    # MINiML series name neither platforms nor organisms: a family file holds
    # exactly the series' platforms and samples, so take them from the document.
    series.platforms = list(doc.platforms)
    series.organisms = list(doc.sample_organisms or doc.platform_organisms)
    for gsm in series.samples:
        doc.series_of.setdefault(gsm, []).append(accession)
    yield series
    for pmid in series.pubmed_ids:
        yield Relationship(accession, pmid, "primary", SOURCE, 1.0)


def _data_table(
    elem: Any, owner: str, extra: dict[str, list[str]]
) -> tuple[list[tuple[str, str]], int | None, list[DataTable | Rejected]]:
    """(columns, row count, records to yield after the owner) of a ``<Data-Table>``.

    ``<External-Data rows="N">file</...>`` only names a file shipped beside the
    XML: the row count and file name are kept, the rows are not read. Inline
    ``<Internal-Data>`` rows become DataTable chunks, followed (as SOFT does) by
    a Rejected for the owner when their number differs from the rows attribute.
    """
    columns: list[tuple[str, str]] = []
    n_rows: int | None = None
    chunks: list[DataTable | Rejected] = []
    for child in _children(elem):
        name = _local(child.tag)
        if name == "Column":
            col_name = _text(_child(child, "Name")) or ""
            columns.append((col_name, _text(_child(child, "Description")) or ""))
        elif name == "External-Data":
            n_rows = _as_int(child.get("rows"))
            file_name = _text(child)
            if file_name:
                extra.setdefault("data_table_file", []).append(file_name)
        elif name == "Internal-Data":
            names = [col for col, _ in columns]
            rows = [line.split("\t") for line in (child.text or "").splitlines() if line.strip()]
            n_rows = len(rows)
            chunks = [
                DataTable(owner, seq, names, rows[start : start + TABLE_CHUNK_ROWS])
                for seq, start in enumerate(range(0, len(rows), TABLE_CHUNK_ROWS))
            ]
            declared = _as_int(child.get("rows"))
            if declared is not None and declared != n_rows:
                chunks.append(
                    Rejected(
                        child.sourceline,
                        owner,
                        f"data table has {n_rows} rows, its rows attribute says {declared}",
                    )
                )
    return columns, n_rows, chunks


def _status_dates(status: Any, extra: dict[str, list[str]]) -> tuple[str | None, str | None]:
    release = _text(_child(status, "Release-Date"))
    update = _text(_child(status, "Last-Update-Date"))
    submitted = parse_geo_date(_text(_child(status, "Submission-Date")))
    if submitted:
        extra["submission_date"] = [submitted]
    return parse_geo_date(release), parse_geo_date(update)


def _add_extra(extra: dict[str, list[str]], child: Any, doc: _Document) -> None:
    name = _local(child.tag)
    if name in ("Contact-Ref", "Contributor-Ref"):
        value = doc.contributors.get(child.get("ref") or "")
    elif name == "Relation":
        kind, target = (child.get("type") or "").strip(), (child.get("target") or "").strip()
        value = f"{kind}: {target}" if kind and target else (kind or target or None)
    elif name == "Instrument-Model":
        value = repair_text(" ".join(child.itertext()))
    else:
        value = _text(child)
    if value is not None and value.upper() != "NONE":
        extra.setdefault(_soft_key(name), []).append(value)


def _contributor_name(elem: Any) -> str | None:
    person = _child(elem, "Person")
    if person is not None:
        parts = [_text(_child(person, part)) for part in ("First", "Middle", "Last")]
        name = " ".join(p for p in parts if p)
        if name:
            return name
    return _text(_child(elem, "Organization"))


def _soft_key(name: str) -> str:
    return _SOFT_KEYS.get(name) or name.lower().replace("-", "_")


def _local(tag: Any) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _children(elem: Any) -> Iterator[Any]:
    return (child for child in elem if isinstance(child.tag, str))


def _child(elem: Any, name: str) -> Any:
    if elem is None:
        return None
    for child in _children(elem):
        if _local(child.tag) == name:
            return child
    return None


def _text(elem: Any) -> str | None:
    """An element's own text, cleaned; None when absent or blank."""
    if elem is None:
        return None
    # itertext, not .text: .text stops at the first child node (e.g. an unexpanded
    # entity reference), itertext keeps what follows it.
    return repair_text("".join(elem.itertext()))


def _as_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return parse_count(value)


def sniff(head: bytes, filename: str) -> bool:
    """True when the decompressed head contains a MINiML root element."""
    return b"<MINiML" in head


FORMAT = Format(name="geo_miniml", sniff=sniff, parse=parse)
