"""Sync throughput: ``sync geo`` against the E-utilities stand-in, rate limiting off.

    .venv/bin/python -m bench.sync_bench                  # 5,000 series, 3 rounds
    .venv/bin/python -m bench.sync_bench --records 20000 --rounds 1

What it measures is OmicsOracle's side of a sync: esearch paging, esummary pages of
500 docsums, docsum validation, efetch of the linked PubMed articles, the store writes
with the position in the same transaction. NCBI's own rate limit (3 or 10 requests/s)
bounds a real sync far below this: at 10 requests/s and 500 docsums a page, about
5,000 series/s at best, and less once the articles are fetched. Setting
OMICSORACLE_SYNC_REQUESTS_PER_SECOND=0 (what this bench does) is for a local mirror
of E-utilities only.

The stand-in (tests/sync/standin.py) runs in a thread of this process: it shares the
2 cores with the sync, so the figures are a lower bound of the client's speed.
Each round syncs into a fresh SQLite store; the median round is reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
START, END = dt.date(2024, 1, 1), dt.date(2024, 12, 31)


def _standin_module() -> Any:
    sys.path.insert(0, str(REPO / "tests" / "sync"))
    import standin  # type: ignore[import-not-found]

    return standin


def one_round(standin: Any, window_days: int) -> dict[str, Any]:
    from omicsoracle.config import Settings
    from omicsoracle.store import open_store
    from omicsoracle.sync.geo import SyncOptions, run_sync

    with tempfile.TemporaryDirectory(prefix="sync-bench-") as tmp:
        data = Path(tmp)
        settings = Settings(
            data_dir=data,
            eutils_url=standin.url,
            geo_ftp_url=standin.ftp_url,
            sync_requests_per_second=0,
            sync_window_days=window_days,
        )
        store = open_store(f"sqlite:///{data / 'store.sqlite'}")
        try:
            t0 = time.perf_counter()
            report = run_sync(settings, store, SyncOptions(since=START, until=END))
            seconds = time.perf_counter() - t0
        finally:
            store.close()
    return {
        "seconds": seconds,
        "records": report.records,
        "samples": report.samples,
        "publications": report.publications,
        "requests": report.requests,
        "records_per_s": report.records / seconds,
        "stored_per_s": (report.records + report.samples + report.publications) / seconds,
    }


def measure(records: int, rounds: int, window_days: int = 31) -> dict[str, Any]:
    """Median of ``rounds`` full syncs of ``records`` series served by the stand-in."""
    mod = _standin_module()
    with mod.EutilsStandin(records, start=START, end=END) as standin:
        runs = [one_round(standin, window_days) for _ in range(rounds)]
    best = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return {
        "served": records,
        "rounds": rounds,
        "window_days": window_days,
        "median_s": statistics.median(r["seconds"] for r in runs),
        "records_per_s": statistics.median(r["records_per_s"] for r in runs),
        "stored_per_s": statistics.median(r["stored_per_s"] for r in runs),
        "median_round": best,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--window-days", type=int, default=31)
    args = parser.parse_args(argv)
    out = measure(args.records, args.rounds, args.window_days)
    print(json.dumps(out, indent=1))
    r = out["median_round"]
    print(
        f"\nsync geo, stand-in, rate limit off: {out['records_per_s']:,.0f} series+datasets/s "
        f"({out['stored_per_s']:,.0f} records/s with samples and articles; "
        f"{r['requests']} requests, median of {args.rounds}; stand-in on the same 2 cores)"
    )


if __name__ == "__main__":
    main()
