"""Every sample of a large series finds it: its sample titles and characteristic values
past the first 4,000 characters of sample text are still indexed (issue 13: samples
searchable at full GEO scale, where series have hundreds to thousands of samples)."""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable
from pathlib import Path

from omicsoracle.indexer import catch_up
from omicsoracle.ingest import ingest_paths
from omicsoracle.search import SearchIndex, SearchRequest
from omicsoracle.store import open_store
from omicsoracle.store.records import EXTRA_TEXT_LIMIT, EXTRA_WORDS_LIMIT, extra_text

DATA = Path(__file__).resolve().parents[1] / "data"
COPIES = 40  # 12 real samples x 40 = 480 samples, ~60 KB of sample text


def _word(i: int) -> str:
    """A word of letters only (every engine's tokenizer keeps it whole)."""
    out = ""
    for _ in range(3):
        i, r = divmod(i, 26)
        out += chr(97 + r)
    return "zq" + out


def _large_series(tmp_path: Path) -> Path:
    """GSE87585 (real, 12 samples) with its samples copied 40 times under new GSMs, each
    copy's title and an ``individual`` characteristic ending in a word of its own."""
    text = gzip.decompress((DATA / "soft" / "GSE87585_family.soft.gz").read_bytes()).decode()
    head, *blocks = re.split(r"(?m)^(?=\^SAMPLE = )", text)
    copies: list[str] = []
    ids: list[str] = []
    for c in range(COPIES):
        for b, block in enumerate(blocks):
            n = c * len(blocks) + b
            gsm = f"GSM99{n:05d}"
            ids.append(gsm)
            block = re.sub(r"GSM\d+", gsm, block)
            block = re.sub(r"(?m)^(!Sample_title = .*)$", rf"\1 {_word(n)}t", block)
            block = block.replace(
                "!Sample_characteristics_ch1 = ",
                f"!Sample_characteristics_ch1 = individual: donor {_word(n)}d\n"
                "!Sample_characteristics_ch1 = ",
                1,
            )
            copies.append(block)
    head = re.sub(r"(?m)^!Series_sample_id = .*\n", "", head)
    head += "".join(f"!Series_sample_id = {g}\n" for g in ids)
    path = tmp_path / "GSE87585_family.soft"
    path.write_text(head + "".join(copies))
    return path


def _found(ix: SearchIndex, query: str) -> list[str]:
    return [h.accession for h in ix.search(SearchRequest(query, limit=20)).results]


def test_last_sample_of_a_large_series_finds_it(
    tmp_path: Path, engine: str, open_engine: Callable[[str, Path], SearchIndex]
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        ingest_paths(store, [_large_series(tmp_path)])
        ix = open_engine(engine, tmp_path / "ix")
        catch_up(store, ix)
        last = COPIES * 12 - 1
        for query in (f"{_word(last)}t", f"{_word(last)}d", f"GSM99{last:05d}", f"{_word(0)}t"):
            assert _found(ix, query) == ["GSE87585"], query
        ix.close()
    finally:
        store.close()


def test_extra_text_keeps_phrases_then_new_words_only() -> None:
    phrases = [f"tissue: liver donor {_word(i)}" for i in range(2000)]
    text = extra_text(phrases)
    head = text[:EXTRA_TEXT_LIMIT]
    assert head.startswith("tissue: liver donor zqaaa tissue: liver donor zqbaa")
    words = text.split()
    # Past the phrase head a word appears once: "tissue:", "liver", "donor" are not repeated.
    assert words.count("liver") == len([p for p in phrases if p in head])
    assert _word(1999) in words
    assert len(text) < EXTRA_TEXT_LIMIT + 2000 * 6
    assert extra_text(["a b", "a b", "c"]) == "a b c"


def test_extra_text_is_bounded() -> None:
    phrases = [f"sample {_word(i % 17576)} {i}" for i in range(100_000)]
    assert len(extra_text(phrases)) <= EXTRA_WORDS_LIMIT
