"""``omicsoracle worker`` whose summary agent never returns (test only).

Run as ``python stuck_worker.py WORKER-ARGS...``: registers :class:`StuckSummary` under
the name "summary" through the documented hook (``register_agent``, as a plugin would),
then runs the real CLI. The agent logs when a request reaches it and blocks its thread
for good (a hung library call), so only the worker's grace period or a second signal
can end the process.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from omicsoracle.agents import Agent, register_agent
from omicsoracle.cli import app
from omicsoracle.runtime import Runtime

log = logging.getLogger("stuck_worker")


class StuckSummary(Agent):
    name = "summary"

    def process(self, payload: dict[str, Any]) -> dict[str, Any]:
        log.info("stuck agent: blocking on a request")
        threading.Event().wait()  # never set
        raise AssertionError("unreachable")


def _build(_rt: Runtime | None) -> Agent:
    return StuckSummary()


if __name__ == "__main__":
    register_agent("summary", _build, needs_runtime=False)
    app(["worker", *sys.argv[1:]], prog_name="omicsoracle")
