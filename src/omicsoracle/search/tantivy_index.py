"""The default engine: tantivy (BM25, Rust) over the shared analyzed text.

Layout: one tantivy index in ``directory``. Text fields hold the analyzer's output
(space-joined stems) under a whitespace tokenizer, so tantivy never re-analyzes;
queries are built as Query objects from the plan, never parsed from user text.
Facet fields are raw fast fields (one ``aggregate`` call per search); the display
payload is one stored bytes field, fetched for the shown page only.

Concurrency: the IndexWriter is opened inside apply()/clear() and released after the
commit, because the CLI ingest and the server share the directory and tantivy allows
one writer. The applied change id and a generation counter live in a meta document
committed with the data, so they are atomic with it. Readers reload manually when
``meta.json`` changes (cheap stat per search), and keep recent searchers so cursors
page the snapshot they started on.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import tantivy

from omicsoracle.search.base import ANNOTATION_FACETS
from omicsoracle.search.cursor import CursorState, SnapshotCache
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.engine import Page, Row, Snapshot, SnapshotIndex
from omicsoracle.search.fields import (
    ALL_TAG,
    INDEX_FORMAT,
    SAMPLE_BUCKETS,
    TEXT_FIELDS,
    UNKNOWN,
    IndexedDoc,
    index_doc,
)
from omicsoracle.search.plan import Clause, Plan
from omicsoracle.search.spelling import SpellingVocabulary
from omicsoracle.search.tantivy_query import FIELD_WEIGHTS as FIELD_WEIGHTS
from omicsoracle.search.tantivy_query import QueryCompiler

META_ACC = "__meta__"
SCHEMA_VERSION = INDEX_FORMAT  # an index written with another version is rebuilt from change 0
WRITER_HEAP = 256_000_000
WRITER_LOCK_TIMEOUT = 120.0  # seconds to wait for another process's writer
_WS = "ws"
_SORT_FIELDS = {"date": "date_key", "samples": "samples_key"}
# "body" = all text fields joined by this token. Query stems are alphanumeric, so no
# phrase can match across it: matching on body is matching in any one field, at the
# cost of one posting list instead of four. Used for the unscored facet/count pass.
_FIELD_BREAK = "|"
# Facets run on the other threads while the page is scored: tantivy releases the GIL.
# The counting is most of a broad query's time at GEO's size (every matched series'
# values of eleven fields), so it is split in two aggregate calls, one per core, each
# walking the match set once for its fields. Groups balanced by the per-field CPU cost
# bench/facet_costs.py measured on the full-scale index for `cancer` (docs/benchmarks.md,
# "Search p95 at full scale"): 30.7 and 29.2 ms.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tantivy-facets")
_AGG_GROUPS: tuple[tuple[str, ...], ...] = (
    ("characteristic", "tissue", "organism", "type", "bucket", "year"),
    ("platform", "disease", "cell_type", "cell_line", "gene"),
)
# Total and facets of the last first pages, per snapshot, for the cursor pages that
# follow them: a snapshot never changes, so a later page's counts are the first page's.
# At GEO's size the counts are most of a response's time (the second page cost twice
# the first). A first page always counts afresh, so repeating a query is not faster.
FACET_MEMO = 64
# A strict plan expected to match under this many times the relaxation threshold is
# counted before it is executed (see TantivySnapshot.matches_fewer).
SMALL_STRICT = 4
_Counts = tuple[int, dict[str, dict[str, int]]]


def _match_key(plan: Plan) -> tuple[Any, ...]:
    """What decides a plan's match set (and more: a finer key only memoises less)."""
    return (
        plan.required, plan.excluded, plan.tag_filters, plan.sample_ranges,
        plan.year_ranges, plan.boost_tags, plan.exact_ids, plan.relaxed,
    )  # fmt: skip


def _schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    for name in (*TEXT_FIELDS, "body"):
        sb.add_text_field(name, tokenizer_name=_WS, index_option="position")
    # Not positional: only document frequencies / membership are ever asked of these.
    sb.add_text_field("words", tokenizer_name=_WS, index_option="basic")
    sb.add_text_field("tags", tokenizer_name=_WS, index_option="basic")
    sb.add_text_field("ids", tokenizer_name=_WS, index_option="basic")
    sb.add_text_field("acc", tokenizer_name="raw", index_option="basic")
    for name in ("organism", "type", "platform", *ANNOTATION_FACETS):
        sb.add_text_field(name, fast=True, tokenizer_name="raw", index_option="basic")
    for name in ("year", "n_samples", "date_key", "samples_key", "bucket"):
        sb.add_integer_field(name, fast=True)
    sb.add_bytes_field("show", stored=True)
    return sb.build()


def _document(ix: IndexedDoc) -> tantivy.Document:
    doc = tantivy.Document()
    for name in TEXT_FIELDS:
        doc.add_text(name, ix.texts[name])
    doc.add_text("body", f" {_FIELD_BREAK} ".join(ix.texts[name] for name in TEXT_FIELDS))
    doc.add_text("words", ix.words)
    doc.add_text("tags", " ".join(ix.tags))
    doc.add_text("ids", " ".join(ix.ids))
    doc.add_text("acc", ix.accession)
    for name, values in (
        ("organism", ix.organisms),
        ("type", ix.types),
        ("platform", ix.platforms),
        *((name, ix.annotations.get(name, ())) for name in ANNOTATION_FACETS),
    ):
        for value in values:
            doc.add_text(name, value)
    if ix.year is not None:
        doc.add_integer("year", ix.year)
    if ix.n_samples is not None:
        doc.add_integer("n_samples", ix.n_samples)
    doc.add_integer("date_key", ix.date_key)
    doc.add_integer("samples_key", ix.samples_key)
    doc.add_integer("bucket", ix.samples_bucket)
    doc.add_bytes("show", ix.show)
    return doc


def _aggs() -> dict[str, Any]:
    def terms(field: str, size: int, missing: bool = True) -> dict[str, Any]:
        spec: dict[str, Any] = {"field": field, "size": size}
        if missing:
            spec["missing"] = UNKNOWN
        return {"terms": spec}

    return {
        "organism": terms("organism", 20),
        "type": terms("type", 25),
        "platform": terms("platform", 20),
        "year": terms("year", 200, missing=False),
        "bucket": terms("bucket", 16, missing=False),
        # No "unknown" bucket: a series without a tissue is not a tissue called unknown.
        # Five times the shown size, so ties at the cut are broken by name (as in
        # engine.order_facets) on the same candidates as the SQL engines see.
        **{name: terms(name, 100, missing=False) for name in ANNOTATION_FACETS},
    }


_AGGS = _aggs()
_AGG_PARTS = tuple({name: _AGGS[name] for name in group} for group in _AGG_GROUPS)
assert sorted(n for g in _AGG_GROUPS for n in g) == sorted(_AGGS), "every facet in one group"


def _counts(agg: dict[str, Any]) -> _Counts:
    """Total and raw facet counts from the aggregation results of every group."""

    def counts(name: str) -> dict[str, int]:
        return {str(b["key"]): int(b["doc_count"]) for b in agg.get(name, {}).get("buckets", [])}

    buckets = counts("bucket")
    total = sum(buckets.values())  # every series has exactly one sample bucket
    samples = {
        (SAMPLE_BUCKETS[int(k)][1] if int(k) < len(SAMPLE_BUCKETS) else UNKNOWN): v
        for k, v in buckets.items()
    }
    years = counts("year")
    years[UNKNOWN] = total - sum(years.values())
    facets = {
        "organism": counts("organism"), "type": counts("type"),
        "platform": counts("platform"), "year": years, "samples": samples,
        **{name: counts(name) for name in ANNOTATION_FACETS},
    }  # fmt: skip
    return total, facets


def _stored(searcher: tantivy.Searcher, address: tantivy.DocAddress) -> bytes:
    value = searcher.doc(address).get_first("show")
    if value is None:  # every document is written with it; guard against foreign indexes
        raise ValueError("index document without a stored payload")
    return bytes(value)


class TantivySnapshot:
    """One searcher (an immutable segment set) plus what the planner needs from it."""

    def __init__(self, index: TantivyIndex, searcher: tantivy.Searcher, meta: dict[str, int]):
        self._ix = index
        self.searcher = searcher
        self.generation = meta["generation"]
        self.applied = meta["applied"]
        self._spelling: SpellingVocabulary | None = None
        self._lock = threading.Lock()
        self._counts: OrderedDict[tuple[Any, ...], _Counts] = OrderedDict()

    # --- VocabularySource ---------------------------------------------------------
    def vocabulary(self) -> TantivySnapshot:
        """This snapshot answers the planner's vocabulary questions itself."""
        return self

    def word_doc_freq(self, word: str) -> int:
        """Series containing the surface word."""
        return int(self.searcher.doc_freq("words", word))

    def stem_doc_freq(self, stem: str) -> int:
        """Sum over the text fields of the series containing the stem."""
        return sum(int(self.searcher.doc_freq(f, stem)) for f in TEXT_FIELDS)

    def spelling(self) -> SpellingVocabulary:
        """All surface words with document frequencies (loaded on first need)."""
        with self._lock:
            if self._spelling is None:
                self._spelling = SpellingVocabulary(self.searcher.terms_with_prefix("words", ""))
            return self._spelling

    # --- execution ------------------------------------------------------------------
    def _clause_bound(self, clause: Clause) -> int:
        """At most this many series satisfy the clause: the sum of its alternatives'
        document frequencies (a phrase: its rarest stem's, on the all-fields body)."""
        df = self.searcher.doc_freq
        bound = sum(min(int(df("body", st)) for st in alt.stems) for alt in clause.alts)
        bound += sum(int(df("tags", t)) for t, _ in clause.tags)
        return bound + sum(int(df("ids", i)) for i in clause.ids)

    def matches_fewer(self, plan: Plan, n: int) -> bool:
        """See Snapshot.matches_fewer: exact, from a count, when the strict plan looks
        small; a plan that looks large is not counted (the count would be the extra
        walk of a large intersection that is executed anyway).

        "Looks small": the clauses' bounds multiplied as if independent, over the
        corpus. Document frequencies count deleted series until a merge, so a bound can
        only be too high: a wrong guess costs one count, never a wrong answer.
        """
        if not plan.required:
            return False
        total = max(1, self.searcher.num_docs)
        bounds = sorted(self._clause_bound(c) for c in plan.required)
        if bounds[0] < n:
            return True  # the rarest required clause alone has fewer
        expected = float(total)
        for bound in bounds:
            expected *= bound / total
        if expected >= SMALL_STRICT * n:
            return False
        query = self._ix.compile(plan, scored=False)
        return int(self.searcher.search(query, 1, count=True).count) < n  # type: ignore[attr-defined]

    def execute(self, plan: Plan, sort: str, after: CursorState | None, limit: int) -> Page:
        """Top rows (one search), total and facets (one aggregate) for the plan."""
        query = self._ix.compile(plan)
        match = _match_key(plan)
        with self._lock:
            known = self._counts.get(match) if after is not None else None
        parts = None
        if known is None:
            unscored = self._ix.compile(plan, scored=False)
            parts = [_POOL.submit(self.searcher.aggregate, unscored, aggs) for aggs in _AGG_PARTS]
        if sort == "relevance":
            offset = after.offset if after is not None else 0
            result = self.searcher.search(query, limit, count=False, offset=offset)
        else:
            field = _SORT_FIELDS[sort]
            paged = query
            if after is not None and isinstance(after.key, int):
                # Keyset: sort keys are unique, so "below the last key" is exact.
                below = tantivy.Query.range_query(
                    self._ix.schema, field, tantivy.FieldType.Integer, None, after.key,
                    include_upper=False,
                )  # fmt: skip
                paged = tantivy.Query.boolean_query(
                    [(tantivy.Occur.Must, query), (tantivy.Occur.Must, below)]
                )
            result = self.searcher.search(
                paged, limit, count=False, order_by_field=field, order=tantivy.Order.Desc
            )
        rows = []
        for key, address in result.hits:
            show = _stored(self.searcher, address)
            score = float(key) if sort == "relevance" else 0.0
            rows.append(Row(show=show, score=score, key=key))
        if parts is not None:
            known = _counts({k: v for part in parts for k, v in part.result().items()})
            with self._lock:
                self._counts[match] = known
                self._counts.move_to_end(match)
                while len(self._counts) > FACET_MEMO:
                    self._counts.popitem(last=False)
        assert known is not None
        total, counts = known
        return Page(rows=rows, total=total, facets=counts)


class TantivyIndex(SnapshotIndex):
    """SearchIndex on tantivy; see the module docstring."""

    name = "tantivy"

    def __init__(self, directory: Path):
        super().__init__(directory)
        self.schema = _schema()
        self._compiler = QueryCompiler(self.schema)
        self.index = self._open()
        self.index.register_tokenizer(
            _WS, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()
        )
        self.index.config_reader(reload_policy="Manual")
        self._snapshots: SnapshotCache[TantivySnapshot] = SnapshotCache()
        self._current: TantivySnapshot | None = None
        self._meta_stamp: tuple[int, int, int] | None = None
        self._lock = threading.RLock()
        self._write_lock = threading.Lock()

    def _open(self) -> tantivy.Index:
        # An index written by another version of this module (other fields, or another
        # SCHEMA_VERSION) is started over: its applied id is then 0, so the ingest
        # catch-up reindexes everything instead of searching a mismatched index.
        path = str(self.directory)
        try:
            index = tantivy.Index(self.schema, path=path, reuse=True)
        except ValueError as exc:
            if "schema does not match" not in str(exc):
                raise
            return tantivy.Index(self.schema, path=path, reuse=False)
        searcher = index.searcher()
        hits = searcher.search(tantivy.Query.term_query(self.schema, "acc", META_ACC), 1).hits
        if hits and orjson.loads(_stored(searcher, hits[0][1])).get("schema") != SCHEMA_VERSION:
            index = tantivy.Index(self.schema, path=path, reuse=False)
        return index

    # --- snapshots -----------------------------------------------------------------
    def _stamp(self) -> tuple[int, int, int] | None:
        try:
            st = (self.directory / "meta.json").stat()
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def _read_meta(self, searcher: tantivy.Searcher) -> dict[str, int]:
        query = tantivy.Query.term_query(self.schema, "acc", META_ACC)
        hits = searcher.search(query, 1, count=False).hits
        if not hits:
            return {"applied": 0, "generation": 0}
        meta = orjson.loads(_stored(searcher, hits[0][1]))
        return {"applied": int(meta["applied"]), "generation": int(meta["generation"])}

    def current_snapshot(self) -> TantivySnapshot:
        """Newest committed snapshot; reloads when another process committed."""
        with self._lock:
            stamp = self._stamp()
            if self._current is None or stamp != self._meta_stamp:
                self.index.reload()
                searcher = self.index.searcher()
                snap = TantivySnapshot(self, searcher, self._read_meta(searcher))
                if self._current is None or snap.generation != self._current.generation:
                    self._current = snap
                    self._snapshots.put(snap.generation, snap)
                self._meta_stamp = stamp
            return self._current

    def pinned_snapshot(self, generation: int) -> Snapshot:
        """The snapshot a cursor started on, or CursorExpired."""
        snap = self._snapshots.get(generation)
        if snap is not None:
            return snap
        current = self.current_snapshot()
        if current.generation == generation:
            return current
        return self._snapshots.require(generation)

    @contextmanager
    def private_snapshot(self) -> Iterator[TantivySnapshot]:
        # A tantivy searcher stays valid while referenced; eviction only forgets it.
        yield self.current_snapshot()

    cheap_commit_stamp: bool = True

    def commit_stamp(self) -> object | None:
        """meta.json's inode, mtime and size: every commit replaces that file (one stat)."""
        return self._stamp()

    def refresh(self) -> None:
        """Pick up commits made by another process."""
        with self._lock:
            self._meta_stamp = None
        self.current_snapshot()

    # --- queries -------------------------------------------------------------------
    def compile(self, plan: Plan, scored: bool = True) -> tantivy.Query:
        """The plan as one tantivy Query (see ``tantivy_query.QueryCompiler``)."""
        return self._compiler.compile(plan, scored)

    # --- writing -------------------------------------------------------------------
    def _writer(self) -> tantivy.IndexWriter:
        deadline = time.monotonic() + WRITER_LOCK_TIMEOUT
        while True:
            try:
                return self.index.writer(WRITER_HEAP, 1)
            except ValueError as exc:  # LockBusy: another process is writing
                if "Lock" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _commit(self, fill: Any, applied: int) -> None:
        with self._write_lock:
            writer = self._writer()
            try:
                self.index.reload()  # we hold the lock: the newest meta is final
                meta = self._read_meta(self.index.searcher())
                fill(writer)
                writer.delete_documents_by_term("acc", META_ACC)
                payload = {"applied": applied, "generation": meta["generation"] + 1,
                           "schema": SCHEMA_VERSION}  # fmt: skip
                writer.add_document(tantivy.Document(acc=META_ACC, show=orjson.dumps(payload)))
                writer.commit()
                writer.wait_merging_threads()
            except BaseException:
                writer.rollback()
                raise
        # Open the new snapshot lazily, on the next read: a catch-up commits many
        # times in a row, and pinning a searcher per commit would keep every
        # merged-away segment alive (memory and disk) until the cache evicts it.
        with self._lock:
            self._meta_stamp = None
            self._current = None

    def apply(self, docs: Sequence[SearchDoc], deleted: Sequence[str], upto_change_id: int) -> None:
        """Upsert ``docs`` by accession, delete ``deleted``, record the id: one commit."""

        def fill(writer: tantivy.IndexWriter) -> None:
            for doc in docs:
                writer.delete_documents_by_term("acc", doc.accession)
                writer.add_document(_document(index_doc(doc)))
            for accession in deleted:
                writer.delete_documents_by_term("acc", accession)

        self._commit(fill, upto_change_id)

    def clear(self) -> None:
        """Delete everything; the applied change id goes back to 0."""
        self._commit(lambda writer: writer.delete_all_documents(), 0)

    # --- info ----------------------------------------------------------------------
    def applied_change_id(self) -> int:
        """Change id recorded by the newest commit."""
        return self.current_snapshot().applied

    def doc_count(self) -> int:
        """Series in the newest snapshot."""
        searcher = self.current_snapshot().searcher
        query = tantivy.Query.term_query(self.schema, "tags", ALL_TAG)
        result = searcher.search(query, 1, count=True)
        return int(result.count)  # type: ignore[attr-defined]  # missing from tantivy's stub

    def close(self) -> None:
        """Forget snapshots (tantivy releases files when the objects go)."""
        with self._lock:
            self._snapshots.clear()
            self._current = None
