"""An esummary document of db=gds (JSON) turned into domain records.

The shape is NCBI's (tests/data/eutils/esummary.gds.json): ``entrytype`` says what
the entry is. A ``GSE`` becomes a ``Series`` (source ``geo_eutils``), a ``Sample``
stub per listed sample (accession, title, series; the store keeps a full sample's
characteristics when a stub arrives, see ``store.writer``) and a "primary"
``Relationship`` per PubMed id. A ``GDS`` becomes a ``Dataset`` and the links of its
reference series to its PubMed ids.

``GPL`` and ``GSM`` entries also live in db=gds; they give ``[]``: the sync searches
series and DataSets only, a GSM docsum has no characteristics (its stub comes with
its series) and a GPL docsum no technology or columns, so neither would add anything
a series' docsum or a family file does not give better.

Strict but not brittle: a missing optional field is fine, an empty string is no
value; an accession that is not GEO's, an accession that does not fit the
``entrytype``, a field of the wrong JSON type or a date that does not parse raise
``DocsumError`` naming the request and the record.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from omicsoracle.model import (
    ACCESSION_RE,
    PMID_RE,
    Dataset,
    Record,
    Relationship,
    Sample,
    Series,
)

SOURCE = "geo_eutils"
IGNORED_ENTRY_TYPES = frozenset({"GPL", "GSM"})
_BIOPROJECT_RE = re.compile(r"\bPRJ[NED][A-Z]?[0-9]+\b")
_NUMBER_RE = re.compile(r"^[1-9][0-9]{0,8}$")


class DocsumError(ValueError):
    """A docsum the sync cannot accept; ``str`` names the request and the record."""

    def __init__(self, request: str, uid: str, reason: str, *, accession: str | None = None):
        self.request = request
        self.uid = uid
        self.accession = accession
        self.reason = reason
        record = f"uid {uid}" + (f" ({accession})" if accession else "")
        super().__init__(f"{request}: docsum {record}: {reason}")


class _Reader:
    """Typed access to one docsum's fields, raising ``DocsumError`` on a wrong type."""

    def __init__(self, doc: dict[str, Any], request: str) -> None:
        self.doc = doc
        self.request = request
        raw_uid = doc.get("uid")
        self.uid = str(raw_uid) if isinstance(raw_uid, (str, int)) else "?"
        accession = doc.get("accession")
        self.accession = accession if isinstance(accession, str) and accession else None

    def fail(self, reason: str) -> DocsumError:
        return DocsumError(self.request, self.uid, reason, accession=self.accession)

    def text(self, key: str) -> str | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self.fail(f"field {key!r} must be a string, not {type(value).__name__}")
        return value.strip() or None

    def items(self, key: str) -> list[Any]:
        value = self.doc.get(key)
        if value is None or value == "":
            return []
        if not isinstance(value, list):
            raise self.fail(f"field {key!r} must be a list, not {type(value).__name__}")
        return value

    def split(self, key: str, sep: str) -> list[str]:
        value = self.text(key)
        if value is None:
            return []
        return list(dict.fromkeys(p.strip() for p in value.split(sep) if p.strip()))

    def numbers(self, key: str, prefix: str) -> list[str]:
        """``"507;1234"`` -> ``["GDS507", "GDS1234"]`` for prefix ``GDS``."""
        out = []
        for part in self.split(key, ";"):
            if not _NUMBER_RE.match(part):
                raise self.fail(f"field {key!r}: {part!r} is not a {prefix} number")
            out.append(prefix + part)
        return out

    def count(self, key: str) -> int | None:
        value = self.doc.get(key)
        if value is None or value == "":
            return None
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(f"field {key!r} must be a count, not {value!r}")
        return value

    def date(self, key: str) -> str | None:
        """NCBI's ``YYYY/MM/DD`` as ISO ``YYYY-MM-DD``."""
        value = self.text(key)
        if value is None:
            return None
        try:
            return datetime.strptime(value, "%Y/%m/%d").date().isoformat()
        except ValueError:
            raise self.fail(f"field {key!r}: {value!r} is not a YYYY/MM/DD date") from None

    def pmids(self, key: str = "pubmedids") -> list[str]:
        out: list[str] = []
        for value in self.items(key):
            text = str(value).strip() if isinstance(value, (int, str)) else None
            if isinstance(value, bool) or text is None or not PMID_RE.match(text):
                raise self.fail(f"field {key!r}: {value!r} is not a PubMed id")
            if text not in out:
                out.append(text)
        return out


def records_from_docsum(doc: dict[str, Any], *, request: str) -> list[Record]:
    """The records of one db=gds esummary docsum (``[]`` for GPL/GSM entries)."""
    if not isinstance(doc, dict):
        raise DocsumError(request, "?", f"a docsum must be an object, not {type(doc).__name__}")
    r = _Reader(doc, request)
    uid = doc.get("uid")
    if uid is not None and not (isinstance(uid, (str, int)) and _NUMBER_RE.match(str(uid))):
        raise r.fail(f"uid {uid!r} is not an NCBI uid")
    if "error" in doc and r.accession is None:
        raise r.fail(f"NCBI returned no document: {doc['error']}")
    entrytype = r.text("entrytype")
    if entrytype is None:
        raise r.fail("no entrytype")
    entrytype = entrytype.upper()
    if entrytype in IGNORED_ENTRY_TYPES:
        return []
    if entrytype not in ("GSE", "GDS"):
        raise r.fail(f"unknown entrytype {entrytype!r}")
    accession = r.text("accession")
    if accession is None:
        raise r.fail("no accession")
    if not ACCESSION_RE.match(accession):
        raise r.fail(f"{accession!r} is not a GEO accession")
    if not accession.startswith(entrytype):
        raise r.fail(f"accession {accession} does not match entrytype {entrytype}")
    if entrytype == "GSE":
        return list(_series_records(r, accession))
    return list(_dataset_records(r, accession))


def _series_records(r: _Reader, accession: str) -> Iterator[Record]:
    samples = list(_samples(r, accession))
    extra: dict[str, list[str]] = {}
    sra: list[str] = []
    for kind, target in _relations(r, "extrelations"):
        if kind.upper() == "SRA":
            sra.append(target)
        elif kind.lower() == "bioproject":
            extra.setdefault("bioproject", []).append(target)
        else:
            extra.setdefault("relation", []).append(f"{kind}: {target}")
    for kind, target in _relations(r, "relations"):
        # GEO's own wording, as in SOFT's "!Series_relation = SubSeries of: GSE123".
        extra.setdefault("relation", []).append(f"{kind}: {target}")
    projects = _bioprojects(r)
    if projects:
        extra["bioproject"] = list(dict.fromkeys([*extra.get("bioproject", []), *projects]))
    for key in ("ftplink", "geo2r"):
        value = r.text(key)
        if value is not None:
            extra[key] = [value]
    uid = r.uid if r.uid != "?" else None
    series = Series(
        accession=accession,
        source=SOURCE,
        title=r.text("title"),
        summary=r.text("summary"),
        organisms=r.split("taxon", "; "),
        types=r.split("gdstype", "; "),
        platforms=r.numbers("gpl", "GPL"),
        samples=[s.accession for s in samples],
        n_samples=r.count("n_samples"),
        release_date=r.date("pdat"),
        pubmed_ids=r.pmids(),
        sra=list(dict.fromkeys(sra)),
        supplementary_types=[t.upper() for t in r.split("suppfile", ",")],
        geo_uid=uid,
        datasets=r.numbers("gds", "GDS"),
        extra=extra,
    )
    yield series
    yield from samples
    for pmid in series.pubmed_ids:
        yield Relationship(accession, pmid, "primary", SOURCE, 1.0)


def _samples(r: _Reader, series: str) -> Iterator[Sample]:
    seen: set[str] = set()
    for item in r.items("samples"):
        if not isinstance(item, dict):
            raise r.fail(f"a sample must be an object, not {type(item).__name__}")
        accession, title = item.get("accession"), item.get("title")
        if not isinstance(accession, str) or not accession.startswith("GSM"):
            raise r.fail(f"sample {accession!r} is not a GSM accession")
        if not ACCESSION_RE.match(accession):
            raise r.fail(f"sample {accession!r} is not a GSM accession")
        if title is not None and not isinstance(title, str):
            raise r.fail(f"sample {accession}: title must be a string")
        if accession in seen:
            continue
        seen.add(accession)
        yield Sample(accession=accession, source=SOURCE, title=title or None, series=[series])


def _relations(r: _Reader, key: str) -> Iterator[tuple[str, str]]:
    """(relationtype, targetobject) of ``relations``/``extrelations`` entries."""
    for item in r.items(key):
        if not isinstance(item, dict):
            raise r.fail(f"field {key!r}: an entry must be an object, not {type(item).__name__}")
        kind, target = item.get("relationtype"), item.get("targetobject")
        if not isinstance(kind, str) or not isinstance(target, (str, type(None))):
            raise r.fail(f"field {key!r}: relationtype/targetobject must be strings")
        if kind.strip() and target and target.strip():
            yield kind.strip(), target.strip()


def _bioprojects(r: _Reader) -> list[str]:
    """BioProject accessions from ``projects`` (and ``bioproject`` where NCBI sends it)."""
    found: list[str] = []
    for item in r.items("projects"):
        if isinstance(item, str):
            found.extend(_BIOPROJECT_RE.findall(item))
        elif isinstance(item, dict):
            for value in item.values():
                if isinstance(value, str):
                    found.extend(_BIOPROJECT_RE.findall(value))
        else:
            raise r.fail(f"field 'projects': unexpected {type(item).__name__}")
    single = r.text("bioproject")
    if single is not None:
        found.extend(_BIOPROJECT_RE.findall(single))
    return list(dict.fromkeys(found))


def _dataset_records(r: _Reader, accession: str) -> Iterator[Record]:
    number = r.text("gds")
    if number is not None and "GDS" + number != accession:
        raise r.fail(f"field 'gds' is {number!r}, not the number of {accession}")
    platforms = r.numbers("gpl", "GPL")
    series = r.numbers("gse", "GSE")
    extra: dict[str, list[str]] = {}
    # The model holds one platform and one reference series; GEO rarely has more.
    if len(platforms) > 1:
        extra["platform"] = platforms[1:]
    if len(series) > 1:
        extra["reference_series"] = series[1:]
    released = r.date("pdat")
    if released is not None:
        extra["release_date"] = [released]
    for key in ("ptechtype", "ssinfo", "subsetinfo", "ftplink"):
        value = r.text(key)
        if value is not None:
            extra[key] = [value]
    types = r.split("gdstype", "; ")
    dataset = Dataset(
        accession=accession,
        source=SOURCE,
        title=r.text("title"),
        description=r.text("summary"),
        dataset_type="; ".join(types) or None,
        platform=platforms[0] if platforms else None,
        organisms=r.split("taxon", "; "),
        reference_series=series[0] if series else None,
        pubmed_ids=r.pmids(),
        value_type=r.text("valtype"),
        n_samples=r.count("n_samples"),
        extra=extra,
    )
    yield dataset
    for gse in series:
        for pmid in dataset.pubmed_ids:
            yield Relationship(gse, pmid, "primary", SOURCE, 1.0)
