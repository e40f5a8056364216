"""The demo corpus: one GEO series per line as a JSON object (``geo_series.jsonl.gz``).

Keys: accession, title, summary, overall_design, organisms, types, platforms,
n_samples, supplementary_formats, geo_uid. Keys named like a ``Series`` field
(release_date, pubmed_ids, ...) are accepted too; any other key lands in
``Series.extra`` so nothing is silently lost.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import orjson

from omicsoracle.formats import Format
from omicsoracle.formats.source import Source
from omicsoracle.formats.text import clean_list, parse_count, parse_geo_date, repair_text, strip_bom
from omicsoracle.model import ACCESSION_RE, PMID_RE, Record, Rejected, Relationship, Series

SOURCE = "geo_jsonl"

_TEXT_KEYS = ("title", "summary", "overall_design", "contact")
_LIST_KEYS = ("organisms", "types", "platforms", "samples", "sra", "datasets")
_DATE_KEYS = ("release_date", "last_update_date")
_HANDLED = frozenset(
    {"accession", "n_samples", "geo_uid", "pubmed_ids", "supplementary_formats"}
    | {"supplementary_types", "extra", "source"}
    | set(_TEXT_KEYS)
    | set(_LIST_KEYS)
    | set(_DATE_KEYS)
)
# Lets a line that is not valid JSON still be reported under its accession.
_ACCESSION_HINT_RE = re.compile(r'"accession"\s*:\s*"([A-Z]{3}[0-9]+)"')


def parse(source: Source) -> Iterator[Record]:
    """Stream ``Series`` records (and their PubMed links) from a JSON-lines file.

    A line that is not a JSON object, or has no valid GSE accession, becomes a
    ``Rejected`` with its line number; blank lines are skipped.
    """
    for lineno, line in source.lines():
        if lineno == 1:
            line = strip_bom(line)  # a BOM some editors add
        if not line.strip():
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            hint = _ACCESSION_HINT_RE.search(line)
            yield Rejected(lineno, hint[1] if hint else None, f"invalid JSON: {exc}")
            continue
        if not isinstance(obj, dict):
            yield Rejected(lineno, None, f"expected a JSON object, got {type(obj).__name__}")
            continue
        yield from _series_records(obj, lineno)


def _series_records(obj: dict[str, Any], lineno: int) -> Iterator[Record]:
    raw_acc = obj.get("accession")
    accession = raw_acc.strip() if isinstance(raw_acc, str) else None
    if not accession:
        yield Rejected(lineno, None, "missing accession")
        return
    if not ACCESSION_RE.match(accession) or not accession.startswith("GSE"):
        yield Rejected(lineno, accession, f"not a GEO series accession: {accession!r}")
        return

    series = Series(accession=accession, source=SOURCE)
    series.title = repair_text(_as_text(obj.get("title")))
    series.summary = repair_text(_as_text(obj.get("summary")))
    series.overall_design = repair_text(_as_text(obj.get("overall_design")))
    series.contact = repair_text(_as_text(obj.get("contact")))
    series.organisms = clean_list(_as_list(obj.get("organisms")))
    series.types = clean_list(_as_list(obj.get("types")))
    series.platforms = clean_list(_as_list(obj.get("platforms")))
    series.samples = clean_list(_as_list(obj.get("samples")))
    series.sra = clean_list(_as_list(obj.get("sra")))
    series.datasets = clean_list(_as_list(obj.get("datasets")))
    # The corpus calls them supplementary_formats; the model's name is accepted too.
    series.supplementary_types = clean_list(
        _as_list(obj.get("supplementary_formats")) + _as_list(obj.get("supplementary_types"))
    )
    series.n_samples = _as_count(obj.get("n_samples"))
    series.geo_uid = _as_text(obj.get("geo_uid")).strip() or None
    series.release_date = parse_geo_date(_as_text(obj.get("release_date")))
    series.last_update_date = parse_geo_date(_as_text(obj.get("last_update_date")))
    pmids = clean_list(_as_list(obj.get("pubmed_ids")))
    series.pubmed_ids = [p for p in pmids if PMID_RE.match(p)]
    for key, value in obj.items():
        if key not in _HANDLED and value is not None:
            values = clean_list(_as_list(value))
            if values:
                series.extra[key] = values
    yield series
    for pmid in series.pubmed_ids:
        yield Relationship(accession, pmid, "primary", SOURCE, 1.0)


def _as_text(value: Any) -> str:
    """A scalar JSON value as text ("" for null, lists and objects)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        return ""
    return str(value)


def _as_list(value: Any) -> list[str]:
    """A JSON list (or a lone scalar) as strings; nested lists/objects are dropped."""
    if isinstance(value, list):
        return [text for text in (_as_text(v) for v in value) if text]
    text = _as_text(value)
    return [text] if text else []


def _as_count(value: Any) -> int | None:
    return parse_count(value)


def sniff(head: bytes, filename: str) -> bool:
    """True when the first non-blank line is a JSON object with an "accession" key."""
    for raw in head.split(b"\n"):
        line = raw.strip().removeprefix(b"\xef\xbb\xbf")
        if not line:
            continue
        try:
            obj = orjson.loads(line)
        except orjson.JSONDecodeError:
            return False
        return isinstance(obj, dict) and "accession" in obj
    return False


FORMAT = Format(name="corpus_jsonl", sniff=sniff, parse=parse)
