"""Extractors on real sentences: types, spans into the field text, normalised values."""

from __future__ import annotations

import pytest

from omicsoracle.extraction import vocabulary
from omicsoracle.extraction.entities import Entity, extract_text
from omicsoracle.extraction.vocabulary import Vocabulary


@pytest.fixture(scope="module")
def vocab() -> Vocabulary:
    return vocabulary.default()


def _found(text: str, vocab: Vocabulary) -> list[Entity]:
    found = extract_text(text, "summary", vocab)
    for e in found:
        assert text[e.start : e.end] == e.text  # every span points into the field text
    return found


def _pairs(found: list[Entity]) -> set[tuple[str, str]]:
    return {(e.type, e.normalized) for e in found}


def test_dictionary_types_on_a_real_abstract(vocab: Vocabulary) -> None:
    # PMID 10.. from pubmedsample_2019 (Usher syndrome, MYO7A promoter).
    text = (
        "Promoter elements were identified using adult retinal pigment epithelium cells "
        "(ARPE-19). A 160 bp minimal promoter was active in ARPE-19 cells, but not in HeLa "
        "cells that do not express MYO7A. Mutations cause retinitis pigmentosa in humans."
    )
    pairs = _pairs(_found(text, vocab))
    assert ("cell_line", "ARPE-19") in pairs
    assert ("cell_line", "HeLa") in pairs
    assert ("gene", "MYO7A") in pairs
    assert ("disease", "retinitis pigmentosa") in pairs
    assert ("organism", "Homo sapiens") in pairs
    assert ("tissue", "pigmented layer of retina") in pairs


def test_assays_organisms_cell_types(vocab: Vocabulary) -> None:
    text = "We performed RNA-seq and ChIP-seq on mouse liver and on human B cells."
    pairs = _pairs(_found(text, vocab))
    assert {("assay", "RNA-seq"), ("assay", "ChIP-seq")} <= pairs
    assert {("organism", "Mus musculus"), ("organism", "Homo sapiens")} <= pairs
    assert ("tissue", "liver") in pairs
    assert ("cell_type", "B cell") in pairs


def test_old_gene_symbols_resolve_to_the_official_one(vocab: Vocabulary) -> None:
    table = vocabulary.gene_table()
    renamed = {sym: off for sym, (off, src) in table.items() if src.startswith("platform symbol")}
    assert renamed, "GPL97's 2008 symbols include renamed genes"
    old, official = next(iter(sorted(renamed.items())))
    found = _found(f"Expression of {old} was reduced.", vocab)
    assert [(e.type, e.text, e.normalized) for e in found] == [("gene", old, official)]


def test_words_are_not_genes_or_cell_lines(vocab: Vocabulary) -> None:
    text = "The results of this study show that the cells were grown for all samples."
    assert not [e for e in _found(text, vocab) if e.type in ("gene", "cell_line")]


def test_statistics_with_context(vocab: Vocabulary) -> None:
    text = (
        "High expression predicted poor survival (HR = 2.31, 95% CI 1.20-4.45; P < 0.001). "
        "The signature reached an AUC of 0.87. Genes with a 2-fold change and FDR < 0.05 were kept."
    )
    found = [e for e in _found(text, vocab) if e.type == "statistic"]
    norms = [e.normalized for e in found]
    assert "ratio: HR=2.31,95%CI1.20-4.45" in norms
    assert "p-value: P<0.001" in norms
    assert "AUC: AUCof0.87" in norms
    assert "fold change: 2-fold" in norms
    assert "p-value: FDR<0.05" in norms
    first = found[0]
    assert first.context is not None
    assert first.context.startswith("High expression")


def test_time_points_counts_treatments(vocab: Vocabulary) -> None:
    text = (
        "Cells were treated with dexamethasone for 24 h and harvested at day 7. "
        "We profiled 12 patients and twenty healthy controls (n = 32)."
    )
    found = _found(text, vocab)
    by_type = {(e.type, e.normalized) for e in found}
    assert ("treatment", "dexamethasone") in by_type
    assert ("time_point", "24 h") in by_type
    assert ("time_point", "d 7") in by_type
    assert {("sample_count", "12"), ("sample_count", "20"), ("sample_count", "32")} <= by_type


def test_a_year_is_not_a_sample_count(vocab: Vocabulary) -> None:
    assert not [
        e for e in _found("Since 2012 patients were enrolled.", vocab) if e.type == "sample_count"
    ]
