"""MEDLINE text format (PubMed's "Save → Format: PubMed" / efetch ``rettype=medline``).

Each record is a block of ``TAG - value`` lines (the tag left-justified in four
columns, then ``"- "``); a value wraps onto continuation lines indented by six
spaces; records are separated by blank lines. The file is read line by line, so
only one record is held in memory.

The mapping matches ``pubmed_xml`` field for field so the two sources merge
cleanly: same ``Publication`` fields, same date precision rules, MeSH ``major``
with PubMed's [majr] meaning, GEO links from ``SI - GEO/GSE...`` (MEDLINE's form
of the XML DataBankList).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from omicsoracle.formats import Format
from omicsoracle.formats.pubmed_xml import (
    NO_PMID,
    add_geo_accessions,
    geo_relationships,
    parse_pub_date,
)
from omicsoracle.formats.source import Source
from omicsoracle.model import PMID_RE, Author, MeshHeading, Publication, Record, Rejected

SOURCE = "pubmed_medline"

# "PMID- 123", "TI  - Title", "AU  - " (empty value). Continuations never match:
# they start with whitespace.
_TAG_RE = re.compile(r"([A-Z][A-Z0-9]{0,3}) *-(?: (.*))?")
_SNIFF_RE = re.compile(rb"(?m)^(?:\xef\xbb\xbf)?PMID- ")
_SNIPPET = 80

# (tag, value parts, line): parts are joined with spaces once the record is complete.
_Field = tuple[str, list[str], int]


def sniff(head: bytes, filename: str) -> bool:
    """True when some line of the head starts with ``"PMID- "``."""
    del filename  # content decides; see omicsoracle.formats
    return _SNIFF_RE.search(head) is not None


def parse(source: Source) -> Iterator[Record]:
    """Stream records out of a MEDLINE text file.

    Yields a ``Publication`` per record (then one ``Relationship`` per GEO series
    named in its ``SI`` lines), ``Rejected`` for a record without a valid PMID
    (line = the record's first line) and for a line that is neither a tag line
    nor a continuation. A ``PMID-`` line also starts a new record when the blank
    separator line is missing.
    """
    fields: list[_Field] = []
    has_pmid = False
    ordinal = 0
    for lineno, line in source.lines():
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line.strip():
            if fields:
                yield from _record(fields, ordinal)
                fields, has_pmid = [], False
            continue
        if line[0] in " \t":
            if fields:
                fields[-1][1].append(line.strip())
            else:
                yield Rejected(lineno, None, "continuation line outside a record")
            continue
        match = _TAG_RE.fullmatch(line.rstrip())
        if match is None:
            yield Rejected(lineno, None, f"unrecognised MEDLINE line: {line[:40]!r}")
            continue
        tag = match.group(1)
        if tag == "PMID":
            if has_pmid:
                yield from _record(fields, ordinal)
                fields = []
            has_pmid = True
        if not fields:
            ordinal += 1
        fields.append((tag, [(match.group(2) or "").strip()], lineno))
    if fields:
        yield from _record(fields, ordinal)


def parse_mesh(value: str) -> MeshHeading:
    """One ``MH`` value: ``"Sequence Alignment/*methods"`` → heading with qualifiers.

    ``*`` marks a major topic on the descriptor or a qualifier; either makes the
    heading major, as in PubMed's [majr] search and the XML parser.
    """
    descriptor, *qualifier_parts = (part.strip() for part in value.split("/"))
    major = descriptor.startswith("*")
    qualifiers = []
    for qualifier in qualifier_parts:
        if qualifier.startswith("*"):
            major = True
        qualifier = qualifier.lstrip("*").strip()
        if qualifier:
            qualifiers.append(qualifier)
    return MeshHeading(
        descriptor=descriptor.lstrip("*").strip(), major=major, qualifiers=qualifiers
    )


def _record(fields: list[_Field], ordinal: int) -> Iterator[Record]:
    start = fields[0][2]
    values = [(tag, " ".join(part for part in parts if part), line) for tag, parts, line in fields]
    first: dict[str, str] = {}
    for tag, value, _line in values:
        if value:
            first.setdefault(tag, value)
    title = first.get("TI") or first.get("TT")  # TT: title in the original language
    raw_pmid = first.get("PMID")
    if raw_pmid is None or not PMID_RE.fullmatch(raw_pmid):
        reason = NO_PMID if raw_pmid is None else f"{NO_PMID} (invalid: {raw_pmid!r})"
        label = title if title is None or len(title) <= _SNIPPET else title[: _SNIPPET - 1] + "…"
        yield Rejected(start, label or f"record #{ordinal}", reason)
        return
    pub = Publication(pmid=raw_pmid, source=SOURCE, title=title)
    pub.journal = first.get("JT") or first.get("TA")
    pub.year, pub.pub_date = parse_pub_date(first.get("DP"))
    pub.language = first.get("LA")
    abstracts: list[str] = []
    dois: list[str] = []
    pending_affiliations: list[str] = []
    awaiting_au = False  # the last author came from FAU and its AU line is still to come
    for tag, value, _line in values:
        if not value:
            continue
        if tag == "AB":
            abstracts.append(value)
        elif tag in ("LID", "AID") and value.endswith("[doi]"):
            dois.append(value[: -len("[doi]")].strip())
        elif tag == "PT":
            pub.publication_types.append(value)
        elif tag == "OT":
            pub.keywords.append(value)
        elif tag == "MH":
            pub.mesh.append(parse_mesh(value))
        elif tag == "SI":
            bank, _, accession = value.partition("/")
            if bank.strip().upper() == "GEO":
                add_geo_accessions(pub.geo_accessions, [accession])
        elif tag == "FAU":
            last, _, fore = value.partition(",")
            pub.authors.append(Author(last_name=last.strip(), fore_name=fore.strip() or None))
            awaiting_au = True
        elif tag == "AU":
            if awaiting_au:
                author = pub.authors[-1]
                author.initials = _initials(value, author.last_name)
            else:  # records from before 2002 have AU without FAU
                last_name, initials = _split_au(value)
                pub.authors.append(Author(last_name=last_name, initials=initials))
            awaiting_au = False
        elif tag == "CN":
            pub.authors.append(Author(collective=value))
            awaiting_au = False
        elif tag == "AD":
            if pub.authors:
                pub.authors[-1].affiliations.append(value)
            else:
                pending_affiliations.append(value)
    # Older records put one AD before the author list; NLM assigned it to the first author.
    if pending_affiliations and pub.authors:
        pub.authors[0].affiliations[:0] = pending_affiliations
    pub.abstract = "\n".join(abstracts) or None
    pub.doi = dois[0] if dois else None  # LID comes before AID in NLM's field order
    yield pub
    yield from geo_relationships(pub)


def _initials(au: str, last_name: str | None) -> str | None:
    """Initials from an AU value ("de Hoon MJ") given the FAU last name ("de Hoon")."""
    if last_name and au.startswith(last_name):
        rest = au[len(last_name) :].strip()
        return rest or None
    return _split_au(au)[1]


def _split_au(au: str) -> tuple[str, str | None]:
    """("Casbon", "JA") from "Casbon JA"; a single word is a last name only."""
    head, _, tail = au.rpartition(" ")
    if head and tail.isalpha() and tail.isupper() and len(tail) <= 4:
        return head, tail
    return au, None


FORMAT = Format(name="medline", sniff=sniff, parse=parse)
