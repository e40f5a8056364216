"""The glibc heap helpers are safe to call anywhere (no-ops off glibc)."""

from __future__ import annotations

from omicsoracle.memory import limit_arenas, release_free_memory


def test_heap_helpers_run() -> None:
    limit_arenas()
    release_free_memory()
    release_free_memory()
