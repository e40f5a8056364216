"""Full-GEO-scale benchmark: ingest phases, memory, disk, search, ``show GSE``, sample probes.

    .venv/bin/omicsoracle bench scale                    # demo + small (~1/100 of GEO)
    .venv/bin/omicsoracle bench scale --size full        # demo + 250k series / 7.5M samples

The corpus is the GEO-mirror tree of bench/geo_scale.py, generated into
bench/out/geo-<size>/ when missing. The demo corpus (data/corpus + data/demo) runs
the same phases in the same run, side by side.

Ingest runs in a child process (``python -m bench.scale_bench _phases``) doing what
``omicsoracle ingest`` does, phase by phase: the store writes (``ingest_paths``, with
``--jobs`` when the ingest supports it), the enrichment (``enrich``), the search-index
catch-up (tantivy). Each phase is timed inside the child; the parent samples the
child's whole process tree (parallel parsers included) every 20 ms from /proc:
RssAnon summed (heap: what the processes own) and RSS summed (also mapped index
files), the peak per phase. Then, in this process: store and index size on disk;
search full responses (bench/search_bench.py's queries and timing: top 20, snippets,
total, every facet, cursor) median/p95; ``store.get(GSE, sample_limit=50)`` (what the
API and ``show`` call) on random series and on the 50 largest, median/p95; the probes
of probes.jsonl: a GSM accession, a sample title word and a characteristic value must
each bring the series into the first 20 results.

Sync throughput against the E-utilities stand-in (bench/sync_bench.py, rate limiting
off) is measured once per run and shown on the first row.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
DEMO = [REPO / "data" / "corpus", REPO / "data" / "demo"]
GOALS = {"ingest_s": 1800, "peak_mib": 1024, "search_p95_ms": 15, "show_p95_ms": 20}


# ---------------------------------------------------------------- child: the phases


def _phases(argv: list[str]) -> None:
    """Run store, enrich and index phases in this process; print their times as JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("paths", nargs="+", type=Path)
    parser.add_argument("--jobs", type=int, default=0)
    args = parser.parse_args(argv)
    from omicsoracle.cli import CLEAN_LISTED, _settings
    from omicsoracle.extraction.store import enrich
    from omicsoracle.ingest_parallel import run_ingest
    from omicsoracle.memory import limit_arenas
    from omicsoracle.runtime import Runtime

    limit_arenas()
    settings = _settings()
    out: dict[str, Any] = {}
    with Runtime.open(settings, catch_up_index=False) as rt:
        kwargs: dict[str, Any] = {"batch_size": settings.ingest_batch_size}
        if args.jobs and "jobs" in inspect.signature(run_ingest).parameters:
            kwargs["jobs"] = args.jobs
        out["jobs"] = kwargs.get("jobs", 1)
        _mark("store")
        t0 = time.perf_counter()
        # As ``omicsoracle ingest`` does: the first clean files' results kept, the rest summed.
        report = run_ingest(rt.store, args.paths, keep_clean=CLEAN_LISTED, **kwargs)
        out["store_s"] = time.perf_counter() - t0
        parsed = dict(report.more_clean.parsed)
        for r in report.files:
            for k, v in r.parsed.items():
                parsed[k] = parsed.get(k, 0) + v
        out["parsed"] = parsed
        out["files"] = len(report.files) + report.more_clean.files
        out["failed_files"] = sum(1 for r in report.files if not r.ok)
        del report
        _mark("enrich")
        t0 = time.perf_counter()
        enrich_kwargs: dict[str, Any] = {}
        if "jobs" in inspect.signature(enrich).parameters:
            enrich_kwargs["jobs"] = out["jobs"]
        enrich(rt.store, full=False, upgrade=True, **enrich_kwargs)
        out["enrich_s"] = time.perf_counter() - t0
        _mark("index")
        t0 = time.perf_counter()
        out["indexed"] = rt.catch_up().documents
        out["index_s"] = time.perf_counter() - t0
        _mark("done")
    print(json.dumps(out), flush=True)


def _mark(phase: str) -> None:
    print(f"@phase {phase} {time.time()}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- parent: sampling


def _tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        try:
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except OSError:
            continue
    return pids


def _memory(pids: list[int]) -> tuple[int, int]:
    anon = rss = 0
    for p in pids:
        try:
            text = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith("RssAnon:"):
                anon += int(line.split()[1])
            elif line.startswith("VmRSS:"):
                rss += int(line.split()[1])
    return anon, rss


def run_phases(paths: list[Path], data_dir: Path, jobs: int) -> dict[str, Any]:
    """A fresh data dir, the child's phases, and peak memory of its tree per phase."""
    if data_dir.exists():
        subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    env = {**os.environ, "OMICSORACLE_DATA_DIR": str(data_dir),
           "OMICSORACLE_SEARCH_ENGINE": "tantivy"}  # fmt: skip
    cmd = [sys.executable, "-m", "bench.scale_bench", "_phases", "--jobs", str(jobs),
           *map(str, paths)]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    phase = ["start"]
    stderr: list[str] = []

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if line.startswith("@phase "):
                # Logged as it happens: a run stopped part-way still says how far it got.
                done = peaks.get(phase[0], [0, 0])
                print(f"  {time.perf_counter() - started:8.0f} s: {phase[0]} done (peak heap "
                      f"{done[0] / 1024:.0f} MiB, RSS {done[1] / 1024:.0f} MiB); "
                      f"{line.split()[1]} ...", file=sys.stderr, flush=True)  # fmt: skip
                phase[0] = line.split()[1]
            else:
                stderr.append(line)

    peaks: dict[str, list[int]] = {}
    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    while proc.poll() is None:
        anon, rss = _memory(_tree(proc.pid))
        p = peaks.setdefault(phase[0], [0, 0])
        p[0], p[1] = max(p[0], anon), max(p[1], rss)
        time.sleep(0.02)
    stdout = proc.stdout.read() if proc.stdout else ""
    reader.join()
    if proc.returncode != 0:
        raise RuntimeError(f"phases failed ({proc.returncode}): {''.join(stderr)[-3000:]}")
    out: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    out["wall_s"] = time.perf_counter() - started
    out["peak_anon_mib"] = {k: v[0] / 1024 for k, v in peaks.items() if k != "start"}
    out["peak_rss_mib"] = {k: v[1] / 1024 for k, v in peaks.items() if k != "start"}
    index_dir = data_dir / "index"
    out["index_mb"] = _du(index_dir) / 1e6 if index_dir.exists() else 0.0
    out["store_mb"] = (_du(data_dir) - _du(index_dir)) / 1e6
    return out


def _du(path: Path) -> int:
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ---------------------------------------------------------------- parent: reads


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def measure_reads(data_dir: Path, probes: list[dict[str, Any]], rounds: int) -> dict[str, Any]:
    """Search and show latency, and the probes, on the data dir just built."""
    os.environ["OMICSORACLE_DATA_DIR"] = str(data_dir)
    os.environ["OMICSORACLE_SEARCH_ENGINE"] = "tantivy"
    from bench.search_bench import load_queries, measure
    from omicsoracle.cli import _settings
    from omicsoracle.runtime import Runtime
    from omicsoracle.search import SearchRequest

    out: dict[str, Any] = {}
    with Runtime.open(_settings(), catch_up_index=False) as rt:
        timings, _ = measure(rt.index, load_queries(), rounds, seed=7)
        out["search_median_ms"] = statistics.median(timings["first"])
        out["search_p95_ms"] = _pct(timings["first"], 0.95)
        out["page2_p95_ms"] = _pct(timings["second"], 0.95)
        out["docs"] = rt.index.doc_count()
        out["show"] = _show(rt, rounds)
        out["probes"] = _probes(rt, probes, SearchRequest)
    return out


def _show(rt: Any, rounds: int) -> dict[str, float]:
    from sqlalchemy import text

    with rt.store.read_engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM series")).scalar_one()
        rng = random.Random(11)
        rows = conn.execute(text("SELECT accession FROM series ORDER BY accession")).scalars()
        all_acc = list(rows)
        big = conn.execute(text(
            "SELECT series FROM series_samples GROUP BY series ORDER BY count(*) DESC LIMIT 50"
        )).scalars().all()  # fmt: skip
    big = set(big)
    picks = rng.sample(all_acc, min(200, n)) + sorted(big)
    for acc in picks[:20]:
        rt.store.get(acc, sample_limit=50)  # warm-up
    ms: list[float] = []
    ms_big: list[float] = []
    for _ in range(rounds):
        for acc in picks:
            t0 = time.perf_counter()
            rec = rt.store.get(acc, sample_limit=50)
            dt = (time.perf_counter() - t0) * 1000
            assert rec is not None
            (ms_big if acc in big else ms).append(dt)
    return {"median_ms": statistics.median(ms), "p95_ms": _pct(ms, 0.95),
            "largest50_p95_ms": _pct(ms_big, 0.95)}  # fmt: skip


def _probes(rt: Any, probes: list[dict[str, Any]], request: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind in ("gsm", "title_word", "characteristic"):
        hits, misses = 0, []
        for p in probes:
            resp = rt.index.search(request(p[kind], limit=20))
            if any(r.accession == p["series"] for r in resp.results):
                hits += 1
            else:
                misses.append({k: p[k] for k in ("series", "n_samples", "sample_index", kind)})
        out[kind] = {"hits": hits, "misses": len(misses), "examples": misses[:5]}
    return out


def sync_throughput(records: int = 5000) -> float:
    """Series+datasets/s of ``sync geo`` against tests/sync/standin.py, rate limit off
    (bench/sync_bench.py; the stand-in shares the cores). One figure per run: the sync
    does not depend on the size of the store it writes into beyond the demo's."""
    from bench.sync_bench import measure

    return float(measure(records, rounds=1)["records_per_s"])


# ---------------------------------------------------------------- report


def _row(name: str, r: dict[str, Any]) -> str:
    recs = sum(r["parsed"].values())
    total = r["store_s"] + r["index_s"]
    peak_anon = max(r["peak_anon_mib"].values())
    peak_rss = max(r["peak_rss_mib"].values())
    p = r.get("probes", {})
    probe = " / ".join(f"{v['hits']}/{v['hits'] + v['misses']}" for v in p.values()) or "-"
    sync = r.get("sync_rps")
    return (
        f"| {name} | {r['parsed'].get('series', 0):,} | {r['parsed'].get('sample', 0):,} | "
        f"{recs:,} | {r['store_s']:.0f} | {recs / r['store_s']:,.0f} | {r['enrich_s']:.0f} | "
        f"{r['index_s']:.0f} | {r['indexed'] / max(r['index_s'], 1e-9):,.0f} | "
        f"**{total:.0f}** | {peak_anon:.0f} | {peak_rss:.0f} | {r['store_mb']:,.0f} | "
        f"{r['index_mb']:,.0f} | {r['search_median_ms']:.2f} | **{r['search_p95_ms']:.2f}** | "
        f"{r['show']['median_ms']:.2f} | **{r['show']['p95_ms']:.2f}** | "
        f"{r['show']['largest50_p95_ms']:.2f} | {probe} | {sync if sync else '-'} |"
    )


HEADER = (
    "| corpus | series | samples | records | store s | store rec/s | enrich s | index s | "
    "index docs/s | store+index s | peak heap MiB | peak RSS MiB | store MB | index MB | "
    "search med ms | search p95 ms | show med ms | show p95 ms | show p95 largest 50 | "
    "probes GSM / title / char | sync rec/s |\n|---|" + "---:|" * 20
)


def main(argv: list[str] | None = None) -> None:
    """Generate if needed, run demo and the chosen size, print JSON and a markdown table."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_phases"]:
        _phases(argv[1:])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", nargs="+", default=["small"], choices=["small", "tenth", "full"])
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the data dirs")
    args = parser.parse_args(argv)
    from bench import geo_scale

    OUT.mkdir(parents=True, exist_ok=True)
    runs: dict[str, dict[str, Any]] = {}
    targets: list[tuple[str, list[Path], list[dict[str, Any]]]] = []
    if not args.no_demo:
        targets.append(("demo", DEMO, []))
    for size in args.size:
        tree = OUT / f"geo-{size}"
        if not (tree / "manifest.json").exists():
            print(f"generating {tree} ...", file=sys.stderr, flush=True)
            geo_scale.generate(tree, geo_scale.plan_for(size), jobs=2, log=sys.stderr)
        lines = (tree / "probes.jsonl").read_text().splitlines()
        # PubMed is not part of GEO's FTP tree: its files are a second path, as a user
        # would pass a PubMed baseline directory next to the mirror.
        targets.append((size, [tree, tree / "pubmed"], [json.loads(x) for x in lines]))
    for name, paths, probes in targets:
        data_dir = OUT / f"scale-data-{name}"
        print(f"{name}: ingest phases ...", file=sys.stderr, flush=True)
        run = run_phases(paths, data_dir, args.jobs)
        print(f"{name}: {json.dumps(run)}", file=sys.stderr, flush=True)
        run.update(measure_reads(data_dir, probes, args.rounds))
        if not runs:
            run["sync_rps"] = round(sync_throughput())
        runs[name] = run
        (OUT / f"scale-{name}.json").write_text(json.dumps(run, indent=1))
        if not args.keep and name != "demo":
            subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    print(json.dumps(runs, indent=1))
    print(f"\n### Full GEO scale (tantivy; --jobs {args.jobs}; 2 cores shared)\n")
    print(HEADER)
    for name, r in runs.items():
        print(_row(name, r))


if __name__ == "__main__":
    main()
