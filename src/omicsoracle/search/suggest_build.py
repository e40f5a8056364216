"""Build the search-box suggester in a process of its own and write it to stdout.

A server process runs this as a child (``python -m omicsoracle.search.suggest_build``)
and loads the bytes with ``Suggester.from_bytes``. The build reads every series and
makes millions of short-lived objects: in a worker it held the GIL for seconds (every
request of that worker waited) and left ~130 MB of freed but fragmented heap behind at
10x the demo corpus. In a child both end with the process.

The store URL comes from ``OMICSORACLE_DATABASE_URL``, an environment variable rather
than an argument, so a password in it is not shown to other users by ``ps``.
"""

from __future__ import annotations

import os
import sys

from omicsoracle.search.suggest import from_store
from omicsoracle.store import open_store

URL_ENV = "OMICSORACLE_DATABASE_URL"


def main() -> int:
    url = os.environ.get(URL_ENV)
    if not url:
        print(f"{URL_ENV} is not set", file=sys.stderr)
        return 2
    store = open_store(url, readers=1, upgrade=False)
    try:
        data = from_store(store).to_bytes()
    finally:
        store.close()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
