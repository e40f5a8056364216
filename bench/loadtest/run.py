"""Load test the server: capacity (wrk, closed loop) and realism (Locust researchers).

    .venv/bin/python -m bench.loadtest.run --backend sqlite|postgres \
        --runs capacity,realism --duration 60 --scale 10

Prepares (or reuses) the data dir of the backend and scale (``bench/out/loadtest/``),
starts ``omicsoracle serve`` with production settings (access log off, 2 workers
when the CLI offers ``--workers``; on PostgreSQL with Redis as the L2 cache), waits
for /readyz, warms up (not counted), then runs:

* capacity: wrk, 2 threads, 200 connections, no think time, every request a search
  drawn Zipf(s=1.1) from bench/loadtest/queries.txt: requests/s, p50/p95/p99,
  errors, and the cache hit rate from /metrics before and after;
* realism: Locust, 1,000 researchers (search, think 1-3 s, open a series, page,
  narrow by a facet, suggestions): p95 and failures per request kind.

The RSS (VmRSS, VmHWM) of every server process is sampled throughout. Results go to
``bench/out/loadtest/<backend>-x<scale>-<run>.json`` and a table on stdout. The load
generator shares the machine's 2 cores with the server.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.loadtest.dataset import BACKENDS, OUT, REPO, Dataset, prepare
from bench.loadtest.server import RssSampler, Server, cache_counts, get, hit_rates, serve
from bench.loadtest.server import supports_workers as cli_has_workers

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "queries.txt"
ZIPF_LUA = HERE / "zipf.lua"
LOCUSTFILE = HERE / "locustfile.py"
NOTE = "load generator shares the 2 cores with the server"
RUNS = ("capacity", "realism")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """Command-line options (defaults: the runs of the issue)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--backend", choices=BACKENDS, default="sqlite")
    p.add_argument("--runs", default="capacity,realism", help="comma-separated: capacity,realism")
    p.add_argument("--scale", type=int, default=10, help="copies of the demo corpus")
    p.add_argument("--engine", choices=("tantivy", "sql", "pg"), default="tantivy")
    p.add_argument("--duration", type=int, default=60, help="capacity run, seconds")
    p.add_argument("--realism-duration", type=int, help="seconds (default: 1.5 x --duration)")
    p.add_argument("--warmup", type=int, default=10, help="seconds of load before, not counted")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--connections", type=int, default=200, help="wrk connections")
    p.add_argument("--users", type=int, default=1000, help="Locust users")
    p.add_argument("--spawn-rate", type=int, default=100, help="Locust users started per second")
    p.add_argument("--workers", type=int, default=2, help="server processes (if serve has it)")
    p.add_argument("--zipf-s", type=float, default=1.1)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-gzip", action="store_true", help="do not send Accept-Encoding: gzip")
    p.add_argument("--prepare-only", action="store_true", help="build the data dir and stop")
    args = p.parse_args(argv)
    args.runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    if unknown := set(args.runs) - set(RUNS):
        p.error(f"unknown runs: {', '.join(sorted(unknown))}")
    if args.engine == "pg" and args.backend != "postgres":
        p.error("--engine pg needs --backend postgres")
    if args.engine == "sql" and args.backend != "sqlite":
        p.error("--engine sql needs --backend sqlite")
    if args.realism_duration is None:
        args.realism_duration = round(args.duration * 1.5)
    return args


def wrk_command(
    server: Server, args: argparse.Namespace, seconds: int, connections: int
) -> list[str]:
    """The wrk command line of a capacity (or warm-up) run."""
    return [
        "wrk",
        f"-t{args.threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "5s",
        "-s",
        str(ZIPF_LUA.relative_to(REPO)),
        server.url,
        "--",
        str(QUERIES.relative_to(REPO)),
        str(args.zipf_s),
        str(args.seed),
        "0" if args.no_gzip else "1",
    ]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _wrk(command: list[str]) -> dict[str, Any]:
    proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("LOADTEST_JSON "):
            result: dict[str, Any] = json.loads(line.removeprefix("LOADTEST_JSON "))
            return result
    raise RuntimeError(
        f"wrk failed ({proc.returncode}): {proc.stdout[-1000:]}{proc.stderr[-1000:]}"
    )


def capacity(server: Server, args: argparse.Namespace) -> dict[str, Any]:
    """Closed loop, no think time: the most the server answers, and how fast."""
    command = wrk_command(server, args, args.duration, args.connections)
    before = cache_counts(server.url)
    cpu = _children_cpu()
    result = _wrk(command)
    cpu = _children_cpu() - cpu
    after = cache_counts(server.url)
    errors = result["errors"]
    return {
        "command": shlex.join(command),
        **result,
        "generator_cpu_cores": round(cpu / result["duration_s"], 2),
        "errors_total": sum(errors.values()),
        "cache_hit_rate": hit_rates(before, after),
        "cache_metric": "present"
        if before is not None
        else "absent (/metrics without cache_requests_total)",
    }


def locust_command(server: Server, args: argparse.Namespace, prefix: Path) -> list[str]:
    """The Locust command line of the realism run."""
    return [
        str(Path(sys.executable).with_name("locust")),
        "-f",
        str(LOCUSTFILE.relative_to(REPO)),
        "--headless",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.realism_duration}s",
        "--host",
        server.url,
        "--csv",
        str(prefix),
        "--only-summary",
        "--reset-stats",  # measure the full crowd, not the ramp-up
        "--stop-timeout",
        "5",
    ]


def realism(server: Server, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """1,000 researchers with think time: latency and failures per request kind."""
    prefix = OUT / f"{name}-realism-locust"
    command = locust_command(server, args, prefix)
    env = {
        **os.environ,
        "LOADTEST_QUERIES": str(QUERIES),
        "LOADTEST_ZIPF_S": str(args.zipf_s),
        "LOADTEST_GZIP": "0" if args.no_gzip else "1",
    }
    log = OUT / f"{name}-realism-locust.log"
    before = cache_counts(server.url)
    cpu = _children_cpu()
    with log.open("w") as out:
        proc = subprocess.run(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, check=False
        )
    cpu = _children_cpu() - cpu
    after = cache_counts(server.url)
    stats = Path(f"{prefix}_stats.csv")
    if not stats.exists():
        raise RuntimeError(f"locust failed ({proc.returncode}), see {log}")
    rows = {row["Name"]: row for row in _csv_rows(stats)}
    failures = _csv_rows(Path(f"{prefix}_failures.csv"))
    log_text = log.read_text(errors="replace")
    return {
        "command": shlex.join(command),
        "kinds": {name: _locust_row(row) for name, row in rows.items() if name != "Aggregated"},
        **_locust_row(rows["Aggregated"]),
        "failures": [
            {"name": f["Name"], "error": f["Error"], "occurrences": int(f["Occurrences"])}
            for f in failures
        ],
        # Locust warns when its own process saturates a core: latency then includes
        # the generator's queueing, not only the server's.
        "generator_cpu_warnings": log_text.count("CPU usage above"),
        # Over the whole Locust process life, ramp-up included.
        "generator_cpu_cores": round(cpu / args.realism_duration, 2),
        "cache_hit_rate": hit_rates(before, after),
        "exit_code": proc.returncode,
    }


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def _locust_row(row: dict[str, str]) -> dict[str, Any]:
    def pct(key: str) -> float | None:
        return None if row[key] in ("", "N/A") else float(row[key])

    return {
        "requests": int(row["Request Count"]),
        "failures_total": int(row["Failure Count"]),
        "requests_per_s": round(float(row["Requests/s"]), 1),
        "latency_ms": {
            "mean": round(float(row["Average Response Time"]), 2),
            "p50": pct("50%"),
            "p95": pct("95%"),
            "p99": pct("99%"),
            "max": round(float(row["Max Response Time"]), 1),
        },
    }


def warm_up(server: Server, args: argparse.Namespace) -> None:
    """Build the lazily built parts (suggester) and fill caches; nothing is recorded."""
    # Every worker builds its own suggester on first use (minutes for a 10x corpus on
    # PostgreSQL on a busy machine): concurrent requests reach each worker, and a
    # request stuck behind a build would otherwise end unrecorded when Locust stops.
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda q: get(f"{server.url}/api/v1/suggest?q={q}", timeout=600), "abcdefgh"))
    if args.warmup > 0:
        _wrk(wrk_command(server, args, args.warmup, min(args.connections, 50)))


def main(argv: list[str] | None = None) -> None:
    """Prepare, serve, run, report."""
    args = parse_args(argv)
    # Wide enough for the table when piped (make, tee): rich assumes 80 columns then.
    console = Console(width=max(120, shutil.get_terminal_size().columns))
    command = shlex.join([".venv/bin/python", "-m", "bench.loadtest.run", *(argv or sys.argv[1:])])
    started = time.perf_counter()
    ds = prepare(args.backend, args.scale, args.engine)
    console.print(
        f"data: {ds.name} ({ds.prepared.get('series', 0):,} series), ready in {time.perf_counter() - started:.1f} s"
    )
    if args.prepare_only:
        return
    workers = args.workers if cli_has_workers() else None
    results: dict[str, dict[str, Any]] = {}
    log = OUT / f"{ds.name}-server.log"
    with serve(ds.env, log, workers) as server, RssSampler(server.pid) as rss:
        console.print(f"server: {shlex.join(server.command)}")
        warm_up(server, args)
        for run in args.runs:
            console.print(f"{run} run on {ds.name} ...")
            result = capacity(server, args) if run == "capacity" else realism(server, args, ds.name)
            results[run] = _record(ds, server, args, run, result, command)
    # One server serves every run; its processes' peaks (VmHWM read while they ran)
    # cover them all, so each record carries the same figures.
    for run in results:
        results[run]["rss"] = [vars(p) for p in rss.processes.values()]
        path = OUT / f"{ds.name}-{run}.json"
        path.write_text(json.dumps(results[run], indent=2) + "\n")
    _print_summary(console, ds, results, command)


def _record(
    ds: Dataset,
    server: Server,
    args: argparse.Namespace,
    run: str,
    result: dict[str, Any],
    command: str,
) -> dict[str, Any]:
    return {
        "run": run,
        "backend": args.backend,
        "scale": args.scale,
        "engine": args.engine,
        "cache": "L1 + Redis L2" if args.backend == "postgres" else "L1",
        "dataset": ds.prepared,
        "server": {"command": shlex.join(server.command), "workers": server.workers},
        "result": result,
        "command": command,
        "note": NOTE,
        "cpus": os.cpu_count(),
        # Other work on the machine skews every figure; this says how busy it was.
        "loadavg_1m_after": round(os.getloadavg()[0], 2),
        "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _fmt(value: float | None, spec: str = ".1f") -> str:
    return "n/a" if value is None else format(value, spec)


def _print_summary(
    console: Console, ds: Dataset, results: dict[str, dict[str, Any]], command: str
) -> None:
    table = Table(title=f"load test: {ds.name} ({ds.prepared.get('series', 0):,} series)")
    for col in (
        "run",
        "requests",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "cache hit",
        "gen CPU",
    ):
        table.add_column(col, justify="left" if col == "run" else "right")
    for run, record in results.items():
        r = record["result"]
        lat = r["latency_ms"]
        hit = r["cache_hit_rate"]["overall"]
        table.add_row(
            run,
            f"{r['requests']:,}",
            _fmt(r["requests_per_s"]),
            _fmt(lat["p50"], ".1f"),
            _fmt(lat["p95"], ".1f"),
            _fmt(lat["p99"], ".1f"),
            str(r.get("errors_total", r.get("failures_total", 0))),
            "n/a" if hit is None else f"{hit:.1%}",
            f"{r['generator_cpu_cores']:.2f}",
        )
    console.print(table)
    if results:
        procs = next(iter(results.values()))["rss"]
        console.print(
            "RSS MiB, max VmRSS / VmHWM: "
            + ", ".join(
                f"{p['role']} {p['pid']} {p['max_rss_mib']:.0f}/{p['hwm_mib']:.0f}" for p in procs
            )
        )
    for record in results.values():
        console.print(f"{record['run']}: {record['result']['command']}", soft_wrap=True)
    console.print(f"command: {command}", soft_wrap=True)
    console.print(f"note: {NOTE}")
    console.print(f"JSON: {OUT}/{ds.name}-<run>.json", soft_wrap=True)


if __name__ == "__main__":
    main()
