"""Text repair and GEO date parsing, checked on the real corpus's mojibake."""

from __future__ import annotations

import gzip
import time
from pathlib import Path
from typing import Any

import ftfy
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from omicsoracle.formats.text import clean_list, parse_geo_date, repair_text, split_clean

CORPUS = Path(__file__).parents[2] / "data" / "corpus"
TEXT_KEYS = ("title", "summary", "overall_design")


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, Any]]:
    """The real JSONL corpus keyed by accession (raw JSON, before any repair)."""
    with gzip.open(CORPUS / "geo_series.jsonl.gz", "rb") as fh:
        return {obj["accession"]: obj for obj in map(orjson.loads, fh)}


# (accession, field, mojibake as stored in the corpus, what it must become)
REAL_MOJIBAKE = [
    ("GSE136644", "summary", "IFN-Î³/STAT1", "IFN-γ/STAT1"),
    ("GSE136644", "summary", "Pearsonâ\x80\x99s r>0.4", "Pearson’s r>0.4"),
    ("GSE151375", "summary", "DelbrÃ¼ckâ€™s", "Delbrück’s"),
    ("GSE71729", "summary", "â€œbasal-likeâ€\x9d", "“basal-like”"),
    ("GSE104105", "summary", "MDA-MB-231 Ï\x810 cells", "MDA-MB-231 ρ0 cells"),
    ("GSE156255", "summary", "qRTâ\x80\x93PCR", "qRT–PCR"),
    ("GSE185865", "summary", "TNFSF10ã\x80\x81CCL5", "TNFSF10、CCL5"),
    # Symbol-font private-use code point behind the mojibake: HIF1\uf061 -> HIF1α.
    ("GSE175487", "summary", "HIF1ï\x81¡ activity", "HIF1α activity"),
    ("GSE117999", "summary", "(ï\x82³1.5 fold)", "(≥1.5 fold)"),
    # Ligature behind the mojibake: signi\ufb01cantly -> significantly.
    ("GSE77080", "summary", "signiï¬\x81cantly", "significantly"),
    # A damaged NBSP whose 0xA0 later became a plain space, or was stripped.
    ("GSE139074", "summary", "mesenchymalÂ transition", "mesenchymal transition"),
    ("GSE151190", "summary", "causing PDÂ  Â Â  Â Â", "causing PD"),
]


@pytest.mark.parametrize(("accession", "key", "broken", "fixed"), REAL_MOJIBAKE)
def test_repairs_real_corpus_mojibake(
    corpus: dict[str, dict[str, Any]], accession: str, key: str, broken: str, fixed: str
) -> None:
    raw = corpus[accession][key]
    assert broken in raw  # the fixture really holds the damage
    repaired = repair_text(raw)
    assert repaired is not None
    assert fixed in repaired
    assert broken not in repaired


def test_repairs_sirp_alpha() -> None:
    # The corpus spells SIRPα correctly; this is the classic damaged form.
    assert repair_text("SIRPÎ±") == "SIRPα"
    assert repair_text("signal regulatory protein SIRPÎ± (CD172a)") == (
        "signal regulatory protein SIRPα (CD172a)"
    )


def test_no_mojibake_left_in_corpus(corpus: dict[str, dict[str, Any]]) -> None:
    """After repair no field still shows the tell-tale pairs ftfy can fix."""
    for obj in corpus.values():
        for key in TEXT_KEYS:
            repaired = repair_text(obj.get(key))
            if repaired is not None:
                assert ftfy.fix_encoding(repaired) == repaired, obj["accession"]
                for marker in ("Î±", "Î²", "Î³", "â€™", "Ã¼", "ï¬", "Â"):
                    assert marker not in repaired, (obj["accession"], marker)


@pytest.mark.parametrize(
    "clean",
    [
        "Müller",
        "naïve CD4+ T cells",
        "α-synuclein and β-amyloid in Parkinson’s disease",
        "TNF-α, IL-1β and IFN-γ",
        "Straße, São Paulo, Ångström, café",
        "10 µM, 37 °C, ≥2-fold, p ≤ 0.05",
        "日野案 Total RNA",
        "HP1𝛾 and PRMT5",
    ],
)
def test_clean_text_is_unchanged(clean: str) -> None:
    assert repair_text(clean) == clean


def test_clean_corpus_text_only_loses_whitespace(corpus: dict[str, dict[str, Any]]) -> None:
    """Real titles that need no repair come back with only whitespace collapsed."""
    checked = 0
    for obj in corpus.values():
        title = obj["title"]
        if title.isascii() or all(ord(c) < 0x80 or c in "αβγδκµμ’“”–—°±×≥≤é" for c in title):
            assert repair_text(title) == " ".join(title.split()), obj["accession"]
            checked += 1
    assert checked > 7500


def test_whitespace_normalisation() -> None:
    assert repair_text("  GSC vs Kc \t\t ") == "GSC vs Kc"
    assert repair_text("rrp6 delta and \trrp6 delta") == "rrp6 delta and rrp6 delta"
    # Line structure survives; trailing spaces and blank-line runs do not.
    assert repair_text("First line.  \r\n\r\n\r\n  Second\t line. \n") == (
        "First line.\n\nSecond line."
    )
    assert repair_text("a\nb") == "a\nb"
    # Non-breaking space left by a repaired "Â " is whitespace too.
    assert repair_text("signaling.Â  As a") == "signaling. As a"


@pytest.mark.parametrize("empty", [None, "", "   ", "\t\n\r\n", "\ufeff"])
def test_empty_is_none(empty: str | None) -> None:
    assert repair_text(empty) is None


def test_artefact_characters() -> None:
    assert repair_text("\ufeffTitle") == "Title"  # BOM
    assert repair_text("a\x00b\x07c\x7f") == "abc"  # control characters
    assert repair_text("Anti-inﬂammatory eﬀects") == "Anti-inflammatory effects"
    assert repair_text("TGF-\uf062 and IL1\uf061 (\uf0b32 fold)") == "TGF-β and IL1α (≥2 fold)"


def test_clean_list_and_split() -> None:
    assert clean_list(["Homo sapiens", " Homo  sapiens", "", None, "Mus musculus"]) == [
        "Homo sapiens",
        "Mus musculus",
    ]
    assert split_clean("CEL;CHP; ;CEL", ";") == ["CEL", "CHP"]
    assert split_clean("", ";") == []
    assert split_clean(None, ";") == []


@given(st.text())
def test_repair_never_fails_and_is_normalised(s: str) -> None:
    out = repair_text(s)
    if out is not None:
        assert out == out.strip()
        assert "  " not in out
        assert "\n\n\n" not in out
        assert repair_text(out) == out  # idempotent


# Latin-1/cp1252 look-alikes, controls and the characters the repair maps: where
# mojibake lives, so where a non-idempotent repair would show.
MOJIBAKE_PRONE = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x00, max_codepoint=0x2FF),
        st.sampled_from(list("\uf061\uf0b3\ufb01\ufeff€’“”–\u00a0\u2028\x85")),
    )
)


@given(MOJIBAKE_PRONE)
def test_repair_is_stable_on_mojibake_prone_text(s: str) -> None:
    out = repair_text(s)
    assert out is None or repair_text(out) == out


def test_repair_is_fast_on_corpus(corpus: dict[str, dict[str, Any]]) -> None:
    """The precheck keeps ftfy off clean text: 7.6k series' texts well under a second."""
    values = [obj.get(key) for obj in corpus.values() for key in TEXT_KEYS]
    start = time.perf_counter()
    for value in values:
        repair_text(value)
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("Jan 22, 2001", "2001-01-22"),  # browse CSV
        ("Jul 02, 2010", "2010-07-02"),
        ("Jan 15 2017", "2017-01-15"),  # SOFT !Series_status
        ("Public on Jan 15 2017", "2017-01-15"),
        ("public on jun 26 2017", "2017-06-26"),
        ("2017-01-15", "2017-01-15"),  # MINiML
        ("2017/01/15", "2017-01-15"),  # E-utilities PDAT
        ("2017-1-5", "2017-01-05"),
        ("2019-05-15T00:00:00", "2019-05-15"),
        ("September 5, 2010", "2010-09-05"),
        ("Sept 5 2010", "2010-09-05"),
        ("  Feb 29 2016 ", "2016-02-29"),
    ],
)
def test_parse_geo_date(raw: str, iso: str) -> None:
    assert parse_geo_date(raw) == iso


@pytest.mark.parametrize(
    "raw",
    [None, "", "Feb 29 2017", "Jan 32 2001", "2017-13-01", "Marker 3 2001", "Private", "2017"],
)
def test_parse_geo_date_rejects(raw: str | None) -> None:
    assert parse_geo_date(raw) is None
