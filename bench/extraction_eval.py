"""Precision and recall of the entity extraction on the hand-checked records (issue 6).

Run by ``make bench`` (``omicsoracle bench extraction``) or directly:
``.venv/bin/python -m bench.extraction_eval [--data-dir DIR]``. Without a data
directory the demo corpus is ingested into a temporary one first. A record's
prediction is the set of (type, normalized) of its entities from its own text
(GEO's curated organism field is left out: it is metadata, not a mention).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from omicsoracle.config import Settings
from omicsoracle.extraction.store import enrich, entities_of
from omicsoracle.ingest import ingest_paths
from omicsoracle.runtime import Runtime
from omicsoracle.store import Store

REPO = Path(__file__).resolve().parents[1]
GOLD = REPO / "tests" / "extraction" / "gold.json"
DEMO = [REPO / "data" / "corpus", REPO / "data" / "demo"]
# Types compared: the pattern types without a vocabulary normal form (statistic,
# treatment, time point) are checked by the unit tests instead.
SCORED = (
    "organism",
    "tissue",
    "cell_type",
    "cell_line",
    "disease",
    "gene",
    "assay",
    "sample_count",
)


def _key(kind: str, value: str) -> tuple[str, str]:
    return kind, value.casefold()


def evaluate(store: Store, gold_path: Path = GOLD) -> dict[str, Any]:
    gold = orjson.loads(gold_path.read_bytes())["records"]
    counts = {t: {"tp": 0, "fp": 0, "fn": 0} for t in SCORED}
    misses: list[str] = []
    for record in gold:
        found = entities_of(store, record["id"])
        if found is None:
            raise SystemExit(f"{record['id']} is not in the store")
        predicted = {
            _key(e["type"], e["normalized"]) for e in found["entities"]
            if e["field"] != "organisms" and e["type"] in SCORED
        }  # fmt: skip
        expected = {_key(t, v) for t, v in record["entities"]}
        for kind in SCORED:
            p = {x for x in predicted if x[0] == kind}
            g = {x for x in expected if x[0] == kind}
            counts[kind]["tp"] += len(p & g)
            counts[kind]["fp"] += len(p - g)
            counts[kind]["fn"] += len(g - p)
            misses += [f"{record['id']} missed {x}" for x in sorted(g - p)]
            misses += [f"{record['id']} extra  {x}" for x in sorted(p - g)]
    scores = {}
    for kind, c in counts.items():
        pred, real = c["tp"] + c["fp"], c["tp"] + c["fn"]
        scores[kind] = {
            **c,
            "precision": round(c["tp"] / pred, 3) if pred else None,
            "recall": round(c["tp"] / real, 3) if real else None,
        }
    tp = sum(c["tp"] for c in counts.values())
    fp = sum(c["fp"] for c in counts.values())
    fn = sum(c["fn"] for c in counts.values())
    overall = {"precision": round(tp / (tp + fp), 3), "recall": round(tp / (tp + fn), 3)}
    return {"records": len(gold), "types": scores, "overall": overall, "errors": misses}


def _print(result: dict[str, Any]) -> None:
    print(f"extraction on {result['records']} hand-checked records")
    print(f"{'type':<14}{'precision':>10}{'recall':>8}{'tp':>5}{'fp':>5}{'fn':>5}")
    for kind, s in result["types"].items():
        p = "-" if s["precision"] is None else f"{s['precision']:.2f}"
        r = "-" if s["recall"] is None else f"{s['recall']:.2f}"
        print(f"{kind:<14}{p:>10}{r:>8}{s['tp']:>5}{s['fp']:>5}{s['fn']:>5}")
    o = result["overall"]
    print(f"{'overall':<14}{o['precision']:>10.2f}{o['recall']:>8.2f}")
    for line in result["errors"]:
        print("  " + line)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="An ingested data directory (default: demo corpus in a temp dir)",
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=args.data_dir or Path(tmp))
        with Runtime.open(settings, catch_up_index=False) as rt:
            if args.data_dir is None:
                ingest_paths(rt.store, DEMO)
            started = time.perf_counter()
            report = enrich(rt.store, full=True)
            seconds = time.perf_counter() - started
            print(f"enriched {sum(report.records.values()):,} records "
                  f"({report.entities:,} entities) in {seconds:.1f} s")  # fmt: skip
            _print(evaluate(rt.store))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
