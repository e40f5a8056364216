"""Deterministic N-times corpus for benchmarks: the real series replicated.

Copy ``k`` (0 = the original) of a series gets new accessions by adding
``OFFSET * k`` to the numeric part: GSE123 -> GSE10000123 (k=1), GSE20000123 (k=2),
..., and the same offset for its GDS datasets and GSM samples, so accession lookups
stay unique per copy. Text, organisms, types, platforms, sample counts, dates and
PubMed IDs are copied unchanged, so term statistics, facet distributions and filter
selectivity are those of the real corpus, only N times larger (a PMID then links N
series, as a reanalysed paper does). OFFSET * 9 + 10**7 < 2**31 keeps sort keys unique.

    python -m bench.corpus_gen --scale 10      # prints counts, writes nothing
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from dataclasses import replace

from tests.search.conftest import load_corpus

from omicsoracle.search.document import SearchDoc

OFFSET = 10_000_000
_ACC_RE = re.compile(r"^(GSE|GSM|GDS)(\d+)$")


def shift(accession: str, k: int) -> str:
    """The copy-``k`` accession of a GSE/GSM/GDS accession (others unchanged)."""
    m = _ACC_RE.match(accession)
    if m is None or k == 0:
        return accession
    return f"{m.group(1)}{int(m.group(2)) + OFFSET * k}"


def scaled(base: list[SearchDoc], scale: int) -> Iterator[SearchDoc]:
    """``scale`` copies of ``base``, copy by copy (deterministic order)."""
    for k in range(scale):
        for doc in base:
            if k == 0:
                yield doc
                continue
            yield replace(
                doc,
                accession=shift(doc.accession, k),
                samples=[shift(s, k) for s in doc.samples],
                datasets=[shift(d, k) for d in doc.datasets],
                organisms=list(doc.organisms),
                types=list(doc.types),
                platforms=list(doc.platforms),
                pubmed_ids=list(doc.pubmed_ids),
                supplementary_types=list(doc.supplementary_types),
            )


def main() -> None:
    """Print what a scale would hold."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scale", type=int, default=10)
    args = parser.parse_args()
    base = load_corpus()
    n = sum(1 for _ in scaled(base, args.scale))
    print(f"scale {args.scale}: {n} series ({len(base)} real)")


if __name__ == "__main__":
    main()
