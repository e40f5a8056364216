"""The query vocabulary's sources: curated TSV tables, the HPO ontology, corpus abbreviations."""

from __future__ import annotations

from pathlib import Path

import pytest

from omicsoracle.search.analysis import tokens
from omicsoracle.search.lexicon_build import compile_lexicon
from omicsoracle.search.lexicon_cache import load_or_build
from omicsoracle.search.synonyms import CONCEPTS, SPECIES, Entry, lexicon
from omicsoracle.search.thesaurus import (
    VocabularyError,
    corpus_abbreviations,
    gene_symbols,
    hpo,
    parse_obo,
    read_table,
)


def lookup(typed: str) -> Entry | None:
    """The entry a typed phrase leads to, with the planner's rule for exact keys."""
    for key in lexicon().get(tuple(tokens(typed)), ()):
        if key.exact is None or key.exact == typed:
            return key.entry
    return None


def test_hpo_loader_reads_the_installed_ontology() -> None:
    release, terms = hpo()
    assert release.startswith("hp/releases/")
    by_id = {t.id: t for t in terms}
    assert len(by_id) > 15_000
    nsclc = by_id["HP:0030358"]
    assert nsclc.name == "Non-small cell lung carcinoma"
    assert "Non-small cell lung cancer" in nsclc.synonyms
    t2d = by_id["HP:0005978"]
    assert t2d.abbreviations == ("NIDDM",)
    assert "Type 2 diabetes" in t2d.synonyms
    assert "Diabetes mellitus type 2" not in t2d.synonyms  # a RELATED synonym
    assert "AML" in by_id["HP:0004808"].abbreviations
    assert "HP:0000057" not in by_id  # obsolete Clitoromegaly


def test_obo_parser_keeps_exact_synonyms_of_live_terms() -> None:
    text = """format-version: 1.2
data-version: hp/releases/test

[Term]
id: HP:1
name: Hepatocellular carcinoma
synonym: "Liver cell carcinoma" EXACT []
synonym: "HCC" EXACT abbreviation []
synonym: "Increased hepatocellular carcinoma risk" RELATED []
is_a: HP:0 ! root

[Term]
id: HP:2
name: obsolete Thing
synonym: "Thing" EXACT []
is_obsolete: true

[Typedef]
id: part_of
name: part of
"""
    release, terms = parse_obo(text.splitlines())
    assert release == "hp/releases/test"
    assert [(t.id, t.name, t.synonyms, t.abbreviations, t.parents) for t in terms] == [
        ("HP:1", "Hepatocellular carcinoma", ("Liver cell carcinoma",), ("HCC",), ("HP:0",))
    ]


@pytest.mark.parametrize(
    ("typed", "name"),
    [
        ("NSCLC", "non-small cell lung cancer"),
        ("HCC", "hepatocellular carcinoma"),
        ("AML", "acute myeloid leukemia"),
        ("CLL", "chronic lymphocytic leukemia"),
        ("T2D", "type 2 diabetes"),
        ("MS", "multiple sclerosis"),
        ("non small cell lung carcinoma", "non-small cell lung cancer"),
        ("acute myelogenous leukaemia", "acute myeloid leukemia"),  # HPO synonym
        ("noninsulin-dependent diabetes", "type 2 diabetes"),  # HPO synonym
        ("T21", "Down syndrome"),  # corpus definition
    ],
)
def test_abbreviations_and_synonyms_expand(typed: str, name: str) -> None:
    entry = lookup(typed)
    assert entry is not None
    assert entry.name == name
    assert len(entry.alternatives) + len(entry.abbreviations) > 1


def test_an_ambiguous_abbreviation_needs_capitals() -> None:
    assert lookup("ms") is None
    assert lookup("Ms") is None
    entry = lookup("MS")
    assert entry is not None
    assert entry.ambiguous


def test_curated_and_hpo_forms_merge_with_both_sources() -> None:
    entry = lookup("NSCLC")
    assert entry is lookup("non-small cell lung carcinoma")
    assert entry is not None
    assert entry.kind == "disease"
    assert entry.sources[:2] == ("curated", "HPO HP:0030358")
    aml = lookup("AML")
    assert aml is not None
    assert tuple(tokens("acute myeloid leukaemia")) in aml.alternatives
    assert len(aml.alternatives) + len(aml.abbreviations) <= 16


def test_hpo_only_terms_and_kinds() -> None:
    neoplasm = lookup("neuroblastoma")
    assert neoplasm is not None
    assert neoplasm.kind == "disease"
    assert any(s.startswith("HPO HP:") for s in neoplasm.sources)
    seizure = lookup("seizure")
    assert seizure is not None
    assert seizure.kind == "phenotype"
    cells = lookup("regulatory T cells")
    assert cells is not None
    assert cells.kind == "cell type"


@pytest.mark.parametrize(
    "typed",
    [
        "progressive",  # an HPO clinical modifier, not a phenotype
        "into",  # "Intoeing" stems to it
        "signatures",  # excluded_forms.tsv: a common corpus word
    ],
)
def test_noise_is_not_vocabulary(typed: str) -> None:
    assert lookup(typed) is None


def test_the_prostate_is_not_prostatitis() -> None:
    entry = lookup("prostate")
    assert entry is None or entry.name != "Prostatitis"


def test_curated_entries_keep_precedence() -> None:
    tumor = lookup("tumor")
    assert tumor is not None
    assert tumor.kind == "variant"  # not HPO Neoplasm
    mouse = lookup("mice")
    assert mouse is not None
    assert mouse.organism == "Mus musculus"


def test_curated_tables_are_read_from_tsv() -> None:
    assert SPECIES[0].scientific == "Homo sapiens"
    assert SPECIES[0].source
    kinds = {c.kind for c in CONCEPTS}
    assert {"disease", "cell type", "virus", "process"} <= kinds
    assert all(c.source for c in CONCEPTS)


def test_a_malformed_row_is_rejected_with_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "concepts.tsv"
    path.write_text("# comment\nname\tkind\tsource\nlupus\tdisease\tcurated\nbroken\tdisease\n")
    with pytest.raises(VocabularyError, match=r"concepts\.tsv:4: expected 3 tab-separated fields"):
        read_table(path, ("name", "kind", "source"))
    path.write_text("name\tkind\nlupus\t\n")
    with pytest.raises(VocabularyError, match=r"concepts\.tsv:2: empty kind"):
        read_table(path, ("name", "kind"))
    path.write_text("nom\tkind\n")
    with pytest.raises(VocabularyError, match=r"concepts\.tsv:1: header"):
        read_table(path, ("name", "kind"))


def test_corpus_abbreviations_table() -> None:
    rows = corpus_abbreviations()
    assert len(rows) > 500
    assert all(r.series >= 2 for r in rows)


def test_gene_symbols() -> None:
    genes = gene_symbols()
    assert {"TP53", "BRCA1", "EGFR"} <= genes
    assert "gene_symbol" not in genes
    # Genes are recognised as typed, not expanded through the lexicon.
    assert lookup("TP53") is None


def test_the_cached_lexicon_is_the_compiled_one(tmp_path: Path) -> None:
    built = compile_lexicon()
    assert load_or_build(lambda: built, tmp_path) is built
    assert list(tmp_path.glob("lexicon-*.msgpack"))

    def fail() -> dict[tuple[str, ...], list[object]]:
        raise AssertionError("the cache should have been used")

    assert load_or_build(fail, tmp_path) == built  # type: ignore[arg-type]
