"""The objects a process needs, built from Settings and closed together.

The CLI and ``create_app`` both build one ``Runtime``; nothing is created at
import time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import orjson

from omicsoracle.config import Settings
from omicsoracle.indexer import CatchUp, catch_up, reindex
from omicsoracle.search import open_index
from omicsoracle.search.base import SearchIndex, SearchRequest, SearchResponse
from omicsoracle.store import PoolOptions, Store, open_store


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
        store = open_store(
            settings.resolved_database_url,
            readers=settings.reader_pool_size,
            pool=PoolOptions(
                size=settings.db_pool_size,
                overflow=settings.db_max_overflow,
                timeout=settings.db_pool_timeout,
                recycle=settings.db_pool_recycle,
            ),
        )
        try:
            index = open_index(settings.search_engine, settings.index_dir)
        except Exception:
            store.close()
            raise
        runtime = cls(settings, store, index)
        if catch_up_index:
            try:
                runtime.catch_up()
            except BaseException:
                runtime.close()
                raise
        return runtime

    def catch_up(self) -> CatchUp:
        """Fold store changes the index has not seen yet into it.

        If the store is not the one the index was fed from (a backup restored
        over it, or another database configured), the index is rebuilt instead:
        change ids alone cannot tell two histories apart.
        """
        with self._feed_lock:
            self.index.refresh()
            applied = self.index.applied_change_id()
            if not self._same_history(applied):
                result = reindex(self.store, self.index)
            elif applied >= self.store.max_change_id():
                result = CatchUp(applied_change_id=applied)
            else:
                result = catch_up(self.store, self.index)
            self._write_marker(result.applied_change_id)
            return result

    def reindex(self) -> CatchUp:
        """Rebuild the index from the store."""
        with self._feed_lock:
            result = reindex(self.store, self.index)
            self._write_marker(result.applied_change_id)
            return result

    # The marker pairs an applied change id with that change row's fingerprint.
    @property
    def _marker_path(self) -> Path:
        return self.settings.index_dir / "feed-marker.json"

    def _same_history(self, applied: int) -> bool:
        if applied == 0:
            return True
        if applied > self.store.max_change_id():
            return False
        try:
            marker = orjson.loads(self._marker_path.read_bytes())
            change_id, fingerprint = int(marker["change_id"]), str(marker["fingerprint"])
        except (OSError, ValueError, KeyError, TypeError):
            return True  # no marker yet (first run): nothing to compare against
        return self.store.change_fingerprint(change_id) == fingerprint

    def _write_marker(self, applied: int) -> None:
        fingerprint = self.store.change_fingerprint(applied) if applied else None
        if fingerprint is None:
            return
        body = orjson.dumps({"change_id": applied, "fingerprint": fingerprint})
        path = self._marker_path
        if path.exists() and path.read_bytes() == body:
            return
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(body)
        tmp.replace(path)

    def search(self, request: SearchRequest) -> SearchResponse:
        return self.index.search(request)

    def close(self) -> None:
        # Waits for a catch-up running in another thread: never close under it.
        with self._feed_lock:
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
