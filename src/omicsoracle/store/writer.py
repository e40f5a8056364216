"""The write path: idempotent upserts with a change-log row per real change.

One ``SqlWriteSession`` is one file's transaction. Each batch reads the stored
content hashes of its keys in one query, writes only what differs, and logs each
change in ``changes`` inside the same transaction, so the search index (fed from
that log) can never miss or invent a change.
"""

from __future__ import annotations

import copy
import hashlib
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection, bindparam, text

from omicsoracle.merge import is_empty, merge_series
from omicsoracle.model import (
    Dataset,
    DatasetSubset,
    DataTable,
    Platform,
    Publication,
    PublicationDeletion,
    Record,
    Rejected,
    Relationship,
    Sample,
    Series,
)
from omicsoracle.store.base import WriteCounts
from omicsoracle.store.bulk import execute_many


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def content_hash(payload: str | bytes) -> str:
    data = payload.encode() if isinstance(payload, str) else payload
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class _Row:
    key: str
    doc: str
    hash: str
    columns: dict[str, Any]


class SqlWriteSession:
    """Writes batches of records inside one open transaction."""

    def __init__(self, conn: Connection, run_id: int | None) -> None:
        self.conn = conn
        self.run_id = run_id
        self.counts = WriteCounts()
        self._changes: list[dict[str, Any]] = []
        # (record_type, accession) of every change logged so far in this transaction.
        self._logged: list[tuple[str, str]] = []

    # -- public -------------------------------------------------------------------------

    def savepoint(self) -> Savepoint:
        """A nested transaction: lets one record (and its table) be undone alone."""
        return Savepoint(self)

    def truncate_table(self, owner: str, last_seq: int) -> None:
        """Drop chunks of ``owner``'s table after ``last_seq`` (left by a longer old table)."""
        gone = self.conn.execute(
            text("DELETE FROM data_tables WHERE owner = :o AND seq > :s"),
            {"o": owner, "s": last_seq},
        ).rowcount
        if gone:
            self.counts.bump(self.counts.deleted, "table_chunk", gone)

    def changed_keys(self, record_type: str) -> set[str]:
        """Keys of ``record_type`` this transaction inserted or changed so far."""
        return {k for t, k in self._logged if t == record_type}

    def put_sync_position(self, name: str, position: dict[str, Any]) -> None:
        """Store where sync ``name`` stands, committed with this transaction's records."""
        from omicsoracle.store import sync_state

        sync_state.put_position(self.conn, name, position)

    def put_file_stat(self, path: str, size: int, mtime_ns: int, file_hash: str) -> None:
        """Mark ``path`` ingested cleanly (``--skip-seen``), committed with its records."""
        from omicsoracle.store import file_stats

        file_stats.put(self.conn, path, size, mtime_ns, file_hash)

    def queue_pending(self, name: str, accessions: Sequence[str]) -> None:
        """Queue accessions for sync ``name``'s follow-up (``--full``), with this batch."""
        from omicsoracle.store import sync_state

        sync_state.queue_pending(self.conn, name, accessions)

    def write(self, records: Sequence[Record]) -> None:
        """Write one batch. Rejected records are the caller's business and are ignored."""
        groups: dict[type, list[Any]] = {}
        for record in records:
            groups.setdefault(type(record), []).append(record)
        if Series in groups:
            self._write_series(groups[Series])
        if Sample in groups:
            self._write_samples(groups[Sample])
        if Platform in groups:
            self._write_simple("platforms", "accession", "platform", groups[Platform], _no_columns)
        if Dataset in groups:
            self._write_datasets(groups[Dataset])
        if DataTable in groups:
            self._write_tables(groups[DataTable])
        if Publication in groups:
            self._write_publications(groups[Publication])
        if Relationship in groups:
            self._write_relationships(groups[Relationship])
        if PublicationDeletion in groups:
            self._delete_publications(groups[PublicationDeletion])
        assert not (set(groups) - _HANDLED), f"unhandled record types {set(groups) - _HANDLED}"
        self._flush_changes()

    # -- record types -------------------------------------------------------------------

    def _write_series(self, records: list[Series]) -> None:
        incoming: dict[str, dict[str, Any]] = {}
        order: list[dict[str, Any]] = []
        for record in records:
            order.append(orjson.loads(orjson.dumps(record)))
        keys = list(dict.fromkeys(d["accession"] for d in order))
        stored = self._fetch("series", "accession", keys, "doc, field_sources, content_hash")
        current = {k: (orjson.loads(v[0]), orjson.loads(v[1]), v[2]) for k, v in stored.items()}
        for doc in order:
            key = doc["accession"]
            base, sources, _ = current.get(key, (None, None, None))
            merged, merged_sources = merge_series(base, sources, doc)
            current[key] = (merged, merged_sources, None)
            incoming[key] = merged
        rows = []
        for key, merged in incoming.items():
            payload = dumps(merged)
            rows.append(
                _Row(
                    key,
                    payload,
                    content_hash(payload),
                    {
                        "title": merged.get("title"),
                        "n_samples": merged.get("n_samples"),
                        "release_date": merged.get("release_date"),
                        "field_sources": dumps(current[key][1]),
                    },
                )
            )
        changed = self._upsert("series", "accession", "series", rows, stored)
        for key in changed:
            samples = incoming[key].get("samples") or []
            if samples:
                # The series' own sample list is authoritative: drop links it no longer names.
                self.conn.execute(
                    text(
                        "DELETE FROM series_samples WHERE series = :s AND sample NOT IN :keys"
                    ).bindparams(bindparam("keys", expanding=True)),
                    {"s": key, "keys": samples},
                )
        links = [
            {"series": d["accession"], "sample": s}
            for d in incoming.values()
            if d["accession"] in changed
            for s in d.get("samples") or ()
        ]
        self._link_samples(links)
        self._prune_links(
            {
                (d["accession"], d["source"]): set(d.get("pubmed_ids") or ())
                for d in order
                if d["source"] in SERIES_LINK_SOURCES
            }
        )

    def _prune_links(self, declared: dict[tuple[str, str], set[str]]) -> None:
        """Delete series-publication links a source no longer declares.

        ``declared`` maps (series, source) to the PMIDs that source names now; a
        re-ingested record that drops or corrects a PubMed ID takes its old link along.
        """
        if not declared:
            return
        series = list({k[0] for k in declared})
        stale = [
            {"series": s, "pmid": p, "source": src}
            for s, p, src in self.conn.execute(
                text(
                    "SELECT series, pmid, source FROM relationships WHERE series IN :keys"
                ).bindparams(bindparam("keys", expanding=True)),
                {"keys": series},
            )
            if (s, src) in declared and p not in declared[(s, src)]
        ]
        if not stale:
            return
        self.conn.execute(
            text(
                "DELETE FROM relationships WHERE series = :series AND pmid = :pmid AND source = :source"
            ),
            stale,
        )
        for link in stale:
            self._change("relationship", f"{link['series']}|{link['pmid']}", "delete")
        self.counts.bump(self.counts.deleted, "relationship", len(stale))

    def _absorb_summaries(self, table: str, records: list[Any]) -> list[Any]:
        """Fold summary records (esummary stubs) into the fuller record they describe.

        A summary never wipes a full record's fields: over a stored (or earlier in
        the batch) record from a full source it only fills empty fields; over another
        summary it replaces it. A sample's series lists are united either way (one
        stub per series the sample belongs to).
        """
        summary_keys = [r.accession for r in records if r.source in SUMMARY_SOURCES]
        if not summary_keys:
            return records
        stored = self._fetch(table, "accession", list(dict.fromkeys(summary_keys)), "doc")
        current: dict[str, dict[str, Any]] = {k: orjson.loads(v) for k, v in stored.items()}
        out: list[Any] = []
        for record in records:
            doc = orjson.loads(orjson.dumps(record))
            base = current.get(record.accession)
            if record.source in SUMMARY_SOURCES and base is not None:
                doc = _fold_summary(base, doc)
                record = _from_doc(type(record), doc)
            current[record.accession] = doc
            out.append(record)
        return out

    def _write_samples(self, records: list[Sample]) -> None:
        records = self._absorb_summaries("samples", records)
        changed = self._write_simple(
            "samples", "accession", "sample", records, lambda r: {"platform": r.platform}
        )
        links = [
            {"series": s, "sample": r.accession}
            for r in records
            if r.accession in changed
            for s in r.series
        ]
        self._link_samples(links)

    def _write_datasets(self, records: list[Dataset]) -> None:
        records = self._absorb_summaries("datasets", records)
        changed = self._write_simple(
            "datasets",
            "accession",
            "dataset",
            records,
            lambda r: {"reference_series": r.reference_series, "platform": r.platform},
        )
        fresh = [r for r in records if r.accession in changed]
        if not fresh:
            return
        self.conn.execute(
            text("DELETE FROM dataset_subsets WHERE dataset IN :keys").bindparams(
                bindparam("keys", expanding=True)
            ),
            {"keys": [r.accession for r in fresh]},
        )
        subsets = [
            {
                "dataset": r.accession,
                "subset_id": s.id,
                "type": s.type,
                "description": s.description,
                "samples": dumps(s.samples),
            }
            for r in fresh
            for s in r.subsets
        ]
        if subsets:
            self.conn.execute(
                text(
                    "INSERT INTO dataset_subsets (dataset, subset_id, type, description, samples) "
                    "VALUES (:dataset, :subset_id, :type, :description, :samples) "
                    "ON CONFLICT (dataset, subset_id) DO UPDATE SET type = excluded.type, "
                    "description = excluded.description, samples = excluded.samples"
                ),
                subsets,
            )

    def _write_tables(self, chunks: list[DataTable]) -> None:
        keys = [(c.owner, c.seq) for c in chunks]
        stored: dict[tuple[str, int], str] = {}
        owners = list({c.owner for c in chunks})
        for owner, seq, digest in self.conn.execute(
            text(
                "SELECT owner, seq, content_hash FROM data_tables WHERE owner IN :owners"
            ).bindparams(bindparam("owners", expanding=True)),
            {"owners": owners},
        ):
            stored[(owner, seq)] = digest
        rows = []
        for chunk, key in zip(chunks, keys, strict=True):
            payload = orjson.dumps([chunk.columns, chunk.rows])
            digest = content_hash(payload)
            old = stored.get(key)
            if old == digest:
                self.counts.bump(self.counts.unchanged, "table_chunk")
                continue
            self.counts.bump(
                self.counts.inserted if old is None else self.counts.updated, "table_chunk"
            )
            rows.append(
                {
                    "owner": chunk.owner,
                    "seq": chunk.seq,
                    "columns": dumps(chunk.columns),
                    "n_rows": len(chunk.rows),
                    "rows": zlib.compress(payload, 6),
                    "content_hash": digest,
                }
            )
        if rows:
            self.conn.execute(
                text(
                    "INSERT INTO data_tables (owner, seq, columns, n_rows, rows, content_hash) "
                    "VALUES (:owner, :seq, :columns, :n_rows, :rows, :content_hash) "
                    "ON CONFLICT (owner, seq) DO UPDATE SET columns = excluded.columns, "
                    "n_rows = excluded.n_rows, rows = excluded.rows, "
                    "content_hash = excluded.content_hash"
                ),
                rows,
            )

    def _write_publications(self, records: list[Publication]) -> None:
        changed = self._write_simple(
            "publications",
            "pmid",
            "publication",
            records,
            lambda r: {"title": r.title, "journal": r.journal, "year": r.year},
        )
        fresh = [r for r in records if r.pmid in changed]
        if not fresh:
            return
        self._prune_databank_links(fresh)
        self._delete_children([r.pmid for r in fresh])
        authors = [
            {
                "pmid": r.pmid,
                "position": i,
                "last_name": a.last_name,
                "fore_name": a.fore_name,
                "initials": a.initials,
                "collective": a.collective,
                "affiliation": "; ".join(a.affiliations) or None,
            }
            for r in fresh
            for i, a in enumerate(r.authors)
        ]
        if authors:
            self.conn.execute(
                text(
                    "INSERT INTO authors (pmid, position, last_name, fore_name, initials, "
                    "collective, affiliation) VALUES (:pmid, :position, :last_name, :fore_name, "
                    ":initials, :collective, :affiliation)"
                ),
                authors,
            )
        terms: dict[tuple[str, str, str], bool] = {}
        for r in fresh:
            for m in r.mesh:
                key = (r.pmid, "mesh", m.descriptor)
                terms[key] = terms.get(key, False) or m.major
            for kw in r.keywords:
                terms.setdefault((r.pmid, "keyword", kw), False)
            for pt in r.publication_types:
                terms.setdefault((r.pmid, "publication_type", pt), False)
        if terms:
            self.conn.execute(
                text(
                    "INSERT INTO publication_terms (pmid, kind, term, major) "
                    "VALUES (:pmid, :kind, :term, :major)"
                ),
                [
                    {"pmid": p, "kind": k, "term": t, "major": major}
                    for (p, k, t), major in terms.items()
                ],
            )

    def _prune_databank_links(self, records: list[Publication]) -> None:
        """An article's new version decides which GEO series PubMed links it to."""
        declared = {r.pmid: set(r.geo_accessions) for r in records}
        stale = [
            {"series": s, "pmid": p}
            for s, p in self.conn.execute(
                text(
                    "SELECT series, pmid FROM relationships WHERE source = 'pubmed_databank' "
                    "AND pmid IN :keys"
                ).bindparams(bindparam("keys", expanding=True)),
                {"keys": list(declared)},
            )
            if s not in declared[p]
        ]
        if stale:
            self.conn.execute(
                text(
                    "DELETE FROM relationships WHERE series = :series AND pmid = :pmid "
                    "AND source = 'pubmed_databank'"
                ),
                stale,
            )
            for link in stale:
                self._change("relationship", f"{link['series']}|{link['pmid']}", "delete")
            self.counts.bump(self.counts.deleted, "relationship", len(stale))

    def _write_relationships(self, records: list[Relationship]) -> None:
        unique = {(r.series, r.pmid, r.source): r for r in records}
        stored: dict[tuple[str, str, str], tuple[str, float]] = {}
        series_keys = list({k[0] for k in unique})
        for series, pmid, source, relation, confidence in self.conn.execute(
            text(
                "SELECT series, pmid, source, relation, confidence FROM relationships "
                "WHERE series IN :keys"
            ).bindparams(bindparam("keys", expanding=True)),
            {"keys": series_keys},
        ):
            stored[(series, pmid, source)] = (relation, confidence)
        rows = []
        for key, r in unique.items():
            old = stored.get(key)
            if old == (r.relation, r.confidence):
                self.counts.bump(self.counts.unchanged, "relationship")
                continue
            self.counts.bump(
                self.counts.inserted if old is None else self.counts.updated, "relationship"
            )
            rows.append(
                {
                    "series": r.series,
                    "pmid": r.pmid,
                    "source": r.source,
                    "relation": r.relation,
                    "confidence": r.confidence,
                }
            )
            self._change("relationship", f"{r.series}|{r.pmid}", "upsert")
        if rows:
            self.conn.execute(
                text(
                    "INSERT INTO relationships (series, pmid, source, relation, confidence) "
                    "VALUES (:series, :pmid, :source, :relation, :confidence) "
                    "ON CONFLICT (series, pmid, source) DO UPDATE SET "
                    "relation = excluded.relation, confidence = excluded.confidence"
                ),
                rows,
            )

    def _delete_publications(self, records: list[PublicationDeletion]) -> None:
        pmids = list(dict.fromkeys(p for r in records for p in r.pmids))
        present = self._fetch("publications", "pmid", pmids, "content_hash")
        # Links PubMed itself asserted go with the article; links GEO submitters
        # declared (series -> PMID) stay, since the series still names the PMID.
        links = self.conn.execute(
            text(
                "SELECT series, pmid FROM relationships WHERE source = 'pubmed_databank' "
                "AND pmid IN :keys"
            ).bindparams(bindparam("keys", expanding=True)),
            {"keys": pmids},
        ).all()
        if links:
            self.conn.execute(
                text(
                    "DELETE FROM relationships WHERE source = 'pubmed_databank' AND pmid IN :keys"
                ).bindparams(bindparam("keys", expanding=True)),
                {"keys": pmids},
            )
            for series, pmid in links:
                self._change("relationship", f"{series}|{pmid}", "delete")
            self.counts.bump(self.counts.deleted, "relationship", len(links))
        if present:
            gone = list(present)
            self._delete_children(gone)
            self.conn.execute(
                text("DELETE FROM publications WHERE pmid IN :keys").bindparams(
                    bindparam("keys", expanding=True)
                ),
                {"keys": gone},
            )
            for pmid in gone:
                self._change("publication", pmid, "delete")
            self.counts.bump(self.counts.deleted, "publication", len(gone))

    # -- shared machinery ---------------------------------------------------------------

    def _write_simple(
        self,
        table: str,
        key: str,
        record_type: str,
        records: Iterable[Any],
        columns: Any,
    ) -> set[str]:
        latest: dict[str, Any] = {}
        for r in records:
            latest[getattr(r, key)] = r  # the last record for a key in a batch wins
        rows = []
        for k, r in latest.items():
            payload = orjson.dumps(r).decode()
            rows.append(_Row(k, payload, content_hash(payload), columns(r)))
        stored = self._fetch(table, key, list(latest), "content_hash")
        return self._upsert(table, key, record_type, rows, stored)

    def _fetch(self, table: str, key: str, keys: list[str], columns: str) -> dict[str, Any]:
        if not keys:
            return {}
        stmt = text(f"SELECT {key}, {columns} FROM {table} WHERE {key} IN :keys").bindparams(
            bindparam("keys", expanding=True)
        )
        return {
            row[0]: row[1:] if len(row) > 2 else row[1]
            for row in self.conn.execute(stmt, {"keys": keys})
        }

    def _upsert(
        self, table: str, key: str, record_type: str, rows: list[_Row], stored: dict[str, Any]
    ) -> set[str]:
        """Write rows whose hash differs from the stored one; returns the changed keys."""
        stamp = now_iso()
        params = []
        changed: set[str] = set()
        for row in rows:
            old = stored.get(row.key)
            old_hash = old[-1] if isinstance(old, tuple) else old
            if old_hash == row.hash:
                self.counts.bump(self.counts.unchanged, record_type)
                continue
            self.counts.bump(
                self.counts.inserted if old is None else self.counts.updated, record_type
            )
            changed.add(row.key)
            params.append(
                {
                    key: row.key,
                    "doc": row.doc,
                    "content_hash": row.hash,
                    "updated_at": stamp,
                    **row.columns,
                }
            )
            self._change(record_type, row.key, "upsert")
        if params:
            names = list(params[0])
            updates = ", ".join(f"{n} = excluded.{n}" for n in names if n != key)
            execute_many(
                self.conn,
                f"INSERT INTO {table} ({', '.join(names)}) VALUES "
                f"({', '.join(':' + n for n in names)}) "
                f"ON CONFLICT ({key}) DO UPDATE SET {updates}",
                params,
            )
        return changed

    def _link_samples(self, links: list[dict[str, str]]) -> None:
        if links:
            execute_many(
                self.conn,
                "INSERT INTO series_samples (series, sample) VALUES (:series, :sample) "
                "ON CONFLICT (series, sample) DO NOTHING",
                links,
            )

    def _delete_children(self, pmids: list[str]) -> None:
        for table in ("authors", "publication_terms"):
            self.conn.execute(
                text(f"DELETE FROM {table} WHERE pmid IN :keys").bindparams(
                    bindparam("keys", expanding=True)
                ),
                {"keys": pmids},
            )

    def _change(self, record_type: str, accession: str, op: str) -> None:
        self._changes.append(
            {"record_type": record_type, "accession": accession, "op": op, "run_id": self.run_id}
        )

    def _flush_changes(self) -> None:
        if not self._changes:
            return
        stamp = now_iso()
        execute_many(
            self.conn,
            "INSERT INTO changes (record_type, accession, op, run_id, at) "
            "VALUES (:record_type, :accession, :op, :run_id, :at)",
            [{**c, "at": stamp} for c in self._changes],
        )
        self._logged.extend(
            (c["record_type"], c["accession"]) for c in self._changes if c["op"] == "upsert"
        )
        self._changes.clear()


class Savepoint:
    """Undo point inside a file's transaction (SQL SAVEPOINT)."""

    def __init__(self, session: SqlWriteSession) -> None:
        self._session = session
        self._saved = copy.deepcopy(session.counts)
        self._logged = len(session._logged)
        self._tx = session.conn.begin_nested()

    def release(self) -> None:
        self._tx.commit()

    def rollback(self) -> None:
        self._tx.rollback()
        self._session.counts = self._saved
        self._session._changes.clear()
        del self._session._logged[self._logged :]


# Series record sources whose PubMed IDs arrive as Relationship rows of the same source.
SERIES_LINK_SOURCES = frozenset({"geo_soft", "geo_miniml", "geo_series_matrix", "geo_browse_csv"})


# Sources of summary records (NCBI esummary): a Sample stub or a docsum Dataset that
# must not replace the full record a SOFT/MINiML file stored (characteristics, subsets).
SUMMARY_SOURCES = frozenset({"geo_eutils"})


def _fold_summary(base: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    """A summary doc folded into the doc stored for the same accession."""
    if base.get("source") in SUMMARY_SOURCES:
        doc = dict(summary)  # a newer summary replaces an older one
    else:
        doc = dict(base)
        for field, value in summary.items():
            keep = field in ("accession", "source") or not is_empty(doc.get(field))
            if not keep and not is_empty(value):
                doc[field] = value
    if "series" in summary:
        doc["series"] = list(dict.fromkeys([*(base.get("series") or ()), *summary["series"]]))
    return doc


def _from_doc(cls: type[Any], doc: dict[str, Any]) -> Any:
    """The record a stored doc describes (unknown keys of older docs dropped)."""
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in doc.items() if k in names}
    if cls is Dataset:
        values["subsets"] = [DatasetSubset(**s) for s in values.get("subsets") or ()]
    return cls(**values)


def _no_columns(_record: object) -> dict[str, Any]:
    return {}


_HANDLED = frozenset(
    {
        Series,
        Sample,
        Platform,
        Dataset,
        DataTable,
        Publication,
        Relationship,
        PublicationDeletion,
        Rejected,
    }
)
