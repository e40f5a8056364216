"""Search-box suggestion benchmark: build time, memory and per-keystroke latency.

    .venv/bin/python -m bench.suggest_bench [--data-dir DIR] [--titles 200]

Builds a ``Suggester`` from a store (``--data-dir``, or the demo corpus ingested once
into bench/out/suggest/var and reused), the way the server does (``from_store``).
Reported: the time to read the series out of the store and to build the index, the
memory the built index holds (tracemalloc, in a second build) and the process peak
RSS. Then it types the first words of real series titles (seeded sample) one
character at a time, as a user would, and times ``suggest`` at every keystroke; the
first round warms up, the next rounds are measured.

``--scale N`` replicates the titles N times (copy k: accession + k * 10,000,000, title
+ " (copy k)" so copies stay distinct suggestions) to see memory and latency at a
400k-series corpus.
"""

from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import time
import tracemalloc
from collections import Counter
from pathlib import Path

from omicsoracle.config import Settings
from omicsoracle.search.suggest import Suggester
from omicsoracle.store import Store, open_store

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "suggest"
OFFSET = 10_000_000


def demo_settings(data_dir: Path | None) -> Settings:
    """Settings of ``data_dir``, or of the demo corpus ingested into bench/out/suggest."""
    if data_dir is not None:
        return Settings(data_dir=data_dir)
    settings = Settings(data_dir=OUT / "var")
    marker = OUT / "loaded"
    if not marker.exists():
        from tests.demo import load_demo  # only needed the first time

        print(f"ingesting the demo corpus into {settings.data_dir} (once) ...", flush=True)
        load_demo(settings.data_dir)
        marker.write_text("ok\n")
    return settings


def read_rows(store: Store) -> tuple[list[tuple[str, str, int | None]], Counter[str]]:
    """What ``from_store`` reads: (accession, title, n_samples) rows and organism counts."""
    organisms: Counter[str] = Counter()
    rows: list[tuple[str, str, int | None]] = []
    for accessions in store.iter_series_accessions():
        for doc in store.search_docs(accessions):
            organisms.update(set(doc.organisms))
            rows.append((doc.accession, doc.title, doc.n_samples))
    return rows, organisms


def replicate(
    rows: list[tuple[str, str, int | None]], scale: int
) -> list[tuple[str, str, int | None]]:
    """``scale`` distinct copies of the rows (copy 0 is the original)."""
    out = list(rows)
    for k in range(1, scale):
        out.extend(
            (f"GSE{int(acc[3:]) + k * OFFSET}", f"{title} (copy {k})", n) for acc, title, n in rows
        )
    return out


def keystrokes(titles: list[str], n: int, seed: int, max_words: int = 3) -> list[str]:
    """Every prefix a user types on the way to the first words of ``n`` sampled titles."""
    rng = random.Random(seed)
    sample = rng.sample([t for t in titles if t.strip()], min(n, len(titles)))
    typed: list[str] = []
    for title in sample:
        text = " ".join(title.split()[:max_words])
        typed.extend(text[:i] for i in range(1, len(text) + 1))
    return typed


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(suggester: Suggester, typed: list[str], rounds: int) -> list[tuple[float, str]]:
    """Microseconds per ``suggest`` call with its text (round 0 is a warm-up)."""
    times: list[tuple[float, str]] = []
    for r in range(rounds + 1):
        for text in typed:
            gc.disable()  # keep collector pauses out of single-call timings
            t0 = time.perf_counter()
            suggester.suggest(text)
            t1 = time.perf_counter()
            gc.enable()
            if r:
                times.append(((t1 - t0) * 1e6, text))
    return times


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="an existing data dir")
    parser.add_argument("--titles", type=int, default=200, help="titles typed")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--scale", type=int, default=1, help="replicate the titles N times")
    args = parser.parse_args(argv)
    settings = demo_settings(args.data_dir)
    store = open_store(settings.resolved_database_url, upgrade=False)  # read only
    try:
        t0 = time.perf_counter()
        rows, organisms = read_rows(store)
        t1 = time.perf_counter()
    finally:
        store.close()
    if args.scale > 1:
        rows = replicate(rows, args.scale)
    t_build = time.perf_counter()
    suggester = Suggester.build(rows, organisms)
    t2 = time.perf_counter()
    # Second build under tracemalloc (slow) only to count what the index keeps.
    del suggester
    gc.collect()
    tracemalloc.start()
    suggester = Suggester.build(rows, organisms)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    typed = keystrokes([title for _, title, _ in rows], args.titles, args.seed)
    del rows
    timed = measure(suggester, typed, args.rounds)
    times = [t for t, _ in timed]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    stats = suggester.stats()
    print(f"{stats}; {len(typed)} keystrokes x {args.rounds} rounds")
    print(f"slowest: {[(round(t), text) for t, text in sorted(timed)[-5:]]}")
    print()
    print("| series | read s | build s | index MB | build peak MB | run peak RSS MB "
          "| median us | p95 us | p99 us | max us |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    print(f"| {stats['accessions']:,} | {t1 - t0:.2f} | {t2 - t_build:.2f} | {held / 1e6:.1f} | "
          f"{peak / 1e6:.1f} | {rss:.0f} | {statistics.median(times):.0f} | "
          f"{_pct(times, 0.95):.0f} | {_pct(times, 0.99):.0f} | {max(times):.0f} |")  # fmt: skip


if __name__ == "__main__":
    main()
