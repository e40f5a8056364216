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

CHANGE_BATCH = 5000
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
        # Documents for a window of changes go in one commit with its last id, so
        # the applied id never runs ahead of what the index holds.
        docs = []
        for start in range(0, len(keys), DOC_BATCH):
            docs.extend(store.search_docs(keys[start : start + DOC_BATCH]))
        present = {d.accession for d in docs}
        index.apply(docs, [k for k in keys if k not in present], last)
        release_free_memory()
        result.changes += len(changes)
        result.documents += len(docs)
        result.applied_change_id = last
        if progress is not None:
            progress(len(docs))


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
