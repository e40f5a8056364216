"""The search-box suggester of a server process, rebuilt when the corpus changes.

Each rebuild runs in a child process (``omicsoracle.search.suggest_build``) and comes
back as msgpack bytes: the server keeps answering at full speed while it runs, and
the build's peak memory never becomes the worker's.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from anyio import fail_after, run_process, to_thread

from omicsoracle.search.suggest import Suggester
from omicsoracle.search.suggest_build import URL_ENV

log = logging.getLogger(__name__)

# What a failed build's message quotes of the child's stderr.
STDERR_TAIL = 2000
# A build takes ~2 s on the demo corpus and ~17 s at 10x.
BUILD_TIMEOUT_S = 600.0
EMPTY = Suggester.build([], {})


class SuggesterBuildFailed(RuntimeError):
    """The child process building the suggester failed; the message has its stderr."""


async def build_in_child(database_url: str) -> Suggester:
    """A suggester over every series of the store at ``database_url``."""
    env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
    env[URL_ENV] = database_url
    result = await run_process(
        [sys.executable, "-m", "omicsoracle.search.suggest_build"], env=env, check=False
    )
    if result.returncode != 0:
        tail = result.stderr.decode("utf-8", "replace")[-STDERR_TAIL:]
        raise SuggesterBuildFailed(f"suggester build exited with {result.returncode}: {tail}")
    return await to_thread.run_sync(Suggester.from_bytes, result.stdout)


class Suggestions:
    """Holds the current Suggester; a rebuild swaps it in whole (readers keep the old one)."""

    def __init__(self, database_url: str):
        self._url = database_url
        self._current: Suggester | None = None
        self._built_for = -1
        self._lock = asyncio.Lock()

    @property
    def built_for(self) -> int:
        """The change id the current suggester was built at (-1: none yet)."""
        return self._built_for

    async def get(self) -> Suggester:
        """The current suggester; an empty one until a first build has succeeded (a
        keystroke never waits for a build)."""
        if self._current is None:
            return EMPTY
        return self._current

    async def refresh(self, change_id: int) -> None:
        """Rebuild if the store changed since the last build."""
        async with self._lock:
            if change_id == self._built_for and self._current is not None:
                return
            with fail_after(BUILD_TIMEOUT_S):  # a child stuck on a connect is killed
                self._current = await build_in_child(self._url)
            self._built_for = change_id
            log.info("search suggestions rebuilt at change %d", change_id)
