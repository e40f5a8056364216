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

# Changes read per window: every series a window touches is indexed once, however many
# of its records changed (an ingest writes a series, then its samples, then the
# enrichment's annotation change: three log rows, one document). Keys only, so large.
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
    result = CatchUp(applied_change_id=index.applied_change_id())
    while True:
        changes = store.changes_since(result.applied_change_id, CHANGE_BATCH)
        if not changes:
            return result
        series, last = store.affected_series(changes)
        keys = sorted(series)
        # Documents go in commits of DOC_BATCH; only the window's last commit records
        # its last change id, so the applied id never runs ahead of what the index
        # holds (a crash mid-window replays the window: upserts are idempotent).
        for start in range(0, max(len(keys), 1), DOC_BATCH):
            chunk = keys[start : start + DOC_BATCH]
            docs = store.search_docs(chunk)
            present = {d.accession for d in docs}
            final = start + DOC_BATCH >= len(keys)
            applied = last if final else result.applied_change_id
            index.apply(docs, [k for k in chunk if k not in present], applied)
            release_free_memory()
            result.documents += len(docs)
            if progress is not None:
                progress(len(docs))
        result.changes += len(changes)
        result.applied_change_id = last


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
