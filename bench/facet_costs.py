"""What one search costs at scale, part by part: count, scored top 20, each facet field.

    .venv/bin/python -m bench.facet_costs DATA_DIR 'cancer' '"gene expression" -cancer'

For each query (planned as the API plans it, strict form) over the tantivy index of
DATA_DIR: the match count; CPU milliseconds (this thread's, so a busy neighbour on the
shared cores inflates them less than wall time) of the unscored count, the scored top
20, the aggregate over every facet; then per facet field the aggregate alone and
``terms_with_prefix`` with the query as filter (the dictionary-walk alternative for
list facets), and whether both give the same first 20 values. Medians of 3.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

REPEAT = 3


def _cpu_ms(call: Callable[[], Any]) -> float:
    times = []
    for _ in range(REPEAT):
        t0 = time.thread_time()
        call()
        times.append(time.thread_time() - t0)
    return sorted(times)[REPEAT // 2] * 1000


def _top(pairs: dict[str, int]) -> list[tuple[str, int]]:
    return sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0]))[:20]


def main(argv: list[str]) -> None:
    """Print the costs of each query in argv[1:] over the index of data dir argv[0]."""
    os.environ["OMICSORACLE_DATA_DIR"] = argv[0]
    os.environ["OMICSORACLE_SEARCH_ENGINE"] = "tantivy"
    from omicsoracle.cli import _settings
    from omicsoracle.runtime import Runtime
    from omicsoracle.search.base import SearchRequest
    from omicsoracle.search.plan import Planner
    from omicsoracle.search.tantivy_index import _AGGS
    from omicsoracle.understanding import understand

    with Runtime.open(_settings(), catch_up_index=False) as rt:
        snap = rt.index.current_snapshot()  # type: ignore[attr-defined]
        s = snap.searcher
        print(f"{s.num_docs:,} documents, {s.num_segments} segments")
        for query in argv[1:]:
            plan = Planner(snap.vocabulary()).plan(SearchRequest(query), understand(query).parsed)
            unscored, scored = rt.index.compile(plan, scored=False), rt.index.compile(plan)  # type: ignore[attr-defined]
            n = s.search(unscored, 1, count=True).count
            print(
                f"\n{query!r}: {n:,} matches; count {_cpu_ms(partial(s.search, unscored, 1, count=True)):.1f} ms, "
                f"scored top 20 {_cpu_ms(partial(s.search, scored, 20, count=False)):.1f} ms, "
                f"every facet {_cpu_ms(partial(s.aggregate, unscored, _AGGS)):.1f} ms"
            )
            print(
                "| field | aggregate ms | terms_with_prefix ms | same top 20 |\n|---|---:|---:|---|"
            )
            for name, spec in _AGGS.items():
                agg_ms = _cpu_ms(partial(s.aggregate, unscored, {name: spec}))
                if name in ("year", "bucket"):  # integer fields: no term dictionary walk
                    print(f"| {name} | {agg_ms:.1f} | | |")
                    continue
                size = spec["terms"]["size"]
                walk_ms = _cpu_ms(
                    partial(s.terms_with_prefix, name, "", filter_query=unscored, limit=size)
                )
                buckets = s.aggregate(unscored, {name: spec})[name]["buckets"]
                agg = {str(b["key"]): int(b["doc_count"]) for b in buckets if b["key"] != "unknown"}
                walk = dict(s.terms_with_prefix(name, "", filter_query=unscored, limit=size))
                same = _top(agg) == _top(walk) if len(agg) >= 20 or len(walk) < size else "n/a"
                print(f"| {name} | {agg_ms:.1f} | {walk_ms:.1f} | {same} |")


if __name__ == "__main__":
    main(sys.argv[1:])
