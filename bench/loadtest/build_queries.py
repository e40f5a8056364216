"""Build bench/loadtest/queries.txt: 1,000 distinct search requests drawn from the corpus.

    .venv/bin/python -m bench.loadtest.build_queries

Deterministic (fixed seed, corpus order). Candidates come from the demo corpus
(``data/corpus``, merged by ``tests.search.conftest.load_corpus``) and from the
engine's own vocabulary (``omicsoracle.search.synonyms``), in eight categories:

* topic words: the words in most series titles that are neither function words nor
  GEO boilerplate (document frequency between 0.05% and 4% of the series);
* phrases: the most frequent two-word title phrases, as typed (no quotes);
* quoted phrases: the most frequent three-word title phrases, in double quotes;
* organisms: the common names the engine maps ("mouse") and the most frequent
  scientific names of the corpus ("Homo sapiens");
* assays: every assay word the engine knows (RNA-seq, microarray, ChIP-seq, ...);
* diseases: every disease/cell-type name and abbreviation (NSCLC, HCC, T2D, ...),
  ambiguous abbreviations in capitals as the engine requires;
* combinations: topic or disease + organism, + assay, + "at least N samples", + years;
* filtered: topic words and phrases with query-string filters (organism, type,
  platform, min_samples, year_from, sort=date).

Every candidate is run against the demo corpus (data/corpus + data/demo, prepared
as ``bench/out/loadtest/sqlite-x1``) with the same parameters the URL carries; those
returning no series are dropped. Lines are interleaved across categories, each
category in decreasing corpus frequency, so the Zipf ranks of the load tests
(rank 1 = first line) spread the popular head over every category.
"""

from __future__ import annotations

import argparse
import random
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.search.conftest import load_corpus

from bench.loadtest.dataset import prepare
from omicsoracle.config import Settings
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import SearchFilters, SearchRequest
from omicsoracle.search.document import SearchDoc
from omicsoracle.search.stopwords import STOPWORDS
from omicsoracle.search.synonyms import ASSAYS, CONCEPTS, SPECIES

HERE = Path(__file__).resolve().parent
QUERIES = HERE / "queries.txt"
SEED = 1100
TOTAL = 1000
LIMIT = 20
# Share of the list per category; the remainder after validation goes to topic words.
QUOTAS = {
    "topic words": 200,
    "phrases": 150,
    "quoted phrases": 80,
    "organisms": 40,
    "assays": 40,
    "diseases": 100,
    "combinations": 230,
    "filtered": 160,
}
# Words that occur in a great many GEO titles without saying what a series is about.
BOILERPLATE = frozenset((
    "analysis", "profiling", "profile", "profiles", "expression", "gene", "genes", "genome",
    "genomic", "wide", "identification", "identifies", "reveals", "comparison", "different",
    "novel", "specific", "associated", "related", "induced", "mediated", "dependent",
    "regulation", "regulated", "regulates", "changes", "response", "responses", "type",
    "types", "level", "levels", "high", "low", "time", "new", "two", "three", "one", "use",
    "used", "based", "transcriptional", "transcriptome", "transcriptomic", "microarray",
    "sequencing", "array", "human", "mouse", "mice", "cells", "cell", "tissue", "tissues",
    "factor", "factors", "treatment", "treated", "control", "controls", "model", "models",
    "series", "subseries", "superseries", "reference", "platform", "sample", "total",
))  # fmt: skip
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*[A-Za-z0-9]")
ORGANISM_FILTERS = ("Homo sapiens", "Mus musculus", "human", "mouse", "Rattus norvegicus")
TYPE_FILTERS = (
    "Expression profiling by array",
    "Expression profiling by high throughput sequencing",
    "Genome binding/occupancy profiling by high throughput sequencing",
)


def _words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def _informative(word: str) -> bool:
    return (
        len(word) > 2
        and word not in STOPWORDS
        and word not in BOILERPLATE
        and not any(c.isdigit() for c in word)
    )


def _ngrams(docs: list[SearchDoc], n: int) -> Counter[str]:
    """Document frequency of n-word title phrases whose words are all informative."""
    counts: Counter[str] = Counter()
    for doc in docs:
        words = _words(doc.title)
        grams = {
            " ".join(words[i : i + n])
            for i in range(len(words) - n + 1)
            if all(_informative(w) for w in words[i : i + n])
        }
        counts.update(grams)
    return counts


def _topic_words(docs: list[SearchDoc]) -> list[str]:
    df: Counter[str] = Counter()
    for doc in docs:
        # Titles name the topic; summaries add narrative words ("however", "showed").
        df.update({w for w in _words(doc.title) if _informative(w)})
    low, high = len(docs) * 0.0005, len(docs) * 0.04
    return [w for w, n in df.most_common() if low <= n <= high]


def _organisms(docs: list[SearchDoc]) -> list[str]:
    names = [name for species in SPECIES for name in species.names]
    frequent = Counter(o for doc in docs for o in doc.organisms)
    return _unique([*names, *(o for o, _ in frequent.most_common(30))])


def _assays() -> list[str]:
    return _unique(word for assay in ASSAYS for word in assay.words)


def _diseases() -> list[str]:
    # Ambiguous abbreviations expand only in capitals, and so are typed that way.
    return _unique(
        text for concept in CONCEPTS for text in (*concept.phrases, *concept.abbreviations)
    )


def _combinations(
    rng: random.Random, topics: list[str], diseases: list[str], phrases: list[str]
) -> Iterator[str]:
    organisms = ["human", "mouse", "rat", "zebrafish", "Homo sapiens", "Mus musculus"]
    assays = ["RNA-seq", "microarray", "ChIP-seq", "single cell", "methylation", "scRNA-seq"]
    tails = ["at least 20 samples", "more than 50 samples", "since 2015", "from 2010 to 2014"]
    heads = [*diseases[:60], *phrases[:60], *topics[:120]]
    while True:
        head = rng.choice(heads)
        shape = rng.randrange(5)
        if shape == 0:
            yield f"{head} {rng.choice(organisms)}"
        elif shape == 1:
            yield f"{head} {rng.choice(assays)}"
        elif shape == 2:
            yield f"{head} {rng.choice(assays)} {rng.choice(organisms)}"
        elif shape == 3:
            yield f"{head} {rng.choice(tails)}"
        else:
            yield f"{rng.choice(organisms)} {head} {rng.choice(tails)}"


def _filtered(rng: random.Random, topics: list[str], phrases: list[str]) -> Iterator[str]:
    heads = [*phrases[:80], *topics[:160]]
    while True:
        params: dict[str, str | int] = {"q": rng.choice(heads), "limit": LIMIT}
        for _ in range(rng.choice((1, 1, 2))):
            kind = rng.randrange(6)
            if kind == 0:
                params["organism"] = rng.choice(ORGANISM_FILTERS)
            elif kind == 1:
                params["type"] = rng.choice(TYPE_FILTERS)
            elif kind == 2:
                params["min_samples"] = rng.choice((10, 20, 50))
            elif kind == 3:
                params["year_from"] = rng.choice((2005, 2010, 2012))
            elif kind == 4:
                params["platform"] = rng.choice(("GPL570", "GPL96", "GPL1261", "GPL6244"))
            else:
                params["sort"] = rng.choice(("date", "samples"))
        yield "/api/v1/search?" + urlencode(params)


def search_path(query: str) -> str:
    """The request line path for a plain query, as the web page sends it."""
    return "/api/v1/search?" + urlencode({"q": query, "limit": LIMIT})


def _request(path: str) -> SearchRequest:
    params = parse_qs(urlsplit(path).query)

    def one_int(key: str) -> int | None:
        return int(params[key][0]) if key in params else None

    return SearchRequest(
        query=params["q"][0],
        limit=1,
        sort=params.get("sort", ["relevance"])[0],  # type: ignore[arg-type]
        filters=SearchFilters.build(
            organism=params.get("organism"),
            type=params.get("type"),
            platform=params.get("platform"),
            min_samples=one_int("min_samples"),
            year_from=one_int("year_from"),
        ),
    )


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def build(rt: Runtime) -> tuple[list[str], dict[str, int], int]:
    """The request paths, the count per category and how many candidates were dropped."""
    rng = random.Random(SEED)
    docs = load_corpus()
    topics = _topic_words(docs)
    phrases = [p for p, _ in _ngrams(docs, 2).most_common(2000)]
    trigrams = [p for p, _ in _ngrams(docs, 3).most_common(1000)]
    candidates: dict[str, Iterator[str]] = {
        "topic words": (search_path(w) for w in topics),
        "phrases": (search_path(p) for p in phrases),
        "quoted phrases": (search_path(f'"{p}"') for p in trigrams),
        "organisms": (search_path(o) for o in _organisms(docs)),
        "assays": (search_path(a) for a in _assays()),
        "diseases": (search_path(d) for d in _diseases()),
        "combinations": (search_path(q) for q in _combinations(rng, topics, _diseases(), phrases)),
        "filtered": _filtered(rng, topics, phrases),
    }
    seen: set[str] = set()
    dropped = 0
    chosen: dict[str, list[str]] = {name: [] for name in QUOTAS}
    overflow = 0
    for name, quota in QUOTAS.items():
        wanted = quota + (overflow if name == "topic words" else 0)
        for path in candidates[name]:
            if len(chosen[name]) >= wanted:
                break
            if path in seen:
                continue
            seen.add(path)
            if rt.search(_request(path)).total >= 1:
                chosen[name].append(path)
            else:
                dropped += 1
        overflow += quota - len(chosen[name])
    # Categories short of their quota (few organisms or assays match) leave room for
    # more topic words, so the list always has TOTAL lines.
    for path in candidates["topic words"]:
        if sum(map(len, chosen.values())) >= TOTAL:
            break
        if path not in seen:
            seen.add(path)
            if rt.search(_request(path)).total >= 1:
                chosen["topic words"].append(path)
            else:
                dropped += 1
    ranked = sorted(
        ((i + 0.5) / len(paths), order, path)
        for order, paths in enumerate(chosen.values())
        for i, path in enumerate(paths)
    )
    return [path for _, _, path in ranked], {k: len(v) for k, v in chosen.items()}, dropped


def write(paths: list[str], counts: dict[str, int], dropped: int, target: Path) -> None:
    """Write the list with a header saying how it was built."""
    header = [
        f"{len(paths)} distinct search requests for the load tests (rank 1 = first line).",
        "Built by `.venv/bin/python -m bench.loadtest.build_queries` (seed "
        f"{SEED}) from data/corpus/geo_series.jsonl.gz and",
        "data/corpus/geo_browse_series_2014.csv.gz (merged by tests/search/conftest.py "
        "load_corpus) and the engine's",
        "vocabulary in src/omicsoracle/search/synonyms.py; see the module docstring for "
        "the categories.",
        "Each returned >= 1 series on the demo corpus (data/corpus + data/demo, tantivy); "
        f"{dropped} candidates returning none were dropped.",
        "Per category: " + ", ".join(f"{name} {n}" for name, n in counts.items()) + ".",
    ]
    text = "".join(f"# {line}\n" for line in header) + "".join(f"{p}\n" for p in paths)
    target.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Build and write the query list."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=QUERIES)
    args = parser.parse_args(argv)
    ds = prepare("sqlite", 1, "tantivy")
    with Runtime.open(Settings(data_dir=ds.data_dir), catch_up_index=False) as rt:
        paths, counts, dropped = build(rt)
    if len(paths) != TOTAL or len(set(paths)) != TOTAL:
        raise SystemExit(f"built {len(paths)} requests ({len(set(paths))} distinct), not {TOTAL}")
    write(paths, counts, dropped, args.out)
    print(f"wrote {args.out}: {counts}, {dropped} dropped")


if __name__ == "__main__":
    main()
