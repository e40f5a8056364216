"""Ingest benchmark: demo corpus throughput, and memory on a 10x corpus file.

Run: ``.venv/bin/omicsoracle bench ingest`` or ``.venv/bin/python -m bench.ingest_bench``.

Each measurement is a fresh ``omicsoracle ingest`` process on an empty data
directory, timed from outside, with its peak RSS read from ``wait4``; so the
figures include interpreter start, format detection, the store writes and the
search-index catch-up, exactly what a user waits for.

The 10x files replicate the real corpus with new accessions (GSE ids shifted by
10,000,000 x copy) so text statistics stay real; they are written streaming and
are never held in memory.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus"
DEMO = [CORPUS, REPO / "data" / "demo"]
OUT = REPO / "bench" / "out"
SHIFT = 10_000_000


def shift_accession(accession: str, copy: int) -> str:
    """GSE123 in copy k becomes GSE(123 + k * 10,000,000); copy 0 is the original."""
    return f"GSE{int(accession[3:]) + copy * SHIFT}" if copy else accession


def replicate_corpus(target: Path, copies: int) -> list[Path]:
    """Write the JSONL and CSV corpus replicated ``copies`` times (streaming)."""
    target.mkdir(parents=True, exist_ok=True)
    jsonl = target / f"geo_series_x{copies}.jsonl.gz"
    csv_path = target / f"geo_browse_series_2014_x{copies}.csv.gz"
    if not jsonl.exists():
        with gzip.open(jsonl, "wt", encoding="utf-8", compresslevel=1) as out:
            for copy in range(copies):
                with gzip.open(CORPUS / "geo_series.jsonl.gz", "rt", encoding="utf-8") as src:
                    for line in src:
                        record = json.loads(line)
                        record["accession"] = shift_accession(record["accession"], copy)
                        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    if not csv_path.exists():
        with gzip.open(csv_path, "wt", encoding="utf-8", newline="", compresslevel=1) as out:
            writer = csv.writer(out)
            for copy in range(copies):
                with gzip.open(
                    CORPUS / "geo_browse_series_2014.csv.gz", "rt", encoding="utf-8", newline=""
                ) as src:
                    reader = csv.reader(src)
                    header = next(reader)
                    if copy == 0:
                        writer.writerow(header)
                    for row in reader:
                        row[0] = shift_accession(row[0], copy)
                        writer.writerow(row)
    return [jsonl, csv_path]


def run_ingest(
    paths: list[Path], data_dir: Path, engine: str, *, index: bool = True
) -> dict[str, float]:
    """One fresh ingest process; returns seconds, peak RSS (MiB) and record counts."""
    if data_dir.exists():
        subprocess.run(["rm", "-rf", str(data_dir)], check=True)
    env = {
        **os.environ,
        "OMICSORACLE_DATA_DIR": str(data_dir),
        "OMICSORACLE_SEARCH_ENGINE": engine,
    }
    command = [
        str(Path(sys.executable).with_name("omicsoracle")),
        "ingest",
        "--json",
        *([] if index else ["--no-index"]),
        *map(str, paths),
    ]
    started = time.perf_counter()
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = io.BytesIO()
    assert proc.stdout is not None
    reader = threading.Thread(
        target=lambda: stdout.write(proc.stdout.read()),  # type: ignore[union-attr]
        daemon=True,
    )
    reader.start()
    peak_anon = _sample_heap_peak(proc.pid)
    reader.join()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        err = proc.stderr.read().decode() if proc.stderr else ""
        raise RuntimeError(f"ingest failed ({proc.returncode}): {err[-2000:]}")
    report = json.loads(stdout.getvalue())
    records = sum(sum(f["parsed"].values()) for f in report["files"])
    series = sum(f["parsed"].get("series", 0) for f in report["files"])
    return {
        "seconds": seconds,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "peak_anon_mib": peak_anon / 1024,
        "records": records,
        "series": series,
        "indexed": report["indexed"],
    }


def _sample_heap_peak(pid: int) -> int:
    """Peak RssAnon (KiB) of a running process, sampled every 5 ms until it exits.

    Peak RSS (VmHWM) also counts the index files tantivy maps while it merges
    segments: clean page cache the kernel drops at will. RssAnon is the process's
    own memory, the part that must not grow with the input.
    """
    peak = 0
    status = Path(f"/proc/{pid}/status")
    while True:
        try:
            text = status.read_text()
        except OSError:
            return peak
        if "State:\tZ" in text:  # exited, not yet reaped
            return peak
        for line in text.splitlines():
            if line.startswith("RssAnon:"):
                peak = max(peak, int(line.split()[1]))
        time.sleep(0.005)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--scale", type=int, default=10, help="replication factor for the memory run"
    )
    parser.add_argument("--repeat", type=int, default=3, help="demo ingests to take the median of")
    parser.add_argument("--engine", default="tantivy", choices=["tantivy", "sql"])
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    demo_runs = [run_ingest(DEMO, OUT / "ingest-demo", args.engine) for _ in range(args.repeat)]
    demo_seconds = statistics.median(r["seconds"] for r in demo_runs)
    rows = [
        _row(
            "demo corpus (data/corpus + data/demo), store + index",
            {
                **demo_runs[0],
                "seconds": demo_seconds,
                "peak_rss_mib": max(r["peak_rss_mib"] for r in demo_runs),
            },
        )
    ]
    peaks: dict[tuple[int, bool], float] = {}
    heaps: dict[tuple[int, bool], float] = {}
    for copies in (1, args.scale):
        files = replicate_corpus(OUT / "corpus", copies)
        for index in (False, True):
            run = run_ingest(files, OUT / f"ingest-x{copies}", args.engine, index=index)
            peaks[(copies, index)] = run["peak_rss_mib"]
            heaps[(copies, index)] = run["peak_anon_mib"]
            what = "store + index" if index else "store only (--no-index)"
            rows.append(_row(f"corpus files x{copies}, {what}", run))

    print(
        f"\n### Ingest ({args.engine} index; one process per run; 2 cores, nothing else running)\n"
    )
    print(
        "| input | records | series | seconds | records/s | peak RSS MiB | peak heap (RssAnon) MiB |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(row)
    print(
        f"\ndemo: median of {args.repeat} runs. Peak RSS x{args.scale}/x1: store only "
        f"{peaks[(args.scale, False)] / peaks[(1, False)]:.2f}, store + index "
        f"{peaks[(args.scale, True)] / peaks[(1, True)]:.2f}. Peak heap x{args.scale}/x1: "
        f"store only {heaps[(args.scale, False)] / heaps[(1, False)]:.2f}, store + index "
        f"{heaps[(args.scale, True)] / heaps[(1, True)]:.2f}"
    )


def _row(name: str, run: dict[str, float]) -> str:
    rate = run["records"] / run["seconds"]
    return (
        f"| {name} | {run['records']:,.0f} | {run['series']:,.0f} | {run['seconds']:.1f} | "
        f"{rate:,.0f} | {run['peak_rss_mib']:.0f} | {run['peak_anon_mib']:.0f} |"
    )


if __name__ == "__main__":
    main()
