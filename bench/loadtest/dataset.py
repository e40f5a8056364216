"""The data a load test serves: the demo corpus (or N copies of it) in a cached data dir.

A prepared data dir is kept under ``bench/out/loadtest/<backend>-x<scale>/`` with a
``prepared.json`` stamp; without the stamp (first run, or an interrupted one) it is
rebuilt from scratch through the ``omicsoracle ingest`` CLI, as an operator would load
it. On PostgreSQL the store is the database ``loadtest_x<scale>`` on the local server
(created when missing, dropped and recreated when the stamp is missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.ingest_bench import replicate_corpus

REPO = Path(__file__).resolve().parents[2]
OUT = REPO / "bench" / "out" / "loadtest"
CORPUS = REPO / "data" / "corpus"
DEMO = REPO / "data" / "demo"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
REDIS_URL = "redis://127.0.0.1:6379/0"
BACKENDS = ("sqlite", "postgres")


@dataclass(frozen=True)
class Dataset:
    """A prepared data dir and the environment that points a server process at it."""

    name: str
    root: Path
    env: dict[str, str] = field(default_factory=dict)
    prepared: dict[str, object] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        """``OMICSORACLE_DATA_DIR`` of the server (store on SQLite, tantivy index)."""
        return self.root / "var"


def dataset_name(backend: str, scale: int, engine: str) -> str:
    """``sqlite-x10``, ``postgres-x1``; a non-default engine is appended (``-pg``)."""
    suffix = "" if engine == "tantivy" else f"-{engine}"
    return f"{backend}-x{scale}{suffix}"


def cli() -> str:
    """The ``omicsoracle`` command of this venv."""
    return str(Path(sys.executable).with_name("omicsoracle"))


def dataset(backend: str, scale: int, engine: str) -> Dataset:
    """The Dataset for these parameters, without preparing it."""
    name = dataset_name(backend, scale, engine)
    root = OUT / name
    env = {"OMICSORACLE_DATA_DIR": str(root / "var"), "OMICSORACLE_SEARCH_ENGINE": engine}
    if backend == "postgres":
        env["OMICSORACLE_DATABASE_URL"] = f"{PG_SERVER}/{_pg_database(scale, engine)}"
        env["OMICSORACLE_REDIS_URL"] = REDIS_URL
    stamp = root / "prepared.json"
    prepared = json.loads(stamp.read_text()) if stamp.exists() else {}
    return Dataset(name=name, root=root, env=env, prepared=prepared)


def prepare(backend: str, scale: int, engine: str) -> Dataset:
    """The Dataset, built first when it has no stamp (prints what it does and how long)."""
    ds = dataset(backend, scale, engine)
    if ds.prepared:
        return ds
    if ds.root.exists():
        shutil.rmtree(ds.root)
    ds.data_dir.mkdir(parents=True)
    if backend == "postgres":
        _recreate_pg_database(_pg_database(scale, engine))
    started = time.perf_counter()
    files = _input_files(scale)
    replicated = time.perf_counter() - started
    command = [cli(), "ingest", "--json", *map(str, files)]
    print(f"preparing {ds.name}: {' '.join(command)}", flush=True)
    proc = subprocess.run(
        command, env={**os.environ, **ds.env}, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"ingest failed ({proc.returncode}): {proc.stderr[-2000:]}")
    report = json.loads(proc.stdout)
    prepared: dict[str, object] = {
        "backend": backend,
        "scale": scale,
        "engine": engine,
        "series": sum(f["parsed"].get("series", 0) for f in report["files"]),
        "records": sum(sum(f["parsed"].values()) for f in report["files"]),
        "replicate_seconds": round(replicated, 1),
        "ingest_seconds": round(time.perf_counter() - started - replicated, 1),
        "command": " ".join(command),
    }
    (ds.root / "prepared.json").write_text(json.dumps(prepared, indent=2) + "\n")
    print(
        f"prepared {ds.name}: {prepared['series']:,} series in {prepared['ingest_seconds']} s "
        f"(+{prepared['replicate_seconds']} s writing the replicated files)",
        flush=True,
    )
    return dataset(backend, scale, engine)


def _input_files(scale: int) -> list[Path]:
    # Copies of the two corpus files get shifted accessions (bench/ingest_bench.py);
    # the few demo SOFT/MINiML/PubMed files are loaded once, as in `make run`.
    corpus = [CORPUS] if scale == 1 else replicate_corpus(REPO / "bench" / "out" / "corpus", scale)
    return [*corpus, DEMO]


def _pg_database(scale: int, engine: str) -> str:
    return f"loadtest_x{scale}" + ("" if engine == "tantivy" else f"_{engine}")


def _recreate_pg_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(
        "postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True, connect_timeout=5
    ) as conn:
        # Names are built from ints and the engine Literal only; still quoted as identifiers.
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
