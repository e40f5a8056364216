"""What the enrichment facets cost a search: the same documents with and without them.

    .venv/bin/python -m bench.annotation_bench [--data-dir DIR] [--engines tantivy sql] [--scale N]

The documents are the demo corpus's own search documents, read from an enriched store
(``--data-dir`` of a ``make run``/``omicsoracle ingest`` data directory; without it the
demo corpus is ingested and enriched into a temporary one first, about a minute). Each
engine indexes them twice side by side: as they are (disease, tissue, cell type, cell
line, gene and characteristic facets and tags) and with ``annotations`` emptied, the
index as it was before them. Then bench/queries.txt runs on both, rounds in a shuffled
order after a warm-up round (``bench.search_bench.measure``): full responses, facets
over the whole match set. In-process, one request at a time, no load generator.
``--scale 10`` replicates the documents with new accessions (``bench.corpus_gen``), as
the search benchmark's 10x corpus, their facet values included.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

from bench.corpus_gen import scaled
from bench.search_bench import _pct, load_queries, measure
from omicsoracle.config import Settings
from omicsoracle.extraction.store import enrich
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime
from omicsoracle.search import open_index
from omicsoracle.search.document import SearchDoc

ROOT = Path(__file__).resolve().parents[1]
DEMO = [ROOT / "data" / "corpus", ROOT / "data" / "demo"]


def _docs(data_dir: Path | None) -> list[SearchDoc]:
    if data_dir is None:
        data_dir = Path(tempfile.mkdtemp(prefix="annotation-bench-")) / "var"
        with Runtime.open(Settings(data_dir=data_dir), catch_up_index=False) as rt:
            ingest_paths(rt.store, DEMO)
            enrich(rt.store)
    with Runtime.open(Settings(data_dir=data_dir), catch_up_index=False) as rt:
        docs: list[SearchDoc] = []
        for keys in rt.store.iter_series_accessions(5000):
            docs.extend(rt.store.search_docs(keys))
    return docs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--engines", nargs="+", default=["tantivy", "sql"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--scale", type=int, default=1)
    args = parser.parse_args(argv)
    docs = list(scaled(_docs(args.data_dir), args.scale))
    bare = [dataclasses.replace(d, annotations={}) for d in docs]
    annotated = sum(1 for d in docs if any(d.annotations.values()))
    values = sum(
        len(v) for d in docs for k, v in d.annotations.items() if k != "characteristic_key"
    )
    print(f"{len(docs):,} series, {annotated:,} with annotations ({values:,} facet values)")
    queries = load_queries()
    print("| engine | facets | median ms | p95 ms | p99 ms | build s |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="annotation-bench-ix-") as tmp:
        for engine in args.engines:
            for label, batch in (("without entities", bare), ("with entities", docs)):
                index = open_index(engine, Path(tmp) / f"{engine}-{label.split()[0]}", None)
                t0 = time.perf_counter()
                for start in range(0, len(batch), 25_000):
                    index.apply(batch[start : start + 25_000], [], 0)
                built = time.perf_counter() - t0
                times, _ = measure(index, queries, args.rounds, seed=7)
                first = times["first"]
                print(
                    f"| {engine} | {label} | {statistics.median(first):.2f} | "
                    f"{_pct(first, 0.95):.2f} | {_pct(first, 0.99):.2f} | {built:.1f} |"
                )
                index.close()


if __name__ == "__main__":
    main()
