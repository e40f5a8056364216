"""Search latency benchmark: full responses on each engine at 1x and 10x the demo corpus.

    .venv/bin/python -m bench.search_bench --scale 1 10 --engines tantivy sql pg

``pg`` builds into a schema ``bench_search_x<scale>`` of the database at ``--pg-url``
(default: the test server).

Indexes are built once into bench/out/search/<engine>-x<scale>/ (gitignored) and reused;
the build time and docs/second of that build are stored beside the index and reported
again. Each timed request is a complete ``SearchIndex.search`` plus ``to_dict()``: top
20 with snippets, total, all facets, next cursor -- what the API returns. Queries come
from bench/queries.txt (abbreviations, synonyms, filters, phrases, misspellings, ID
lookups) and every round runs them in a different (seeded) order; nothing caches
results, so every request pays the engine. A second series times page 2 through the
cursor. The first round is a warm-up (file cache, per-snapshot spelling vocabulary).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

from tests.search.conftest import load_corpus

from bench.corpus_gen import scaled
from omicsoracle.search import SearchIndex, SearchRequest, open_index
from omicsoracle.search.document import SearchDoc

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "search"
QUERIES = ROOT / "queries.txt"
BATCH = 25_000  # docs per apply(): one commit each, as a catch-up ingest would do


def load_queries(path: Path = QUERIES) -> list[str]:
    """Benchmark queries (blank lines and # comments skipped)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [q.strip() for q in lines if q.strip() and not q.lstrip().startswith("#")]


def _batches(docs: Iterator[SearchDoc]) -> Iterator[list[SearchDoc]]:
    batch: list[SearchDoc] = []
    for doc in docs:
        batch.append(doc)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _pg_schema_url(url: str, scale: int) -> str:
    """The URL of this scale's schema (created if new) in the database at ``url``."""
    import psycopg

    from omicsoracle.search.pg_write import conninfo

    schema = f"bench_search_x{scale}"
    with psycopg.connect(conninfo(url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")  # type: ignore[arg-type]
    return f"{url}?options=-csearch_path%3D{schema}"


def _pg_mb(url: str) -> float:
    import psycopg

    from omicsoracle.search.pg_write import conninfo

    with psycopg.connect(conninfo(url)) as conn:
        row = conn.execute(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c WHERE c.relkind = 'r' "
            "AND c.relname LIKE 'search_%' AND c.relnamespace = current_schema()::regnamespace"
        ).fetchone()
    return float(row[0] or 0) / 1e6 if row else 0.0


def build(
    engine: str, scale: int, base: list[SearchDoc], rebuild: bool, pg_url: str = ""
) -> tuple[SearchIndex, dict[str, float]]:
    """Open the benchmark index, building it first when missing or incomplete."""
    directory = OUT / f"{engine}-x{scale}"
    stats_file = directory / "build.json"
    expected = len(base) * scale
    url = _pg_schema_url(pg_url, scale) if engine == "pg" else None
    if not rebuild and stats_file.exists():
        index = open_index(engine, directory, url)
        if index.doc_count() == expected:
            return index, json.loads(stats_file.read_text())
        index.close()
    if directory.exists():
        for path in sorted(directory.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
    index = open_index(engine, directory, url)
    if url is not None:
        index.clear()  # the schema outlives bench/out
    started = time.perf_counter()
    done = 0
    for batch in _batches(scaled(base, scale)):
        done += len(batch)
        index.apply(batch, [], upto_change_id=done)
        print(f"  {engine} x{scale}: {done}/{expected} docs, {time.perf_counter() - started:.0f} s",
              flush=True)  # fmt: skip
    seconds = time.perf_counter() - started
    size = sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())
    if url is not None:
        size = int(_pg_mb(url) * 1e6)
    stats = {"docs": float(done), "seconds": seconds, "docs_per_s": done / seconds,
             "mb": size / 1e6}  # fmt: skip
    stats_file.write_text(json.dumps(stats))
    return index, stats


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(
    index: SearchIndex, queries: list[str], rounds: int, seed: int
) -> tuple[dict[str, list[float]], list[tuple[float, str]]]:
    """Milliseconds per full response (first pages, cursor pages) and per-query times."""
    rng = random.Random(seed)
    first: list[float] = []
    second: list[float] = []
    per_query: list[tuple[float, str]] = []
    for r in range(rounds + 1):
        order = queries[:]
        rng.shuffle(order)
        for query in order:
            gc.disable()  # keep collector pauses out of single-request timings
            t0 = time.perf_counter()
            resp = index.search(SearchRequest(query, limit=20))
            resp.to_dict()
            t1 = time.perf_counter()
            cursor = resp.next_cursor
            if cursor:
                t2 = time.perf_counter()
                index.search(SearchRequest(query, limit=20, cursor=cursor)).to_dict()
                t3 = time.perf_counter()
            gc.enable()
            if r == 0:
                continue  # warm-up round
            first.append((t1 - t0) * 1000)
            per_query.append(((t1 - t0) * 1000, query))
            if cursor:
                second.append((t3 - t2) * 1000)
    return {"first": first, "second": second}, per_query


def top10(index: SearchIndex, queries: list[str]) -> dict[str, tuple[int, list[str]]]:
    """Per query: total matches and the first ten accessions."""
    out = {}
    for query in queries:
        resp = index.search(SearchRequest(query, limit=10)).to_dict()
        out[query] = (resp["total"], [r["accession"] for r in resp["results"]])
    return out


def agreement(
    tops: dict[str, dict[str, tuple[int, list[str]]]], reference: str = "tantivy"
) -> list[str]:
    """Markdown rows: per engine, queries with the same total as the reference, and the
    mean overlap@10 (shared accessions in both top tens / 10; rankings may differ)."""
    rows = []
    ref = tops.get(reference)
    if ref is None:
        return rows
    for engine, got in tops.items():
        if engine == reference:
            continue
        same = sum(got[q][0] == ref[q][0] for q in ref)
        overlaps = [
            len(set(got[q][1]) & set(ref[q][1])) / max(1, min(10, len(ref[q][1])))
            for q in ref
            if ref[q][1]
        ]
        mean = statistics.mean(overlaps) if overlaps else 0.0
        rows.append(f"| {engine} vs {reference} | {same}/{len(ref)} | {mean:.2f} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a markdown table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--engines", nargs="+", default=["tantivy", "sql"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rebuild", action="store_true", help="rebuild the indexes")
    parser.add_argument(
        "--pg-url",
        default="postgresql+psycopg://postgres@127.0.0.1:5432/test",
        help="PostgreSQL database of the pg engine's benchmark schemas",
    )
    args = parser.parse_args(argv)
    queries = load_queries()
    base = load_corpus()
    print(f"{len(queries)} queries x {args.rounds} rounds; base corpus {len(base)} series")
    table = []
    agreement_rows = []
    for scale in args.scale:
        tops: dict[str, dict[str, tuple[int, list[str]]]] = {}
        for engine in args.engines:
            index, stats = build(engine, scale, base, args.rebuild, args.pg_url)
            tops[engine] = top10(index, queries)
            timings, per_query = measure(index, queries, args.rounds, args.seed)
            slowest = sorted(per_query)[-5:]
            index.close()
            table.append((scale, engine, int(stats["docs"]), timings, stats))
            print(
                f"  {engine} x{scale}: slowest first pages {[(round(t, 1), q) for t, q in slowest]}"
            )
        agreement_rows += [row.replace("| ", f"| {scale}x ", 1) for row in agreement(tops)]
    print()
    print(
        "| scale | engine | series | median ms | p95 ms | p99 ms | page-2 p95 ms | build s | docs/s | index MB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for scale, engine, docs, t, stats in table:
        f, s = t["first"], t["second"] or [0.0]
        print(f"| {scale}x | {engine} | {docs:,} | {statistics.median(f):.2f} | {_pct(f, 0.95):.2f} | "
              f"{_pct(f, 0.99):.2f} | {_pct(s, 0.95):.2f} | {stats['seconds']:.0f} | "
              f"{stats['docs_per_s']:,.0f} | {stats['mb']:.0f} |")  # fmt: skip

    if agreement_rows:
        print()
        print("| scale engines | same total | mean overlap@10 |")
        print("|---|---|---|")
        print("\n".join(agreement_rows))


if __name__ == "__main__":
    main()
