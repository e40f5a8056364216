"""Database leases for the sync: one sync at a time, one scheduled run per interval.

Two leases in the store's ``leases`` table (every node of a deployment sees it):

- ``sync``: held while a sync runs (an API job or a scheduled run), renewed every
  third of its TTL; a node that dies stops renewing and the lease expires, so a
  crashed sync never blocks the next one for longer than ``RUN_TTL_SECONDS``.
- ``sync_schedule``: claimed for one interval by the node that runs that interval's
  sync and never released (it expires). Each claim has a holder of its own, so no
  node, not even the last one, can claim the next slot before the interval is over:
  however many server processes tick, the sync runs once per interval.
"""

from __future__ import annotations

import os
import socket
import uuid

from omicsoracle.store import Store

RUN_LEASE = "sync"
SCHEDULE_LEASE = "sync_schedule"
RUN_TTL_SECONDS = 60.0


def holder_id() -> str:
    """``host:pid:random``: tells two processes apart, and two claims of one process."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


class DbLease:
    """A named lease in the store, held by ``holder`` (take, renew, release)."""

    def __init__(self, store: Store, name: str, *, ttl: float, holder: str | None = None) -> None:
        self.store = store
        self.name = name
        self.ttl = ttl
        self.holder = holder or holder_id()

    def take(self) -> bool:
        """Take the lease if free or expired (or renew it if ours)."""
        return self.store.take_lease(self.name, self.holder, self.ttl)

    renew = take

    def release(self) -> None:
        self.store.release_lease(self.name, self.holder)


def claim_slot(store: Store, interval: float) -> bool:
    """Claim this interval's scheduled sync; False if another claim is still running."""
    return store.take_lease(SCHEDULE_LEASE, holder_id(), interval)
