"""Search latency of two code versions over one store, side by side, alternating runs.

    .venv/bin/python -m bench.scale_search \\
        old=/tmp/old-src:bench/out/scale-index-old new=src:bench/out/scale-data-full

Each ``label=SRC:DATA_DIR`` is a source tree (put first on PYTHONPATH) and a data dir
whose tantivy index that code wrote. The versions run in turn, ``--runs`` times each
(old, new, old, new, ...), so a noisy neighbour on the shared cores hits both alike; a
run is one child process: open the index, a warm-up round, then ``--rounds`` rounds of
bench/queries.txt (full response: top 20, snippets, total, every facet, then the next
page by cursor). Prints per version median/p95 of the first and second pages, and the
queries whose median changed most.

The child (``_child``) prints its timings as JSON on stdout; the parent only orders the
runs and aggregates, so it imports nothing of the code under test.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

from bench.scale_bench import _pct  # imports no code under test at module level

ROOT = Path(__file__).resolve().parents[1]


def _child(data_dir: str, rounds: int) -> None:
    os.environ["OMICSORACLE_DATA_DIR"] = data_dir
    os.environ["OMICSORACLE_SEARCH_ENGINE"] = "tantivy"
    from bench.search_bench import load_queries, measure
    from omicsoracle.cli import _settings
    from omicsoracle.runtime import Runtime
    from omicsoracle.search.fields import INDEX_FORMAT

    with Runtime.open(_settings(), catch_up_index=False) as rt:
        docs = rt.index.doc_count()
        timings, per_query = measure(rt.index, load_queries(), rounds, seed=7)
    out = {"docs": docs, "format": INDEX_FORMAT, "per_query": per_query, **timings}
    print(json.dumps(out))


def main(argv: list[str] | None = None) -> None:
    """Alternate the versions' runs, then print a markdown table."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_child"]:
        _child(argv[1], int(argv[2]))
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("versions", nargs="+", help="label=SRC:DATA_DIR")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args(argv)
    versions = []
    for spec in args.versions:
        label, _, rest = spec.partition("=")
        src, _, data_dir = rest.partition(":")
        versions.append((label, str(Path(src).resolve()), str(Path(data_dir).resolve())))
    first: dict[str, list[float]] = defaultdict(list)
    second: dict[str, list[float]] = defaultdict(list)
    by_query: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    docs: dict[str, int] = {}
    for run in range(args.runs):
        for label, src, data_dir in versions:
            env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, str(ROOT)])}
            done = subprocess.run(
                [sys.executable, "-m", "bench.scale_search", "_child", data_dir, str(args.rounds)],
                env=env, cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
            docs[label] = result["docs"]
            first[label] += result["first"]
            second[label] += result["second"]
            for ms, query in result["per_query"]:
                by_query[query][label].append(ms)
            print(
                f"run {run + 1} {label} (format {result['format']}, {result['docs']:,} docs): "
                f"median {statistics.median(result['first']):.2f} ms",
                file=sys.stderr, flush=True,
            )  # fmt: skip
    print("| version | docs | search med ms | search p95 ms | page 2 med ms | page 2 p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, _, _ in versions:
        f, s = first[label], second[label]
        print(
            f"| {label} | {docs[label]:,} | {statistics.median(f):.2f} | **{_pct(f, 0.95):.2f}** | "
            f"{statistics.median(s):.2f} | {_pct(s, 0.95):.2f} |"
        )
    if len(versions) >= 2:
        a, b = versions[0][0], versions[1][0]
        change = sorted(
            (statistics.median(t[b]) / statistics.median(t[a]), q) for q, t in by_query.items()
        )
        print(f"\nper-query median {b}/{a}: lowest", [f"{q} {r:.2f}" for r, q in change[:5]])
        print(f"per-query median {b}/{a}: highest", [f"{q} {r:.2f}" for r, q in change[-5:]])
        # The slowest queries decide the p95 (62 queries: about the 4th slowest).
        slow = sorted(
            by_query,
            key=lambda q: (
                -max(statistics.median(by_query[q][a]), statistics.median(by_query[q][b]))
            ),
        )
        print(f"\n| query | {a} med ms | {b} med ms |\n|---|---:|---:|")
        for q in slow[:12]:
            t = by_query[q]
            print(f"| {q} | {statistics.median(t[a]):.1f} | {statistics.median(t[b]):.1f} |")


if __name__ == "__main__":
    main()
