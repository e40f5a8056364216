"""``ingest --jobs N`` and the cheap ``--skip-seen``: same store as one job, resumable.

Real fixtures in a tmp GEO mirror (tests/mirror_fixture.py), real SQLite and PostgreSQL.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import text

from mirror_fixture import DATA, build_mirror, synthetic_series
from omicsoracle.extraction.store import enrich
from omicsoracle.ingest import FileResult, OnError, write_parsed
from omicsoracle.ingest_parallel import ParserPool, run_ingest
from omicsoracle.store import Store, open_store

TABLES = {
    "series": "accession, doc, content_hash",
    "samples": "accession, doc, content_hash",
    "platforms": "accession, doc, content_hash",
    "datasets": "accession, doc, content_hash",
    "relationships": "series, pmid, source, relation, confidence",
    "series_samples": "series, sample",
    "sample_characteristics": "sample, seq, key, value",
    "dataset_subsets": "dataset, subset_id, type, description, samples",
    "data_tables": "owner, seq, n_rows, content_hash",
    "publications": "pmid, doc, content_hash",
}


def snapshot(store: Store, *, changes: bool = True) -> dict[str, list[tuple[Any, ...]]]:
    """Every record, link and table of the store (ids and timestamps left out)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
        for table, columns in TABLES.items():
            rows = conn.execute(text(f"SELECT {columns} FROM {table}")).all()
            out[table] = sorted(tuple(str(v) for v in row) for row in rows)
        if changes:
            rows = conn.execute(text("SELECT record_type, accession, op FROM changes ORDER BY id"))
            out["changes"] = [tuple(row) for row in rows]
    return out


def _summary(results: list[FileResult]) -> list[tuple[str, str, Any, Any, list[str]]]:
    return [
        (Path(r.path).name, r.status, r.parsed, r.written, [str(p) for p in r.problems])
        for r in results
    ]


def _file_stats(store: Store) -> dict[str, tuple[int, int, str]]:
    return dict(store.file_stats())


def _runs(store: Store) -> int:
    with store.read_engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT count(*) FROM ingest_runs")).scalar_one())


def test_jobs_4_store_equals_jobs_1(store: Store, other_store: Store, tmp_path: Path) -> None:
    root = build_mirror(tmp_path / "mirror")
    one = run_ingest(store, [root], jobs=1, batch_size=7)
    four = run_ingest(other_store, [root], jobs=4, batch_size=7)
    assert _summary(one.files) == _summary(four.files)
    assert [r.status for r in four.files].count("ok") == 6
    failed = next(r for r in four.files if r.status == "failed")
    assert "empty file (0 bytes)" in str(failed.problems[0])
    assert four.walk.as_dict() == {"not_metadata": 1, "raw_dirs": 1}
    assert snapshot(store) == snapshot(other_store)
    assert snapshot(store)["relationships"]  # the comparison covers the links


def test_keep_clean_sums_the_rest_and_keeps_every_problem(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    """A mirror's report keeps the first N clean results and sums the rest (a result
    per file held ~300 MiB at GEO's 275,000 files); problem files are all kept, in walk
    order, and the store is the same as with every result kept."""
    root = build_mirror(tmp_path / "mirror")
    every = run_ingest(store, [root], jobs=2, batch_size=7)
    some = run_ingest(other_store, [root], jobs=2, batch_size=7, keep_clean=2)
    clean = [r for r in every.files if r.ok and r.status == "ok"]
    problems = [r for r in every.files if not r.ok]
    assert len(clean) == 6
    assert problems
    assert _summary(some.files) == _summary(
        [r for r in every.files if r in problems or r in clean[:2]]
    )
    rest = some.more_clean
    assert (rest.files, rest.skipped) == (4, 0)
    for kind in {k for r in clean for k in r.parsed}:
        assert rest.parsed.get(kind, 0) == sum(r.parsed.get(kind, 0) for r in clean[2:])
    inserted = sum(sum(r.written["inserted"].values()) for r in clean[2:])
    assert sum(rest.written["inserted"].values()) == inserted > 0
    assert snapshot(store, changes=False) == snapshot(other_store, changes=False)
    # A second pass with --skip-seen: the skipped files are clean too, and counted.
    again = run_ingest(other_store, [root], jobs=2, skip_seen=True, keep_clean=1)
    assert sum(r.status == "skipped" for r in again.files) == 1
    assert (again.more_clean.files, again.more_clean.skipped) == (5, 5)


def test_jobs_skip_mode_and_format_errors_equal(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    # A gzip truncated mid-file: skip mode keeps what parsed before the damage.
    data = (DATA / "soft" / "GSE94489_family.soft.gz").read_bytes()
    cut = tmp_path / "GSE94489_family.soft.gz"
    cut.write_bytes(data[: len(data) * 2 // 3])
    paths = [cut, DATA / "soft" / "GSE93431_family.soft.gz", tmp_path / "missing.soft"]
    one = run_ingest(store, paths, jobs=1, on_error=OnError.SKIP, batch_size=5)
    two = run_ingest(other_store, paths, jobs=2, on_error=OnError.SKIP, batch_size=5)
    assert _summary(one.files) == _summary(two.files)
    assert [r.status for r in two.files] == ["partial", "ok", "failed"]
    assert "no such file" in str(two.files[2].problems[0])
    assert snapshot(store) == snapshot(other_store)
    # Only the clean file is marked seen.
    assert list(_file_stats(other_store)) == [str(paths[1].absolute())]


def _big_table(path: Path, rows: int = 200_000) -> Path:
    """One sample with a table larger than a worker's pipe: the kill lands mid-file."""
    body = "\n".join(f"P{i}\t{i * 0.5}" for i in range(rows))
    path.write_bytes(
        gzip.compress(
            (
                "^SAMPLE = GSM7000001\n!Sample_title = big table\n"
                "!Sample_geo_accession = GSM7000001\n!Sample_platform_id = GPL570\n"
                f"!Sample_data_row_count = {rows}\n#ID_REF = probe\n#VALUE = value\n"
                f"!sample_table_begin\nID_REF\tVALUE\n{body}\n!sample_table_end\n"
            ).encode(),
            compresslevel=1,
        )
    )
    return path


def test_worker_killed_mid_file_fails_only_that_file(store: Store, tmp_path: Path) -> None:
    big = _big_table(tmp_path / "big.soft.gz")
    paths = [big, DATA / "soft" / "GSE93431_family.soft.gz", DATA / "soft" / "GDS507.soft.gz"]
    results = []
    with ParserPool(2, 50) as pool:
        for parse in pool.parses(paths):
            progress = None
            if parse.path == big:
                victim = parse.worker.proc

                def progress(n: int, victim: subprocess.Popen[bytes] = victim) -> None:
                    if victim.poll() is None:
                        victim.kill()
                        victim.wait()

            results.append(write_parsed(store, parse.path, parse, batch_size=50, progress=progress))
    assert [r.status for r in results] == ["failed", "ok", "ok"]
    message = str(results[0].problems[0])
    assert message.startswith(str(big))
    assert "parser process" in message
    assert "killed by signal 9" in message
    assert results[0].written == {}
    assert store.get("GSM7000001") is None  # its transaction rolled back
    assert store.get("GSE93431") is not None
    assert store.get("GDS507") is not None


def test_worker_dead_before_answering(store: Store, tmp_path: Path) -> None:
    paths = [DATA / "soft" / "GSE93431_family.soft.gz", DATA / "soft" / "GDS507.soft.gz"]
    with ParserPool(2, 1000) as pool:
        results = []
        for parse in pool.parses(paths):
            if parse.path == paths[0]:
                parse.worker.proc.kill()
                parse.worker.proc.wait()
            results.append(write_parsed(store, parse.path, parse))
    assert [r.status for r in results] == ["failed", "ok"]
    assert "killed by signal 9" in str(results[0].problems[0])
    assert store.get("GSE93431") is None


def test_parser_exception_in_worker_is_reported_like_in_process(
    store: Store, other_store: Store, tmp_path: Path
) -> None:
    # A file that cannot be read (a link to nowhere; a mode-0 file would still be
    # readable to root, which CI is): the same problem text in both paths.
    path = tmp_path / "GSE1_family.soft"
    path.symlink_to(tmp_path / "gone" / "GSE1_family.soft")
    one = run_ingest(store, [path], jobs=1)
    two = run_ingest(other_store, [path], jobs=2)
    assert _summary(one.files) == _summary(two.files)


def test_skip_seen_is_a_stat_for_unchanged_files(store: Store, tmp_path: Path) -> None:
    root = build_mirror(tmp_path / "mirror", broken=False)
    first = run_ingest(store, [root], jobs=2, skip_seen=True)
    assert {r.status for r in first.files} == {"ok"}
    stats = _file_stats(store)
    assert len(stats) == 6
    runs = _runs(store)
    second = run_ingest(store, [root], jobs=2, skip_seen=True)
    assert {r.status for r in second.files} == {"skipped"}
    assert _runs(store) == runs  # nothing was opened: no run was even started

    # Touched (same content, new mtime): hashed, skipped by its sha256, stat refreshed.
    soft = next(root.glob("series/*/GSE87585/soft/*.soft.gz"))
    os.utime(soft, ns=(1_000_000_000, 1_000_000_000))
    # Copied under a new name: skipped by hash too.
    copy = root / "series/GSE87nnn/GSE87586/soft/GSE87586_family.soft.gz"
    copy.parent.mkdir(parents=True)
    copy.write_bytes(soft.read_bytes())
    third = run_ingest(store, [root], jobs=2, skip_seen=True)
    assert {r.status for r in third.files} == {"skipped"}
    stats = _file_stats(store)
    assert stats[str(soft.absolute())][1] == 1_000_000_000
    assert str(copy.absolute()) in stats

    # Changed content: read again.
    matrix = next(root.glob("series/*/GSE99709/matrix/*"))
    matrix.write_bytes(gzip.compress(gzip.decompress(matrix.read_bytes()) + b"\n"))
    fourth = run_ingest(store, [root], jobs=1, skip_seen=True)
    assert [Path(r.path).name for r in fourth.files if r.status != "skipped"] == [matrix.name]


def _cli(args: list[str], url: str, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "OMICSORACLE_DATABASE_URL": url,
        "OMICSORACLE_DATA_DIR": str(data_dir),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "omicsoracle.cli", "ingest", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_sigkill_midway_then_skip_seen_completes(store_url: str, tmp_path: Path) -> None:
    root = build_mirror(tmp_path / "mirror", broken=False)
    # Enough files that the kill lands midway even on an idle machine.
    total = 6 + len(synthetic_series(root, 400))
    args = ["--skip-seen", "--jobs", "2", "--no-index", "--json", str(root)]
    proc = _cli(args, store_url, tmp_path / "data")
    store = open_store(store_url)
    try:
        deadline = time.monotonic() + 120
        done = 0
        while time.monotonic() < deadline and proc.poll() is None:
            done = len(_file_stats(store))
            if done >= 5:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the ingest ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        before = _file_stats(store)
        assert 5 <= len(before) < total
        rerun = _cli(args, store_url, tmp_path / "data")
        out, errors = rerun.communicate(timeout=300)
        assert rerun.returncode == 0, errors.decode()
        report = orjson.loads(out)
        by_path = {f["path"]: f["status"] for f in report["files"]}
        assert len(by_path) == total
        # Every file marked seen before the kill was not read again.
        assert all(by_path[p] == "skipped" for p in before)
        assert report["skipped"] >= len(before)
        assert len(_file_stats(store)) == total
        resumed = snapshot(store, changes=False)
    finally:
        store.close()
    reference = tmp_path / "reference"
    reference.mkdir()
    ref = open_store(f"sqlite:///{reference / 'ref.sqlite'}")
    try:
        run_ingest(ref, [root], jobs=1)
        # The CLI enriches after its writes (sample characteristics); so does the reference.
        enrich(ref, full=False, upgrade=True)
        assert snapshot(ref, changes=False) == resumed
    finally:
        ref.close()
