"""Feed the search index from the store's change log.

The index records the last change id it folded in, atomically with the
documents; catching up means reading the log past that id. A crash between a
store commit and an index commit therefore loses nothing: the next start (of
the server, or of any CLI command that searches) replays the missing changes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from omicsoracle.memory import release_free_memory
from omicsoracle.search.base import SearchIndex
from omicsoracle.store import Store

# Changes are read in windows of keys only, and every series they touch is indexed once
# per catch-up, however many of its records changed: an ingest writes a series, then
# its samples, then the enrichment's annotation change, often in different windows
# (at GEO scale an ingest logs ~10M changes for 250k series; re-indexing a series per
# window it appears in wrote each document 4 times). The pending set holds accessions
# only: ~25 MB for all of GEO.
CHANGE_BATCH = 100_000
DOC_BATCH = 2000


@dataclass(slots=True)
class CatchUp:
    changes: int = 0
    documents: int = 0
    applied_change_id: int = 0


def catch_up(
    store: Store, index: SearchIndex, *, progress: Callable[[int], None] | None = None
) -> CatchUp:
    """Apply every change after the index's applied id; returns what was done."""
    start = index.applied_change_id()
    result = CatchUp(applied_change_id=start)
    # Changes committed after this point are left to the next catch-up, so a busy writer
    # cannot keep this one reading forever.
    upto = store.max_change_id()
    pending: set[str] = set()
    last = start
    while last < upto:
        changes = [c for c in store.changes_since(last, CHANGE_BATCH) if c.id <= upto]
        if not changes:
            break
        series, last = store.affected_series(changes)
        pending |= series
        result.changes += len(changes)
    if last == start:
        return result
    keys = sorted(pending)
    # Documents go in commits of DOC_BATCH; only the last commit records the last change
    # id, so the applied id never runs ahead of what the index holds (a crash midway
    # replays the changes: upserts are idempotent).
    for offset in range(0, max(len(keys), 1), DOC_BATCH):
        chunk = keys[offset : offset + DOC_BATCH]
        docs = store.search_docs(chunk)
        present = {d.accession for d in docs}
        final = offset + DOC_BATCH >= len(keys)
        index.apply(docs, [k for k in chunk if k not in present], last if final else start)
        release_free_memory()
        result.documents += len(docs)
        if progress is not None:
            progress(len(docs))
    result.applied_change_id = last
    return result


def reindex(
    store: Store, index: SearchIndex, *, progress: Callable[[int], None] | None = None
) -> CatchUp:
    """Rebuild the index from the store (the store is the source of truth)."""
    upto = store.max_change_id()
    index.clear()
    result = CatchUp()
    for keys in store.iter_series_accessions(DOC_BATCH * 5):
        docs = store.search_docs(keys)
        # Intermediate commits keep applied id 0 until the last one, so a crash
        # mid-rebuild leaves an index that replays the whole log on next start.
        index.apply(docs, [], 0)
        release_free_memory()
        result.documents += len(docs)
        if progress is not None:
            progress(len(docs))
    index.apply([], [], upto)
    result.applied_change_id = upto
    # Changes committed while rebuilding are in the log after ``upto``.
    more = catch_up(store, index)
    result.changes = more.changes
    result.applied_change_id = more.applied_change_id or upto
    return result
