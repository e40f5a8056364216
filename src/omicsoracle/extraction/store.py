"""Entities and characteristics in the store: the enrichment step and its reads.

The tables (migration 0004) are derived data. :func:`enrich` fills them for the records
the change log says were written since the last enrichment (after an ingest), or for
every record (``omicsoracle enrich --all``, e.g. after a vocabulary change). Writes go
through the store's one writer (``Store.transaction``); reads use its read engine.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from sqlalchemy import Connection, bindparam, text

from omicsoracle.extraction import characteristics as chars
from omicsoracle.extraction import vocabulary
from omicsoracle.extraction.entities import extract_record
from omicsoracle.extraction.worker import ExtractorPool, extract_docs
from omicsoracle.store import Store
from omicsoracle.store.base import Change
from omicsoracle.store.bulk import execute_many
from omicsoracle.store.records import record_type_of
from omicsoracle.store.writer import now_iso

# record type -> (table, key column)
TABLES = {
    "series": ("series", "accession"),
    "sample": ("samples", "accession"),
    "dataset": ("datasets", "accession"),
    "platform": ("platforms", "accession"),
    "publication": ("publications", "pmid"),
}
BATCH = 1000
WINDOW = 200_000
PARALLEL_MIN_RECORDS = 50_000
log = logging.getLogger(__name__)


def _in(sql: str) -> Any:
    return text(sql).bindparams(bindparam("keys", expanding=True))


def _read(store: Store) -> Any:
    return cast(Any, store).read_engine


@dataclass
class EnrichReport:
    records: dict[str, int] = field(default_factory=dict)
    entities: int = 0
    characteristics: int = 0
    series: int = 0  # series queued for re-indexing (their facets changed)
    full: bool = False  # every record again: the store was enriched by another version
    outdated: bool = False  # enriched by another version, not upgraded (enrich --all)
    seconds: float = 0.0
    last_change: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": dict(self.records),
            "entities": self.entities,
            "characteristics": self.characteristics,
            "series": self.series,
            "full": self.full,
            "outdated": self.outdated,
            "seconds": round(self.seconds, 2),
            "last_change": self.last_change,
        }


# --- vocabulary from the corpus -----------------------------------------------------------

_VOCABS: dict[str, vocabulary.Vocabulary] = {}


def corpus_values(conn: Connection) -> list[tuple[str, str]]:
    """(entity type, value) of the stored tissue / cell type / cell line characteristics."""
    rows = conn.execute(
        _in("SELECT DISTINCT key, value FROM sample_characteristics WHERE key IN :keys"),
        {"keys": sorted(chars.VOCABULARY_KEYS)},
    )
    return sorted((chars.VOCABULARY_KEYS[k], v) for k, v in rows)


def annotation_tables(conn: Connection) -> list[tuple[str, str]]:
    """(platform, content digest) of the stored tables of human platforms: their gene
    symbols are HGNC's, the symbols the gene facet shows (a mouse platform's "Stat3"
    would be a second spelling of STAT3)."""
    human = {
        acc
        for acc, doc in conn.execute(
            text(
                "SELECT accession, doc FROM platforms WHERE accession IN "
                "(SELECT DISTINCT owner FROM data_tables WHERE owner LIKE 'GPL%')"
            )
        )
        if "Homo sapiens" in (orjson.loads(doc).get("organisms") or ())
    }
    rows = conn.execute(
        text(
            "SELECT owner, content_hash FROM data_tables WHERE owner LIKE 'GPL%' ORDER BY owner, seq"
        )
    )
    digests: dict[str, list[str]] = {}
    for owner, digest in rows:
        if owner in human:
            digests.setdefault(owner, []).append(digest)
    return [
        (owner, hashlib.sha256("".join(d).encode()).hexdigest()) for owner, d in digests.items()
    ]


# (platform, table digest) -> its symbols: a vocabulary rebuild (any new characteristic
# value changes the fingerprint) reads only the tables it has not read before.
_TABLE_GENES: dict[tuple[str, str], dict[str, str]] = {}
_TABLE_GENES_MAX = 256


def platform_genes(store: Store, tables: Sequence[tuple[str, str]]) -> dict[str, str]:
    """symbol -> Entrez gene id over the stored ``(platform, digest)`` tables that carry
    gene symbols (GEO annotation files: "Gene symbol", "Gene ID"); others are skipped."""
    genes: dict[str, str] = {}
    for table in tables:
        found = _TABLE_GENES.get(table)
        if found is None:
            found = {}
            columns: tuple[int, int] | None = None
            for names, rows in store.data_table(table[0]):
                columns = columns or vocabulary.annotation_columns(names)
                if columns is None:
                    break
                for symbol, gene_id in vocabulary.annotation_pairs(rows, *columns):
                    found.setdefault(symbol, gene_id)
            if len(_TABLE_GENES) >= _TABLE_GENES_MAX:
                _TABLE_GENES.clear()
            _TABLE_GENES[table] = found
        for symbol, gene_id in found.items():
            genes.setdefault(symbol, gene_id)
    return genes


def vocabulary_inputs(store: Store) -> tuple[list[tuple[str, str]], dict[str, str], str]:
    """What the vocabulary is built from: this corpus' characteristic values, the gene
    symbols of its stored platform annotations, and their fingerprint."""
    with _read(store).connect() as conn:
        values = corpus_values(conn)
        tables = annotation_tables(conn)
    digest = hashlib.sha256(orjson.dumps([values, tables])).hexdigest()[:16]
    return values, platform_genes(store, tables), digest


def vocabulary_for(store: Store) -> tuple[vocabulary.Vocabulary, str]:
    """The vocabulary with this corpus' characteristics values and the gene symbols of its
    stored platform annotations, and its fingerprint (which changes with either)."""
    values, genes, digest = vocabulary_inputs(store)
    if digest not in _VOCABS:
        _VOCABS.clear()  # one corpus per process in practice; do not grow
        _VOCABS[digest] = vocabulary.build(values, genes)
    return _VOCABS[digest], digest


# --- the enrichment step ------------------------------------------------------------------


# What the same text yields changes with the extractor's code and its exclusions: a store
# enriched under another version is enriched again in full by the next run (an upgrade
# drops what the new version no longer tags). Bump on any change to the extraction rules.
EXTRACTOR_VERSION = 2


def extractor_version() -> str:
    """The version stamp stored with each enrichment (code version + exclusions file)."""
    exclusions = hashlib.sha256(vocabulary.EXCLUDED_FILE.read_bytes()).hexdigest()[:8]
    return f"{EXTRACTOR_VERSION}.{exclusions}"


def _state(conn: Connection) -> int:
    row = conn.execute(
        text("SELECT change_id FROM enrichment_state WHERE name = 'entities'")
    ).first()
    return int(row[0]) if row else 0


def _stored_version(store: Store) -> str | None:
    with _read(store).connect() as conn:
        row = conn.execute(
            text("SELECT vocabulary FROM enrichment_state WHERE name = 'entities'")
        ).first()
    return None if row is None else str(row[0]).split(":", 1)[0]


def outdated(store: Store) -> bool:
    """True when the store was enriched by another extractor version than this one."""
    stored = _stored_version(store)
    return stored is not None and stored != extractor_version()


@dataclass(slots=True)
class _Window:
    """The records of one stretch of the change log (or of the tables, for ``--all``):
    keys to extract per record type, and the (type, key) pairs deleted."""

    todo: dict[str, set[str]]
    deleted: set[tuple[str, str]]


def _windows(store: Store, full: bool, after: int, last: int) -> Iterator[_Window]:
    """The work of a run, WINDOW change-log rows (or WINDOW keys) at a time.

    A bulk ingest of GEO logs ~10M changes: a set of every pending key (and the list
    of their changes) held 2 GB. A window holds at most WINDOW keys; within one the
    latest operation on a key wins, and windows are applied in log order, so a key
    written in one window and deleted in a later one ends deleted. A key written in
    two windows is extracted twice (the same rows again), which a bulk load, where
    each record is logged once, does not do.
    """
    if full:
        for record_type, (table, key) in TABLES.items():
            start = ""
            while True:
                with _read(store).connect() as conn:
                    keys = list(conn.execute(
                        text(f"SELECT {key} FROM {table} WHERE {key} > :k ORDER BY {key} LIMIT :n"),
                        {"k": start, "n": WINDOW},
                    ).scalars())  # fmt: skip
                if not keys:
                    break
                yield _Window({record_type: set(keys)}, set())
                start = keys[-1]
        return
    window = _Window({t: set() for t in TABLES}, set())
    seen = 0
    while after < last:
        batch = store.changes_since(after, 10_000)
        if not batch:
            break
        for c in batch:
            if c.id > last:
                break
            if c.record_type in TABLES:
                seen += 1
                if c.op == "delete":
                    window.deleted.add((c.record_type, c.accession))
                    window.todo[c.record_type].discard(c.accession)
                else:
                    window.todo[c.record_type].add(c.accession)
                    window.deleted.discard((c.record_type, c.accession))
        after = batch[-1].id
        if seen >= WINDOW:
            yield window
            window, seen = _Window({t: set() for t in TABLES}, set()), 0
    if seen:
        yield window


def _record_count(store: Store) -> int:
    with _read(store).connect() as conn:
        return sum(
            int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table, _ in TABLES.values()
        )


def _has_work(store: Store, after: int, last: int) -> int:
    """Record changes (not the enrichment's own annotation rows) between the positions."""
    with _read(store).connect() as conn:
        return int(conn.execute(
            _in("SELECT count(*) FROM changes WHERE id > :a AND id <= :l AND record_type IN :keys"),
            {"a": after, "l": last, "keys": sorted(TABLES)},
        ).scalar_one())  # fmt: skip


def _raw_docs(store: Store, record_type: str, keys: Sequence[str]) -> list[tuple[str, str]]:
    table, key = TABLES[record_type]
    with _read(store).connect() as conn:
        rows = conn.execute(
            _in(f"SELECT {key}, doc FROM {table} WHERE {key} IN :keys"), {"keys": list(keys)}
        )
        return [(k, doc) for k, doc in rows]


def _docs(store: Store, record_type: str, keys: Sequence[str]) -> list[tuple[str, dict[str, Any]]]:
    return [(k, orjson.loads(doc)) for k, doc in _raw_docs(store, record_type, keys)]


# SQLite's lower() folds ASCII letters only: Python must fold the same way, or a value
# with a non-ASCII capital would never find its stored spelling (it is then kept as is).
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _fold(value: str) -> str:
    return value.translate(_ASCII_LOWER)


def _one_spelling(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write each value in the spelling already stored for it (else the batch's first), so
    "HeLa", "HELA" and "Hela" are one facet value: the search filters on characteristics
    are case-insensitive, and a facet must count what its filter selects.

    The smallest stored spelling wins, so the choice never depends on row order; only
    a value the store has never seen in any case takes the batch's spelling. Each value
    is one probe on migration 0007's (key, lower(value), value) index: a correlated
    ``min(value)`` reads the first entry, however many samples share the value (a
    grouped ``min`` read all 250,000 "tissue: liver" rows at GEO scale), and the
    probes go 500 to a statement, as a VALUES list.
    """
    wanted: dict[str, set[str]] = {}
    for row in rows:
        wanted.setdefault(row["key"], set()).add(_fold(row["value"]))
    spelling: dict[tuple[str, str], str] = {}
    for key, folded in wanted.items():
        values = sorted(folded)
        for i in range(0, len(values), SPELLING_PROBES):
            chunk = values[i : i + SPELLING_PROBES]
            found = conn.execute(_spelling_query(len(chunk), conn.dialect.name),
                                 {"k": key, **{f"v{j}": v for j, v in enumerate(chunk)}})  # fmt: skip
            for low, stored in found:
                if stored is not None:
                    spelling[(key, low)] = stored
    for row in rows:
        slot = (row["key"], _fold(row["value"]))
        row["value"] = spelling.setdefault(slot, row["value"])


SPELLING_PROBES = 500


@functools.lru_cache(maxsize=16)
def _spelling_query(n: int, dialect: str) -> Any:
    # PostgreSQL needs the VALUES column typed; on SQLite a CAST gives it TEXT affinity,
    # and the planner then no longer matches lower(c.value) = w.v to the index.
    param = "CAST(:v{} AS TEXT)" if dialect == "postgresql" else ":v{}"
    values = ", ".join(f"({param.format(j)})" for j in range(n))
    return text(
        f"WITH w(v) AS (VALUES {values}) SELECT w.v, (SELECT min(c.value) "
        "FROM sample_characteristics c WHERE c.key = :k AND lower(c.value) = w.v) FROM w"
    )


def _write_characteristics(store: Store, docs: list[tuple[str, dict[str, Any]]]) -> int:
    rows = [
        {"sample": key, "seq": i, "key": c.key, "value": c.value, "raw": c.raw}
        for key, doc in docs
        for i, c in enumerate(chars.normalize(key, doc.get("characteristics") or ()))
    ]
    with store.transaction(None) as session:
        conn = cast(Any, session).conn
        # Deleted first: a resubmitted sample's own old spelling must not outvote it.
        conn.execute(_in("DELETE FROM sample_characteristics WHERE sample IN :keys"),
                     {"keys": [k for k, _ in docs]})  # fmt: skip
        _one_spelling(conn, rows)
        execute_many(
            conn,
            "INSERT INTO sample_characteristics (sample, seq, key, value, raw) "
            "VALUES (:sample, :seq, :key, :value, :raw)",
            rows,
        )
    return len(rows)


def _write_entities(store: Store, keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
    with store.transaction(None) as session:
        conn = cast(Any, session).conn
        conn.execute(_in("DELETE FROM entities WHERE record_id IN :keys"), {"keys": list(keys)})
        execute_many(
            conn,
            "INSERT INTO entities (record_id, seq, record_type, type, text, normalized, "
            "field, span_start, span_end, source, context) VALUES (:record_id, :seq, "
            ":record_type, :type, :text, :normalized, :field, :span_start, :span_end, "
            ":source, :context)",
            rows,
        )


def enrich(
    store: Store,
    *,
    full: bool = False,
    upgrade: bool = False,
    progress: Callable[[int], None] | None = None,
    jobs: int = 1,
) -> EnrichReport:
    """Extract entities (and normalise characteristics) of the records changed since the
    last enrichment, or of every record when ``full``; returns what was done.

    A store enriched by another extractor version is enriched again in full only when
    ``upgrade`` (the CLI's commands, run by an operator); elsewhere (an upload job) the
    report says ``outdated`` and the job stays as long as its own upload.

    With ``jobs`` > 1 and at least PARALLEL_MIN_RECORDS records to extract, the text
    is scanned by ``jobs`` worker processes (:mod:`omicsoracle.extraction.worker`)
    while this process reads and writes; smaller runs stay in-process (starting a
    worker costs a vocabulary build, ~2 s).
    """
    import time

    started = time.perf_counter()
    report = EnrichReport()
    if not full and outdated(store):
        if upgrade:
            full = report.full = True
        else:
            report.outdated = True
            log.warning(
                "entities were extracted by another version: run `omicsoracle enrich --all`"
            )
    with _read(store).connect() as conn:
        last = int(conn.execute(text("SELECT coalesce(max(id), 0) FROM changes")).scalar_one())
        after = 0 if full else _state(conn)
    work = _record_count(store) if full else _has_work(store, after, last)
    if not full and not work:
        # Nothing written since the last run (`make run`'s ingest --skip-seen): building
        # the vocabulary alone would cost seconds. The state moves past the changes seen
        # (the enrichment's own annotation rows), so the next run does not read them again.
        with store.transaction(None) as session:
            cast(Any, session).conn.execute(
                text(
                    "UPDATE enrichment_state SET change_id = :c "
                    "WHERE name = 'entities' AND change_id < :c"
                ),
                {"c": last},
            )
        report.last_change = last
        report.seconds = time.perf_counter() - started
        return report
    # Characteristics first: their tissue / cell type / cell line values join the vocabulary.
    for window in _windows(store, full, after, last):
        samples = sorted(window.todo.get("sample", ()))
        for start in range(0, len(samples), BATCH):
            report.characteristics += _write_characteristics(
                store, _docs(store, "sample", samples[start : start + BATCH])
            )
        gone = [k for t, k in window.deleted if t == "sample"]
        if gone:
            _write_characteristics(store, [(k, {}) for k in gone])
    series: set[str] = set()
    workers = jobs if jobs > 1 and work >= PARALLEL_MIN_RECORDS else 1
    with contextlib.ExitStack() as stack:
        if workers > 1:
            # The vocabulary is built in each worker only: the writer never scans text.
            values, genes, fingerprint = vocabulary_inputs(store)
            pool = stack.enter_context(ExtractorPool(workers, values, genes))
        else:
            vocab, fingerprint = vocabulary_for(store)
        for window in _windows(store, full, after, last):
            chunks = [
                (record_type, keys[start : start + BATCH])
                for record_type, keys_set in window.todo.items()
                for keys in [sorted(keys_set)]
                for start in range(0, len(keys), BATCH)
            ]
            extracted: Iterable[tuple[str, Sequence[str], list[dict[str, Any]]]]
            if workers > 1:
                extracted = pool.map((t, c, _raw_docs(store, t, c)) for t, c in chunks)
            else:
                extracted = ((t, c, extract_docs(t, _docs(store, t, c), vocab)) for t, c in chunks)
            for record_type, chunk, rows in extracted:
                _write_entities(store, chunk, rows)
                report.entities += len(rows)
                report.records[record_type] = report.records.get(record_type, 0) + len(chunk)
                if progress:
                    progress(len(chunk))
            if window.deleted:
                _write_entities(store, [k for _, k in window.deleted], [])
            touched = [
                Change(0, record_type, key, "upsert")
                for record_type, keys_set in window.todo.items()
                for key in keys_set
            ]
            touched += [
                Change(0, record_type, key, "upsert") for record_type, key in window.deleted
            ]
            series |= store.affected_series(touched)[0]
    report.series = len(series)
    # A store left outdated (not upgraded here) keeps its old version stamp, so the next
    # `enrich` from the CLI still re-enriches it in full.
    version = _stored_version(store) if report.outdated else extractor_version()
    with store.transaction(None) as session:
        conn = cast(Any, session).conn
        # The series whose facets these entities feed are re-indexed through the change
        # log, like any store write (the indexer reads them back with search_docs); the
        # enrichment's own pass skips this record type.
        stamp = now_iso()
        execute_many(
            conn,
            "INSERT INTO changes (record_type, accession, op, run_id, at) "
            "VALUES ('annotation', :a, 'upsert', NULL, :t)",
            [{"a": a, "t": stamp} for a in sorted(series)],
        )
        conn.execute(text("DELETE FROM enrichment_state WHERE name = 'entities'"))
        conn.execute(
            text(
                "INSERT INTO enrichment_state (name, change_id, vocabulary, at) "
                "VALUES ('entities', :c, :v, :t)"
            ),
            {"c": last, "v": f"{version}:{fingerprint}", "t": now_iso()},
        )
    report.last_change = last
    report.seconds = time.perf_counter() - started
    return report


# --- reads ----------------------------------------------------------------------------------


def _stored_entities(conn: Connection, key: str) -> list[dict[str, Any]]:
    rows = conn.execute(
        text(
            "SELECT type, text, normalized, field, span_start, span_end, source, context "
            "FROM entities WHERE record_id = :k ORDER BY seq"
        ),
        {"k": key},
    )
    out = []
    for r in rows:
        item = {"type": r[0], "text": r[1], "normalized": r[2], "field": r[3], "start": r[4],
                "end": r[5], "source": r[6]}  # fmt: skip
        if r[7] is not None:
            item["context"] = r[7]
        out.append(item)
    return out


def _characteristics(conn: Connection, record_type: str, key: str) -> list[dict[str, str]]:
    if record_type == "dataset":
        rows = conn.execute(
            text(
                "SELECT type, description, samples FROM dataset_subsets WHERE dataset = :k ORDER BY subset_id"
            ),
            {"k": key},
        )
        out = []
        for type_, description, samples in rows:
            norm_key, unit = chars.normalize_key(type_)
            value = chars.normalize_value(norm_key, description, unit)
            for sample in orjson.loads(samples):
                out.append(
                    {
                        "sample": sample,
                        "key": norm_key,
                        "value": value,
                        "raw": f"{type_}: {description}",
                    }
                )
        return out
    if record_type == "series":
        sql = ("SELECT c.sample, c.key, c.value, c.raw FROM series_samples l JOIN sample_characteristics c "
               "ON c.sample = l.sample WHERE l.series = :k ORDER BY length(c.sample), c.sample, c.seq")  # fmt: skip
    elif record_type == "sample":
        sql = "SELECT sample, key, value, raw FROM sample_characteristics WHERE sample = :k ORDER BY seq"
    else:
        return []
    return [
        {"sample": s, "key": k, "value": v, "raw": r}
        for s, k, v, r in conn.execute(text(sql), {"k": key})
    ]


def entities_of(store: Store, identifier: str) -> dict[str, Any] | None:
    """The API/CLI view of one record: entities with spans and its characteristics.

    A record stored but not enriched yet is extracted on the fly (not stored), so the
    answer never depends on whether ``enrich`` ran. Raises ValueError when malformed.
    """
    kind = record_type_of(identifier)
    if kind is None:
        raise ValueError(f"{identifier!r} is not a GEO accession or PubMed ID")
    record_type, key = kind
    table, key_col = TABLES[record_type]
    with _read(store).connect() as conn:
        row = conn.execute(
            text(f"SELECT doc FROM {table} WHERE {key_col} = :k"), {"k": key}
        ).first()
        if row is None:
            return None
        found = _stored_entities(conn, key)
        characteristics = _characteristics(conn, record_type, key)
    if not found:
        vocab, _ = vocabulary_for(store)
        found = [e.as_dict() for e in extract_record(record_type, orjson.loads(row[0]), vocab)]
    if record_type in ("sample", "series") and not characteristics:
        characteristics = _live_characteristics(store, record_type, key, row[0])
    return {
        "id": key,
        "record_type": record_type,
        "entities": found,
        "characteristics": characteristics,
    }


def _live_characteristics(
    store: Store, record_type: str, key: str, doc: str
) -> list[dict[str, str]]:
    """Characteristics normalised from the sample documents (records not enriched yet)."""
    if record_type == "sample":
        pairs = [(key, orjson.loads(doc).get("characteristics") or ())]
    else:
        with _read(store).connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT s.accession, s.doc FROM series_samples l JOIN samples s "
                    "ON s.accession = l.sample WHERE l.series = :k "
                    "ORDER BY length(s.accession), s.accession"
                ),
                {"k": key},
            )
            pairs = [(acc, orjson.loads(d).get("characteristics") or ()) for acc, d in rows]
    return [c.as_dict() for sample, found in pairs for c in chars.normalize(sample, found)]
