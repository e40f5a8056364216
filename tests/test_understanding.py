"""Query understanding: words to concepts and filters, and the literal switch."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from omicsoracle.understanding import understand

HTS = "Expression profiling by high throughput sequencing"


def test_the_issue_example() -> None:
    u = understand("NSCLC RNA-seq human at least 20 samples")
    assert u.parsed.terms == ("NSCLC",)
    f = u.parsed.filters
    assert f.organism == ("Homo sapiens",)
    assert f.type == (HTS,)
    assert f.min_samples == 20
    [c] = u.concepts
    assert (c.text, c.name, c.via_abbreviation) == ("NSCLC", "non-small cell lung cancer", True)
    assert any("lung" in s for s in c.synonyms)
    assert [(w.text, w.filter) for w in u.from_words] == [
        ("RNA-seq", "type"),
        ("human", "organism"),
        ("at least 20 samples", "samples"),
    ]
    assert u.display() == (
        "NSCLC (non-small cell lung cancer) · Homo sapiens · RNA-seq · samples ≥ 20"
    )
    body = u.to_dict()
    assert body["filters"] == {"organism": ["Homo sapiens"], "type": [HTS], "min_samples": 20}
    assert body["concepts"][0]["name"] == "non-small cell lung cancer"


def test_literal_keeps_every_word() -> None:
    u = understand("NSCLC RNA-seq human at least 20 samples", literal=True)
    assert u.literal
    assert u.parsed.terms == ("NSCLC", "RNA-seq", "human", "at", "least", "20", "samples")
    assert u.parsed.filters.is_empty()
    assert u.concepts == ()
    assert u.from_words == ()
    # Explicit key:value filters are syntax, not understanding: they still apply.
    typed = understand("liver organism:mouse", literal=True).parsed.filters
    assert typed.organism == ("Mus musculus",)


def test_organisms_and_assays_are_ored() -> None:
    u = understand("human mouse liver microarray RNA-seq")
    assert u.parsed.terms == ("liver",)
    assert set(u.parsed.filters.organism) == {"Homo sapiens", "Mus musculus"}
    assert set(u.parsed.filters.type) == {HTS, "Expression profiling by array"}


def test_a_typed_filter_is_never_widened_by_words() -> None:
    u = understand("organism:mouse human xenograft type:rna-seq microarray")
    assert u.parsed.filters.organism == ("Mus musculus",)
    assert u.parsed.filters.type == (HTS,)
    assert u.parsed.terms == ("human", "xenograft", "microarray")
    assert u.from_words == ()


def test_assays_without_a_geo_type_stay_words() -> None:
    # GEO has no single-cell type: a type filter would let every bulk series in.
    u = understand("scRNA-seq mouse brain")
    assert u.parsed.terms == ("scRNA-seq", "brain")
    assert u.parsed.filters.type == ()
    assert [c.kind for c in u.concepts] == ["assay"]


def test_longest_match_wins_over_an_organism_word() -> None:
    u = understand("human immunodeficiency virus")
    assert u.parsed.filters.organism == ()
    assert [c.name for c in u.concepts] == ["HIV"]


def test_ambiguous_abbreviations_need_capitals() -> None:
    assert [c.name for c in understand("MS lesions").concepts] == ["multiple sclerosis"]
    assert understand("ms lesions").concepts == ()


def test_display_skips_stop_words_and_keeps_typed_order() -> None:
    u = understand('the effect of hypoxia in zebrafish "cell line" -blood since 2015')
    assert u.display() == ('hypoxia · "cell line" · not blood · Danio rerio · year ≥ 2015')
    assert understand("the data").display() == "the · data"  # nothing else to search for


def test_phrases_and_exclusions_are_not_understood() -> None:
    u = understand('"human" -mouse')
    assert u.parsed.phrases == ("human",)
    assert u.parsed.excluded == ("mouse",)
    assert u.parsed.filters.is_empty()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), st.booleans())
def test_never_raises(text: str, literal: bool) -> None:
    u = understand(text, literal=literal)
    assert isinstance(u.display(), str)
    assert u.to_dict()["literal"] is literal


def test_genes_are_recognised_as_typed() -> None:
    u = understand("breast cancer TP53 BRCA1 mutation")
    assert u.genes == ("TP53", "BRCA1")
    assert "TP53" in u.parsed.terms  # still searched as words
    assert understand("tp53").genes == ()  # lower case is not a symbol


def test_concepts_carry_their_sources_and_surface_synonyms() -> None:
    [t2d] = understand("T2D islets").concepts
    assert t2d.name == "type 2 diabetes"
    assert "curated" in t2d.sources
    assert any(s.startswith("HPO HP:") for s in t2d.sources)
    assert "Type II diabetes mellitus" in t2d.synonyms  # as written, not stems
