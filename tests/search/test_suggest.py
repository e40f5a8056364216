"""Search-box suggestions on the real demo corpus, plus small hand-made cases.

The title completions are checked against a brute-force reading of the same rule
(every typed word starts a word of the title; heaviest series first) on keystrokes of
real titles, so the sorted-array shortcuts are held to the plain definition.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from pathlib import Path

import pytest

from omicsoracle.api.suggestions import SuggesterBuildFailed, build_in_child
from omicsoracle.config import Settings
from omicsoracle.search.analysis import words
from omicsoracle.search.suggest import MAX_LIMIT, WIDE, Suggester, Suggestion, from_store
from omicsoracle.store import open_store

Row = tuple[str, str, int | None]


@pytest.fixture(scope="module")
def demo_rows(demo_settings: Settings) -> tuple[list[Row], Counter[str]]:
    """(accession, title, n_samples) of every demo series, and organism counts."""
    store = open_store(demo_settings.resolved_database_url, upgrade=False)
    try:
        organisms: Counter[str] = Counter()
        rows: list[Row] = []
        for batch in store.iter_series_accessions():
            for doc in store.search_docs(batch):
                rows.append((doc.accession, doc.title, doc.n_samples))
                organisms.update(set(doc.organisms))
        return rows, organisms
    finally:
        store.close()


@pytest.fixture(scope="module")
def suggester(demo_settings: Settings) -> Suggester:
    """Built the way the server builds it: in a child process, loaded from its bytes."""
    return asyncio.run(build_in_child(demo_settings.resolved_database_url))


def test_the_child_build_equals_the_in_process_one(
    demo_settings: Settings, suggester: Suggester
) -> None:
    store = open_store(demo_settings.resolved_database_url, upgrade=False)
    try:
        local = from_store(store)
    finally:
        store.close()
    assert local.stats() == suggester.stats()
    for text in ("c", "ca", "neur", "breast canc", "GSE1", "mouse", "HCC", "Down s"):
        assert local.suggest(text, MAX_LIMIT) == suggester.suggest(text, MAX_LIMIT), text


def test_foreign_bytes_are_not_a_suggester() -> None:
    for data in (b"", b"\x93\x01\x02\x03", b"not msgpack at all \xc1"):
        with pytest.raises(ValueError, match="suggester"):
            Suggester.from_bytes(data)


def test_a_failed_child_build_says_why(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'missing' / 'store.sqlite'}"
    with pytest.raises(SuggesterBuildFailed, match="exited with"):
        asyncio.run(build_in_child(url))


@pytest.fixture(scope="module")
def ranked_titles(demo_rows: tuple[list[Row], Counter[str]]) -> list[tuple[str, list[str]]]:
    """Distinct titles (by folded text) heaviest first, with their folded words."""
    rows, _ = demo_rows
    seen: set[str] = set()
    out = []
    for _, _, title in sorted((-(n or 0), int(acc[3:]), t) for acc, t, n in rows):
        folded = words(title)
        key = " ".join(folded)
        if key and key not in seen:
            seen.add(key)
            out.append((" ".join(title.split()), folded))
    return out


def brute_titles(ranked: list[tuple[str, list[str]]], text: str, limit: int) -> list[str]:
    typed = words(text)
    out = []
    for title, folded in ranked:
        if all(any(w.startswith(t) for w in folded) for t in typed):
            out.append(title)
            if len(out) == limit:
                break
    return out


def texts(suggestions: list[Suggestion], kind: str | None = None) -> list[str]:
    return [s.text for s in suggestions if kind is None or s.kind == kind]


# --- the demo corpus --------------------------------------------------------------------


def test_word_prefix_inside_a_title(suggester: Suggester) -> None:
    found = suggester.suggest("neurobl")
    assert found
    assert all(s.kind == "title" for s in found)
    assert all(s.accession and s.accession.startswith("GSE") for s in found)
    assert all(any(w.startswith("neurobl") for w in words(s.text)) for s in found)
    assert any("neuroblastoma" in s.text.lower() for s in found)


def test_organism_common_name(suggester: Suggester) -> None:
    found = suggester.suggest("hum")
    assert found[0] == Suggestion("human", "organism", None, "Homo sapiens")
    assert found[1].kind != "title"
    assert "title" in {s.kind for s in found}  # titles still get room
    assert suggester.suggest("homo s")[0] == Suggestion("Homo sapiens", "organism")


def test_abbreviation_and_concept(suggester: Suggester) -> None:
    assert suggester.suggest("nsc")[0] == Suggestion(
        "NSCLC", "term", None, "non-small cell lung cancer"
    )
    assert suggester.suggest("non-small c")[0].text == "non-small cell lung cancer"
    assert suggester.suggest("hcc")[0].text == "HCC"
    assert texts(suggester.suggest("t2d"), "term")[:1] == ["T2D"]


def test_ambiguous_abbreviations_need_capitals(suggester: Suggester) -> None:
    assert suggester.suggest("ALL")[0] == Suggestion(
        "ALL", "term", None, "acute lymphoblastic leukemia"
    )
    assert "ALL" not in texts(suggester.suggest("all", limit=20))


def test_accession_prefix(suggester: Suggester) -> None:
    found = suggester.suggest("GSE20", limit=12)
    assert len(found) == 12
    assert {s.kind for s in found} == {"accession"}
    assert all(s.text == s.accession and s.text.startswith("GSE20") for s in found)
    numbers = [int(s.text[3:]) for s in found]
    assert numbers == sorted(numbers)
    assert numbers[0] == 20  # the exact accession first
    assert all(s.detail for s in found)  # with its title
    assert texts(suggester.suggest("gse2034"))[0] == "GSE2034"
    assert suggester.suggest("GSE0") == []
    assert suggester.suggest("GSE999999999") == []


def test_multi_word(suggester: Suggester) -> None:
    found = suggester.suggest("breast canc", limit=20)
    assert len(found) == 20
    for s in found:
        folded = words(s.text)
        assert "breast" in {w[:6] for w in folded}
        assert any(w.startswith("canc") for w in folded)


def test_case_and_accents_fold(suggester: Suggester) -> None:
    plain = suggester.suggest("neuroblastoma")
    assert suggester.suggest("NEUROBLASTÓMA") == plain
    assert suggester.suggest("  Neuroblastoma  ") == plain
    assert suggester.suggest("naïve t") == suggester.suggest("NAIVE T")
    assert any("naïve" in s.text.lower() for s in suggester.suggest("naive t", limit=20))


@pytest.mark.parametrize("text", ["", "   ", "\t\n", "--", "?!"])
def test_nothing_typed(suggester: Suggester, text: str) -> None:
    assert suggester.suggest(text) == []


def test_limit(suggester: Suggester) -> None:
    assert len(suggester.suggest("c", limit=1)) == 1
    assert len(suggester.suggest("c")) == 8
    assert len(suggester.suggest("c", limit=MAX_LIMIT)) == MAX_LIMIT
    for bad in (0, MAX_LIMIT + 1, -3):
        with pytest.raises(ValueError, match="limit"):
            suggester.suggest("c", limit=bad)


def test_no_duplicates(suggester: Suggester) -> None:
    for text in ("c", "rna", "rna-seq", "mouse", "expression", "human br", "cancer", "GSE1"):
        found = texts(suggester.suggest(text, limit=MAX_LIMIT))
        assert len({t.casefold() for t in found}) == len(found), text


def test_titles_match_brute_force_on_real_keystrokes(
    suggester: Suggester,
    demo_rows: tuple[list[Row], Counter[str]],
    ranked_titles: list[tuple[str, list[str]]],
) -> None:
    rows, _ = demo_rows
    rng = random.Random(11)
    typed: set[str] = set()
    for _, title, _ in rng.sample(rows, 60):
        text = " ".join(title.split()[:3])
        typed.update(text[:i] for i in range(1, len(text) + 1))
    assert len(typed) > 1000
    for text in sorted(typed):
        if text.upper().startswith("GSE") and text[3:].isdigit():
            continue
        found = suggester.suggest(text, limit=MAX_LIMIT)
        titles = texts(found, "title")
        others = {s.text.casefold() for s in found if s.kind != "title"}
        expected = [
            t for t in brute_titles(ranked_titles, text, MAX_LIMIT) if t.casefold() not in others
        ]
        # Heaviest matching titles, in order, filling whatever the terms left.
        assert titles == expected[: len(titles)], text
        assert len(titles) == min(len(expected), MAX_LIMIT - len(others)), text


# --- small hand-made inputs -------------------------------------------------------------


def test_identical_titles_collapse_to_the_heaviest_series() -> None:
    s = Suggester.build(
        [
            ("GSE1", "Expression data from liver", 3),
            ("GSE2", "Expression  data from LIVER", 30),
            ("GSE3", "Liver regeneration", 10),
            ("GSE4", "", None),  # untitled: still an accession
            ("GPL5", "Liver array", 99),  # not a series: ignored
        ],
        {},
    )
    assert s.suggest("liv") == [
        Suggestion("Expression data from LIVER", "title", "GSE2"),
        Suggestion("Liver regeneration", "title", "GSE3"),
    ]
    assert s.suggest("GSE4") == [Suggestion("GSE4", "accession", "GSE4")]
    assert s.suggest("gse1") == [
        Suggestion("GSE1", "accession", "GSE1", "Expression  data from LIVER".replace("  ", " "))
    ]
    assert s.stats()["titles"] == 2


def test_wide_prefixes_return_the_heaviest_titles() -> None:
    # 400 distinct words under "w": far wider than WIDE, so the precomputed best ids
    # answer; they must equal the plain definition.
    n = 400
    assert n > WIDE
    rows: list[Row] = [(f"GSE{i + 1}", f"w{i:03d}x study", (i * 37) % 101) for i in range(n)]
    s = Suggester.build(rows, {})
    ranked = [
        (title, words(title))
        for _, title, _ in sorted(rows, key=lambda r: (-(r[2] or 0), int(r[0][3:])))
    ]
    for prefix in ("w", "w0", "w1", "w2", "w19", "st", "w3 st", "st w2"):
        titles = texts(s.suggest(prefix, limit=MAX_LIMIT), "title")
        assert len(titles) >= MAX_LIMIT // 2, prefix  # species names ("wheat") share the room
        assert titles == brute_titles(ranked, prefix, len(titles)), prefix


def test_organisms_rank_by_series_count() -> None:
    s = Suggester.build([], {"Mus musculus": 50, "Mustela putorius furo": 2, "Mus spretus": 7})
    assert texts(s.suggest("mus")) == ["Mus musculus", "Mus spretus", "Mustela putorius furo"]
    assert s.suggest("mouse")[0] == Suggestion("mouse", "organism", None, "Mus musculus")
    assert "mice" in texts(s.suggest("mi"))
    assert "humans" not in texts(s.suggest("huma", limit=MAX_LIMIT))  # plural of "human"


def test_to_dict_shape() -> None:
    assert Suggestion("GSE1", "accession", "GSE1", "A title").to_dict() == {
        "text": "GSE1",
        "kind": "accession",
        "accession": "GSE1",
        "detail": "A title",
    }
