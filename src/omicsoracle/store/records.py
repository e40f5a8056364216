"""Read queries: records with their links, search documents, statistics.

Plain SQL with bound parameters that runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, text

from omicsoracle.model import ACCESSION_RE, PMID_RE
from omicsoracle.search.document import SearchDoc
from omicsoracle.store.annotations import series_annotations

# Sample text folded into a series' search document (the lowest-weighted field). Its
# distinct phrases up to EXTRA_TEXT_LIMIT characters, then only the words not seen yet:
# every sample title word and characteristic value of a 5,000-sample series still finds
# it, at the cost of its distinct vocabulary rather than of every sample's full text.
# EXTRA_WORDS_LIMIT bounds a pathological series (a document stays under ~256 KB).
EXTRA_TEXT_LIMIT = 4000
EXTRA_WORDS_LIMIT = 250_000


def extra_text(phrases: Sequence[str]) -> str:
    """The ``extra`` field of a series: see EXTRA_TEXT_LIMIT."""
    distinct = list(dict.fromkeys(phrases))
    cut, used = 0, 0
    while cut < len(distinct) and used + len(distinct[cut]) <= EXTRA_TEXT_LIMIT:
        used += len(distinct[cut]) + 1
        cut += 1
    head = distinct[:cut]
    if cut == len(distinct):
        return " ".join(head)
    seen = {w.casefold() for p in head for w in p.split()}
    words: list[str] = []
    for phrase in distinct[cut:]:
        for w in phrase.split():
            folded = w.casefold()
            if folded not in seen:
                seen.add(folded)
                words.append(w)
                used += len(w) + 1
        if used > EXTRA_WORDS_LIMIT:
            break
    return " ".join([*head, *words])[:EXTRA_WORDS_LIMIT]


RECORD_TABLES = {
    "series": "series",
    "sample": "samples",
    "platform": "platforms",
    "dataset": "datasets",
    "publication": "publications",
}


def _in(sql: str) -> Any:
    return text(sql).bindparams(bindparam("keys", expanding=True))


def search_docs(conn: Connection, accessions: Sequence[str]) -> list[SearchDoc]:
    """Search documents for these series, in one query per linked table."""
    keys = list(accessions)
    if not keys:
        return []
    rows = conn.execute(
        _in("SELECT accession, doc FROM series WHERE accession IN :keys"), {"keys": keys}
    )
    docs = {acc: orjson.loads(doc) for acc, doc in rows}
    if not docs:
        return []
    keys = list(docs)
    pmids: dict[str, list[str]] = defaultdict(list)
    for series, pmid in conn.execute(
        _in(
            "SELECT DISTINCT series, pmid FROM relationships WHERE series IN :keys ORDER BY series, pmid"
        ),
        {"keys": keys},
    ):
        pmids[series].append(pmid)
    extra: dict[str, list[str]] = defaultdict(list)
    samples: dict[str, list[str]] = defaultdict(list)
    # Family SOFT files name a series' organisms only through its samples.
    sample_organisms: dict[str, list[str]] = defaultdict(list)
    for series, sample, sdoc in conn.execute(
        _in(
            "SELECT l.series, l.sample, s.doc FROM series_samples l "
            "LEFT JOIN samples s ON s.accession = l.sample WHERE l.series IN :keys"
        ),
        {"keys": keys},
    ):
        samples[series].append(sample)
        if sdoc:
            d = orjson.loads(sdoc)
            extra[series].extend(x for x in (d.get("title"), d.get("source_name")) if x)
            extra[series].extend(v for _, v in d.get("characteristics") or () if v)
            sample_organisms[series].extend(d.get("organisms") or ())
    datasets: dict[str, list[str]] = defaultdict(list)
    subsets: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for acc, series, ddoc in conn.execute(
        _in(
            "SELECT accession, reference_series, doc FROM datasets WHERE reference_series IN :keys"
        ),
        {"keys": keys},
    ):
        datasets[series].append(acc)
        d = orjson.loads(ddoc)
        extra[series].extend(x for x in (d.get("title"), d.get("description")) if x)
        extra[series].extend(s["description"] for s in d.get("subsets") or ())
        subsets[series].extend(d.get("subsets") or ())
    for series, title, term in conn.execute(
        _in(
            "SELECT r.series, p.title, t.term FROM relationships r "
            "JOIN publications p ON p.pmid = r.pmid "
            "LEFT JOIN publication_terms t ON t.pmid = r.pmid AND t.kind IN ('mesh', 'keyword') "
            "WHERE r.series IN :keys"
        ),
        {"keys": keys},
    ):
        extra[series].extend(x for x in (title, term) if x)
    annotations = series_annotations(conn, keys, subsets)
    out = []
    for acc, d in docs.items():
        pm = list(dict.fromkeys([*(d.get("pubmed_ids") or []), *pmids.get(acc, [])]))
        sample_ids = list(dict.fromkeys([*(d.get("samples") or []), *samples.get(acc, [])]))
        gds = list(dict.fromkeys([*(d.get("datasets") or []), *datasets.get(acc, [])]))
        out.append(
            SearchDoc(
                accession=acc,
                title=d.get("title") or "",
                summary=d.get("summary") or "",
                overall_design=d.get("overall_design") or "",
                organisms=d.get("organisms") or list(dict.fromkeys(sample_organisms.get(acc, []))),
                types=d.get("types") or [],
                platforms=d.get("platforms") or [],
                n_samples=d.get("n_samples")
                if d.get("n_samples") is not None
                else (len(sample_ids) or None),
                release_date=d.get("release_date"),
                pubmed_ids=pm,
                supplementary_types=d.get("supplementary_types") or [],
                samples=sample_ids,
                datasets=gds,
                extra_text=extra_text(extra.get(acc, [])),
                annotations=annotations.get(acc, {}),
            )
        )
    return out


def record_type_of(identifier: str) -> tuple[str, str] | None:
    """(record type, normalised key) for a GEO accession or PMID; None if malformed."""
    ident = identifier.strip().upper()
    m = ACCESSION_RE.match(ident)
    if m:
        return {"GSE": "series", "GSM": "sample", "GPL": "platform", "GDS": "dataset"}[
            m.group(1)
        ], ident
    if ident.startswith("PMID:"):
        ident = ident[5:].strip()
    if PMID_RE.match(ident):
        return "publication", ident
    return None


def get_record(
    conn: Connection, identifier: str, *, sample_limit: int = 50, sample_offset: int = 0
) -> dict[str, Any] | None:
    """One record with its links; None when unknown. Raises ValueError when malformed."""
    kind = record_type_of(identifier)
    if kind is None:
        raise ValueError(f"not a GEO accession or PubMed ID: {identifier!r}")
    record_type, key = kind
    table = RECORD_TABLES[record_type]
    pk = "pmid" if record_type == "publication" else "accession"
    row = conn.execute(
        text(f"SELECT doc, updated_at FROM {table} WHERE {pk} = :k"), {"k": key}
    ).first()
    if row is None:
        return None
    doc: dict[str, Any] = orjson.loads(row[0])
    out: dict[str, Any] = {"record_type": record_type, "updated_at": row[1], **doc}
    if record_type == "series":
        total = conn.execute(
            text("SELECT count(*) FROM series_samples WHERE series = :k"), {"k": key}
        ).scalar_one()
        # OFFSET, not a keyset: the API pages by offset (samples_offset), and the
        # skip is bounded by one series' own samples (a few thousand at most), read
        # in order from ix_series_samples_order (0002) with no sort, never a scan of
        # the table.
        page = conn.execute(
            text(
                "SELECT l.sample, s.doc FROM series_samples l LEFT JOIN samples s "
                "ON s.accession = l.sample WHERE l.series = :k ORDER BY length(l.sample), l.sample "
                "LIMIT :n OFFSET :o"
            ),
            {"k": key, "n": sample_limit, "o": sample_offset},
        ).all()
        out["samples_page"] = {
            "total": total,
            "offset": sample_offset,
            "items": [_sample_summary(acc, sdoc) for acc, sdoc in page],
        }
        out["publications"] = _links(conn, "r.series = :k", key)
        out["datasets_detail"] = [
            {"accession": acc, "title": orjson.loads(ddoc).get("title")}
            for acc, ddoc in conn.execute(
                text("SELECT accession, doc FROM datasets WHERE reference_series = :k"), {"k": key}
            )
        ]
    elif record_type == "sample":
        out["series_links"] = [
            s
            for (s,) in conn.execute(
                text("SELECT series FROM series_samples WHERE sample = :k"), {"k": key}
            )
        ]
    elif record_type == "dataset":
        out["subsets_detail"] = [
            {"id": i, "type": t, "description": d, "samples": orjson.loads(s)}
            for i, t, d, s in conn.execute(
                text(
                    "SELECT subset_id, type, description, samples FROM dataset_subsets "
                    "WHERE dataset = :k ORDER BY length(subset_id), subset_id"
                ),
                {"k": key},
            )
        ]
    elif record_type == "publication":
        out["series_links"] = _links(conn, "r.pmid = :k", key)
    # A series has a table when its series matrix file carried values (one column per
    # sample): the statistics tab compares its samples' characteristics on it.
    if record_type in ("sample", "platform", "dataset", "series"):
        out["table"] = _table_summary(conn, key)
    return out


def _sample_summary(accession: str, doc: str | None) -> dict[str, Any]:
    if doc is None:
        return {"accession": accession, "title": None, "characteristics": []}
    d = orjson.loads(doc)
    return {
        "accession": accession,
        "title": d.get("title"),
        "organisms": d.get("organisms") or [],
        "characteristics": d.get("characteristics") or [],
    }


def _links(conn: Connection, where: str, key: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT r.series, r.pmid, r.relation, r.source, r.confidence, p.title, p.journal, p.year "
            f"FROM relationships r LEFT JOIN publications p ON p.pmid = r.pmid WHERE {where} "
            "ORDER BY r.confidence DESC, r.pmid, r.source"
        ),
        {"k": key},
    )
    return [_link(*row) for row in rows]


def publications_of(conn: Connection, accessions: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Linked publications of many series, in one statement (the caller bounds the list)."""
    out: dict[str, list[dict[str, Any]]] = {acc: [] for acc in accessions}
    if not out:
        return out
    rows = conn.execute(
        _in(
            "SELECT r.series, r.pmid, r.relation, r.source, r.confidence, p.title, p.journal, p.year "
            "FROM relationships r LEFT JOIN publications p ON p.pmid = r.pmid "
            "WHERE r.series IN :keys ORDER BY r.series, r.confidence DESC, r.pmid, r.source"
        ),
        {"keys": list(out)},
    )
    for row in rows:
        out[row[0]].append(_link(*row))
    return out


def publication_docs(conn: Connection, pmids: Sequence[str]) -> list[dict[str, Any]]:
    """Stored publication records, in the order asked (unknown PMIDs left out)."""
    keys = list(dict.fromkeys(pmids))
    if not keys:
        return []
    docs = {
        pmid: orjson.loads(doc)
        for pmid, doc in conn.execute(
            _in("SELECT pmid, doc FROM publications WHERE pmid IN :keys"), {"keys": keys}
        )
    }
    return [docs[k] for k in keys if k in docs]


def _link(
    series: str,
    pmid: str,
    relation: str,
    source: str,
    confidence: float,
    title: str | None,
    journal: str | None,
    year: int | None,
) -> dict[str, Any]:
    return {
        "series": series,
        "pmid": pmid,
        "relation": relation,
        "source": source,
        "confidence": confidence,
        "title": title,
        "journal": journal,
        "year": year,
    }


def _table_summary(conn: Connection, owner: str) -> dict[str, Any] | None:
    row = conn.execute(
        text(
            "SELECT count(*), coalesce(sum(n_rows), 0), min(columns) FROM data_tables WHERE owner = :k"
        ),
        {"k": owner},
    ).first()
    if row is None or not row[0]:
        return None
    return {"chunks": row[0], "rows": row[1], "columns": orjson.loads(row[2])}


def stats(conn: Connection) -> dict[str, Any]:
    """Count of each record type and when data last changed."""
    counts = {
        name: conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
        for name, table in RECORD_TABLES.items()
    }
    counts["relationship"] = conn.execute(text("SELECT count(*) FROM relationships")).scalar_one()
    last = conn.execute(
        text("SELECT max(finished_at) FROM ingest_runs WHERE status IN ('ok', 'partial')")
    ).scalar_one()
    runs = conn.execute(text("SELECT count(*) FROM ingest_runs")).scalar_one()
    return {"counts": counts, "last_ingest": last, "ingest_runs": runs}
