"""The search-box suggester of a server process, rebuilt when the corpus changes."""

from __future__ import annotations

import asyncio
import logging

from anyio import to_thread

from omicsoracle.search.suggest import Suggester, from_store
from omicsoracle.store import Store

log = logging.getLogger(__name__)


class Suggestions:
    """Holds the current Suggester; a rebuild runs in a thread and swaps it in whole."""

    def __init__(self, store: Store):
        self._store = store
        self._current: Suggester | None = None
        self._built_for = -1
        self._lock = asyncio.Lock()

    async def get(self) -> Suggester:
        if self._current is None:
            await self.refresh(self._store.max_change_id())
        assert self._current is not None
        return self._current

    async def refresh(self, change_id: int) -> None:
        """Rebuild if the store changed since the last build (readers keep the old one)."""
        async with self._lock:
            if change_id == self._built_for and self._current is not None:
                return
            self._current = await to_thread.run_sync(from_store, self._store)
            self._built_for = change_id
            log.info("search suggestions rebuilt at change %d", change_id)
