"""The objects a process needs, built from Settings and closed together.

The CLI and ``create_app`` both build one ``Runtime``; nothing is created at
import time.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import orjson

from omicsoracle.config import Settings
from omicsoracle.indexer import CatchUp, catch_up, reindex
from omicsoracle.leases import FileLease
from omicsoracle.observability import instrument_engines, observe_agent
from omicsoracle.search import check_engine_url, open_index
from omicsoracle.search.base import SearchIndex, SearchRequest, SearchResponse
from omicsoracle.store import PoolOptions, Store, open_store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    index: SearchIndex
    # Serialises catch-ups within a process; the index itself guards across processes.
    _feed_lock: threading.Lock = field(default_factory=threading.Lock)
    # Server processes share the index: only the holder of this lease writes it, the
    # others refresh their readers (None: this process always writes, as the CLI does).
    writer_lease: FileLease | None = None
    # Corpus generation: the change id the index has applied, as this process last saw
    # it, and the token cache keys carry (see corpus_token). All four change together,
    # under the lock, from one reading of the index.
    _generation: int = 0
    _token: str = "0:empty"
    _stamp: object = None
    _seen_store_change: int = -1
    _generation_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(
        cls, settings: Settings, *, catch_up_index: bool = True, shared_index: bool = False
    ) -> Runtime:
        """Open store and index; ``shared_index``: one of several server processes."""
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        # Workers of one server start together: one at a time migrates the store and
        # creates the index (concurrent first-time setups fail one another). The
        # catch-up, which may be a whole reindex, runs after the lease is released.
        with FileLease(settings.data_dir / "startup.lease"):
            runtime = cls._open(settings)
        if shared_index:
            runtime.writer_lease = FileLease(settings.data_dir / "index" / "writer.lease")
        try:
            if catch_up_index:
                runtime.keep_up()
            else:
                runtime.refresh_token(force=True)
        except BaseException:
            runtime.close()
            raise
        return runtime

    @classmethod
    def _open(cls, settings: Settings) -> Runtime:
        # Before the store opens: a wrong pairing must not migrate a database first.
        check_engine_url(settings.search_engine, settings.resolved_database_url)
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
        instrument_engines(store, settings.slow_query_ms)
        try:
            index = open_index(
                settings.search_engine, settings.index_dir, settings.resolved_database_url
            )
        except Exception:
            store.close()
            raise
        return cls(settings, store, index)

    @property
    def is_index_writer(self) -> bool:
        """Whether this process writes the index (takes the lease when it is free)."""
        return self.writer_lease is None or self.writer_lease.try_acquire()

    def keep_up(self) -> CatchUp:
        """One tick of a server: the index writer catches up, the others refresh.

        A reader whose writer died takes the lease over on its next tick (the kernel
        releases a dead holder's lock), so indexing never stops for long.
        """
        result = self.catch_up() if self.is_index_writer else CatchUp()
        self.refresh_token(force=True)
        result.applied_change_id = self._generation
        return result

    def wait_indexed(
        self,
        change_id: int,
        timeout: float,
        poll: float = 0.1,
        stop: Callable[[], bool] = lambda: False,
    ) -> CatchUp:
        """Make changes up to ``change_id`` searchable here, writing only as the writer.

        A process that is not the index writer waits for the writer's next commit
        instead of writing itself; it returns what it has after ``timeout`` or as soon
        as ``stop()`` says so (a server shutting down).
        """
        deadline = time.monotonic() + timeout
        while True:
            result = self.keep_up()
            if result.applied_change_id >= change_id or time.monotonic() >= deadline or stop():
                return result
            time.sleep(poll)

    @property
    def generation(self) -> int:
        return self._generation

    @property
    def corpus_token(self) -> str:
        """The generation plus the identity of its change-log row, for cache keys.

        Change ids alone repeat across histories (a restored backup, another
        deployment sharing one Redis); the fingerprint of the applied change does not.
        As of the last ``refresh_token``; reading it costs nothing.
        """
        return self._token

    def current_token(self) -> str | None:
        """The corpus token when a cheap check (no database) shows the index unchanged.

        None: the index moved, or the engine cannot tell cheaply; then call
        ``refresh_token``, in a thread, since it may wait for the database.
        """
        if self.index.cheap_commit_stamp and self.index.commit_stamp() == self._stamp:
            return self._token
        return None

    def refresh_token(self, *, force: bool = False) -> str:
        """Reload the index reader if another process committed; the current token.

        The stamp is read before reloading, so a commit landing in between shows as a
        change next time; the lock keeps a slower thread's older reading from replacing
        a newer one. Engines without a stamp cost one indexed lookup of the store's
        newest change id; while the index lags the store (its indexing still running
        elsewhere) every call reloads, so the commit that closes the gap shows at once.
        """
        with self._generation_lock:
            stamp = self.index.commit_stamp()
            if stamp is not None:
                if force or stamp != self._stamp:
                    self.index.refresh()
                    self._adopt(self.index.applied_change_id())
                    self._stamp = stamp
                return self._token
            latest = self.store.max_change_id()
            if force or latest != self._seen_store_change:
                self.index.refresh()
                applied = self.index.applied_change_id()
                self._adopt(applied)
                if applied >= latest:
                    self._seen_store_change = latest
            return self._token

    def _adopt(self, applied: int) -> None:
        """Take ``applied`` as the generation (lower too: a restored, older history).

        The fingerprint is read again every time (one indexed query per commit or
        tick): a restored history may reach the very same id with other data.
        """
        fingerprint = self.store.change_fingerprint(applied) if applied else None
        digest = hashlib.blake2b((fingerprint or "empty").encode(), digest_size=8).hexdigest()
        self._generation = applied
        self._token = f"{applied}:{digest}"

    def catch_up(self) -> CatchUp:
        """Fold store changes the index has not seen yet into it.

        If the store is not the one the index was fed from (a backup restored
        over it, or another database configured), the index is rebuilt instead:
        change ids alone cannot tell two histories apart.
        """
        with self._feed_lock:
            started = time.perf_counter()
            self.index.refresh()
            applied = self.index.applied_change_id()
            if not self._same_history(applied):
                result = reindex(self.store, self.index)
            elif applied >= self.store.max_change_id():
                result = CatchUp(applied_change_id=applied)
            else:
                result = catch_up(self.store, self.index)
            self._write_marker(result.applied_change_id)
            if result.changes or result.documents:  # idle ticks would drown the real runs
                observe_agent("indexer", time.perf_counter() - started)
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
            if self.writer_lease is not None:
                self.writer_lease.release()
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
