"""Coverage of the query vocabulary's sources on the demo corpus (issue 5).

    .venv/bin/python -m bench.vocab_coverage

For each source (curated tables, the Human Phenotype Ontology, the corpus's own
abbreviation definitions): its lexicon entries, surface forms (stem sequences), and
how many demo-corpus series mention at least one form in the title or summary (a
case-sensitive abbreviation counts only when the text has it as typed). Then the
share of the mined corpus abbreviations the lexicon covers, the precision guard (one-
word keys from the ontology or the corpus found in > 2% of titles, 1-3 words, the candidates for
vocab/excluded_forms.tsv) and the lexicon's build/load cost.
"""

from __future__ import annotations

import gc
import re
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter, defaultdict
from pathlib import Path

from tests.search.conftest import load_corpus

from omicsoracle.search.analysis import tokens
from omicsoracle.search.lexicon_build import compile_lexicon
from omicsoracle.search.lexicon_cache import load_or_build
from omicsoracle.search.synonyms import MAX_KEY_LEN, Entry, Key
from omicsoracle.search.thesaurus import corpus_abbreviations, hpo

GUARD_SHARE = 0.02
GUARD_SHOWN = 12


def source_of(label: str) -> str:
    """The source family of an ``Entry.sources`` label."""
    if label.startswith("HPO "):
        return "HPO"
    if label.startswith("corpus definition"):
        return "corpus abbreviations"
    if label.startswith("curated: common names"):
        return "curated species"
    if label.startswith("curated: GEO series type"):
        return "curated assays"
    if label.startswith("curated: US/UK"):
        return "curated spelling variants"
    return "curated concepts"


def mentions(table: dict[tuple[str, ...], list[Key]], texts: list[str]) -> list[set[int]]:
    """For each text, the ids of the entries one of whose keys it contains."""
    firsts: dict[str, int] = defaultdict(int)
    for key in table:
        firsts[key[0]] = max(firsts[key[0]], len(key))
    out = []
    for text in texts:
        toks = tokens(text)
        found: set[int] = set()
        for i, tok in enumerate(toks):
            longest = firsts.get(tok)
            if not longest:
                continue
            for n in range(1, min(longest, MAX_KEY_LEN, len(toks) - i) + 1):
                for item in table.get(tuple(toks[i : i + n]), ()):
                    if item.exact is None or re.search(
                        rf"(?<!\w){re.escape(item.exact)}(?!\w)", text
                    ):
                        found.add(id(item.entry))
        out.append(found)
    return out


def main() -> None:
    t0 = time.perf_counter()
    table = compile_lexicon()
    build_s = time.perf_counter() - t0
    entries: dict[int, Entry] = {id(k.entry): k.entry for keys in table.values() for k in keys}
    by_source: dict[str, set[int]] = defaultdict(set)
    for eid, entry in entries.items():
        for label in entry.sources:
            by_source[source_of(label)].add(eid)

    docs = load_corpus()
    texts = [f"{d.title}. {d.summary}" for d in docs]
    found = mentions(table, texts)
    release, _terms = hpo()
    print(f"lexicon: {len(entries)} entries, {len(table)} keys; HPO release {release}; "
          f"{len(docs)} series\n")  # fmt: skip
    print("| source | entries | surface forms | series mentioning one (title or summary) |")
    print("|---|---:|---:|---:|")
    for source in ("curated species", "curated assays", "curated concepts",
                   "curated spelling variants", "HPO", "corpus abbreviations"):  # fmt: skip
        ids = by_source.get(source, set())
        forms = sum(len(entries[i].alternatives) + len(entries[i].abbreviations) for i in ids)
        hit = sum(1 for f in found if f & ids)
        print(f"| {source} | {len(ids)} | {forms} | {hit} ({hit / len(docs):.1%}) |")
    anyhit = sum(1 for f in found if f)
    print(f"| any | {len(entries)} | | {anyhit} ({anyhit / len(docs):.1%}) |\n")

    rows = corpus_abbreviations()
    known = covered = 0
    for row in rows:
        keys = table.get(tuple(tokens(row.short)), [])
        hits = [k.entry for k in keys if k.exact is None or k.exact == row.short]
        known += bool(hits)
        long_stems = tuple(tokens(row.long))
        covered += any(long_stems in e.alternatives for e in hits)
    print(f"corpus abbreviations ({len(rows)} mined pairs): short form known {known} "
          f"({known / len(rows):.0%}); short form leads to its corpus long form {covered} "
          f"({covered / len(rows):.0%})\n")  # fmt: skip

    title_df: Counter[tuple[str, ...]] = Counter()
    for d in docs:
        toks = tokens(d.title)
        title_df.update(
            {tuple(toks[i : i + n]) for n in (1, 2, 3) for i in range(len(toks) - n + 1)}
        )
    print(f"precision guard: the most frequent 1-3 word keys from HPO/corpus (> {GUARD_SHARE:.0%} "
          "of titles: candidates for vocab/excluded_forms.tsv)")  # fmt: skip
    shown = 0
    for key, keys in sorted(table.items(), key=lambda kv: -title_df[kv[0]]):
        if len(key) > 3 or shown >= GUARD_SHOWN:
            continue
        share = title_df[key] / len(docs)
        for k in keys:
            if k.entry.sources and not k.entry.sources[0].startswith("curated"):
                shown += 1
                other = [
                    " ".join(a) for a in (*k.entry.alternatives, *k.entry.abbreviations) if a != key
                ]
                flag = " > 2%" if share > GUARD_SHARE else ""
                print(f"  {' '.join(key)!r} {share:.1%}{flag} -> {k.entry.name} ({k.entry.sources[0]}); "
                      f"adds {other or 'nothing'}{' [as typed]' if k.exact else ''}")  # fmt: skip
    print()

    with tempfile.TemporaryDirectory() as tmp:
        load_or_build(lambda: table, Path(tmp))
        loads = []
        for _ in range(5):
            gc.collect()
            t = time.perf_counter()
            load_or_build(compile_lexicon, Path(tmp))
            loads.append(time.perf_counter() - t)
        tracemalloc.start()
        kept = load_or_build(compile_lexicon, Path(tmp))
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        del kept
    print(f"cost: compile {build_s:.2f} s (once per vocabulary change); cached load median "
          f"{statistics.median(loads):.3f} s; loaded table {current / 1e6:.0f} MB "
          f"(peak {peak / 1e6:.0f} MB, tracemalloc)")  # fmt: skip


if __name__ == "__main__":
    main()
