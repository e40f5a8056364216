"""The objects a process needs, built from Settings and closed together.

The CLI and ``create_app`` both build one ``Runtime``; nothing is created at
import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from types import TracebackType

from omicsoracle.config import Settings
from omicsoracle.indexer import CatchUp, catch_up
from omicsoracle.search import open_index
from omicsoracle.search.base import SearchIndex, SearchRequest, SearchResponse
from omicsoracle.store import Store, open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    index: SearchIndex
    # Serialises catch-ups within a process; the index itself guards across processes.
    _feed_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: Settings, *, catch_up_index: bool = True) -> Runtime:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = open_store(settings.resolved_database_url, readers=settings.reader_pool_size)
        try:
            index = open_index(settings.search_engine, settings.index_dir)
        except Exception:
            store.close()
            raise
        runtime = cls(settings, store, index)
        if catch_up_index:
            runtime.catch_up()
        return runtime

    def catch_up(self) -> CatchUp:
        """Fold store changes the index has not seen yet into it."""
        with self._feed_lock:
            self.index.refresh()
            if self.index.applied_change_id() >= self.store.max_change_id():
                return CatchUp(applied_change_id=self.index.applied_change_id())
            return catch_up(self.store, self.index)

    def search(self, request: SearchRequest) -> SearchResponse:
        return self.index.search(request)

    def close(self) -> None:
        self.index.close()
        self.store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
