"""Extracted entities and sample characteristics as search facets and filters (issue 6).

Real fixtures go through the real pipeline: ingest -> enrichment -> the change log ->
each engine's index. Every facet value must select exactly as many series as it counts,
on every engine, and the engines must agree.
"""

from __future__ import annotations

import gzip
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from omicsoracle.extraction.store import enrich
from omicsoracle.indexer import catch_up
from omicsoracle.ingest import ingest_paths
from omicsoracle.query import parse_query
from omicsoracle.search import SearchFilters, SearchIndex, SearchRequest
from omicsoracle.search.base import ANNOTATION_FACETS
from omicsoracle.store import Store, open_store
from private_servers import unavailable

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = [
    DATA / "miniml" / "GSE100007_family.xml",
    DATA / "soft" / "GSE87585_family.soft.gz",
    DATA / "soft" / "GSE93431_family.soft.gz",
    DATA / "soft" / "GSE94489_family.soft.gz",
    DATA / "soft" / "GDS507.soft.gz",
    DATA / "pubmed" / "pubmedsample_2019.xml.gz",
]
OpenEngine = Callable[[str, Path], SearchIndex]


@pytest.fixture(scope="module")
def enriched_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A SQLite store with the GEO family/GDS fixtures and a PubMed file, enriched."""
    directory = tmp_path_factory.mktemp("annotated")
    store = open_store(f"sqlite:///{directory / 'store.sqlite'}")
    results = ingest_paths(store, FIXTURES)
    assert all(r.ok for r in results), [str(p) for r in results for p in r.problems]
    enrich(store)
    yield store
    store.close()


@pytest.fixture
def annotated(
    engine: str, open_engine: OpenEngine, enriched_store: Store, tmp_path: Path
) -> Iterator[SearchIndex]:
    """A fresh index of the engine under test, caught up with the enriched store."""
    ix = open_engine(engine, tmp_path / engine)
    catch_up(enriched_store, ix)
    yield ix
    ix.close()


def _facets(ix: SearchIndex, filters: SearchFilters | None = None) -> dict[str, dict[str, int]]:
    resp = ix.search(SearchRequest("", limit=50, filters=filters or SearchFilters()))
    return {n: {b.value: b.count for b in resp.facets.get(n, ())} for n in ANNOTATION_FACETS}


def _matches(ix: SearchIndex, filters: SearchFilters, query: str = "") -> list[str]:
    return sorted(
        h.accession for h in ix.search(SearchRequest(query, limit=50, filters=filters)).results
    )


def test_facets_come_from_entities_and_characteristics(annotated: SearchIndex) -> None:
    facets = _facets(annotated)
    # GSE87585: multiple myeloma cell lines; GSE93431: mouse liver, cohesin genes;
    # GSE100007: human embryonic stem cells.
    assert "multiple myeloma" in facets["disease"]
    assert {"RPMI-8226", "U266"} <= set(facets["cell_line"])
    assert "liver" in facets["tissue"]
    assert {"NIPBL", "RAD21", "SMC3"} <= set(facets["gene"])
    assert "cell line: U266" in facets["characteristic"]
    assert "cell type: Human embryonic stem cells (hESC)" in facets["characteristic"]
    # No "unknown" bucket: a series without a tissue is not a tissue called unknown.
    assert all("unknown" not in values for values in facets.values())


def test_every_facet_value_selects_what_it_counts(annotated: SearchIndex) -> None:
    for name, values in _facets(annotated).items():
        for value, count in values.items():
            filters = SearchFilters.build(**{name: [value]})  # type: ignore[arg-type]
            resp = annotated.search(SearchRequest("", limit=1, filters=filters))
            assert resp.total == count, (name, value)
            # The filtered result set's own facet shows the value on all of it.
            assert {b.value: b.count for b in resp.facets[name]}[value] == count


def test_engines_agree_with_tantivy(
    annotated: SearchIndex, open_engine: OpenEngine, enriched_store: Store, tmp_path: Path
) -> None:
    reference = open_engine("tantivy", tmp_path / "reference")
    catch_up(enriched_store, reference)
    liver = SearchFilters.build(tissue=["liver"])
    assert _facets(annotated) == _facets(reference)
    assert _matches(annotated, liver) == _matches(reference, liver)
    reference.close()


def test_characteristic_filters_are_normalised_like_the_facets(annotated: SearchIndex) -> None:
    canonical = _matches(annotated, SearchFilters.build(characteristic=["cell line: U266"]))
    assert canonical == ["GSE87585"]
    # Case, spacing and the key synonym (cell line name -> cell line) as a user types them.
    for typed in ("Cell Line:U266", "cell_line :  U266", "cell line name: U266"):
        assert _matches(annotated, SearchFilters.build(characteristic=[typed])) == canonical
    # A bare key: every series whose samples have that characteristic, whatever its value.
    with_cell_line = _matches(annotated, SearchFilters.build(characteristic=["cell line"]))
    assert "GSE87585" in with_cell_line
    assert "GSE93431" not in with_cell_line
    # Values of one filter are OR-ed, filters are AND-ed with each other and with words.
    both = SearchFilters.build(characteristic=["cell line: U266", "cell line: RPMI-8226"])
    assert _matches(annotated, both) == ["GSE87585"]
    assert _matches(annotated, SearchFilters.build(cell_line=["u266"], tissue=["liver"])) == []
    assert _matches(annotated, SearchFilters.build(gene=["rad21"]), "cohesin") == _matches(
        annotated, SearchFilters.build(gene=["RAD21"])
    )
    assert _matches(annotated, SearchFilters.build(characteristic=["cell line: HeLa"])) == []


def test_query_language_filters(annotated: SearchIndex) -> None:
    parsed = parse_query('gene:RAD21 characteristic:"Cell Line: U266" tissue:liver,brain')
    assert parsed.filters.gene == ("RAD21",)
    assert parsed.filters.characteristic == ("Cell Line: U266",)
    assert parsed.filters.tissue == ("liver", "brain")
    assert not parsed.terms
    resp = annotated.search(SearchRequest('characteristic:"Cell Line: U266"'))
    assert [h.accession for h in resp.results] == ["GSE87585"]
    assert resp.interpreted["filters"] == {"characteristic": ["Cell Line: U266"]}


def test_enrichment_reindexes_through_the_change_log(
    engine: str, open_engine: OpenEngine, tmp_path: Path
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        ingest_paths(store, [DATA / "soft" / "GSE87585_family.soft.gz"])
        ix = open_engine(engine, tmp_path / engine)
        catch_up(store, ix)  # indexed before any enrichment: no annotations yet
        assert _facets(ix)["cell_line"] == {}
        report = enrich(store)
        assert report.series == 1
        caught = catch_up(store, ix)
        assert caught.documents == 1  # the series whose facets changed, nothing else
        assert {"RPMI-8226", "U266"} <= set(_facets(ix)["cell_line"])
        # Nothing new: the next enrichment queues nothing.
        assert enrich(store).series == 0
        assert catch_up(store, ix).documents == 0
        ix.close()
    finally:
        store.close()


def _forget_format(engine: str, ix: SearchIndex, directory: Path) -> None:
    """Make the index look as written before INDEX_FORMAT existed."""
    if engine == "sql":
        with sqlite3.connect(directory / "fts.sqlite") as conn:
            conn.execute("DELETE FROM meta WHERE key = 'format'")
    else:
        import psycopg

        with psycopg.connect(ix._info, autocommit=True) as conn:  # type: ignore[attr-defined]
            conn.execute("DELETE FROM search_meta WHERE key = 'format'")


@pytest.mark.parametrize("engine", ["sql", "pg"])  # tantivy: its own schema check
def test_an_index_of_an_older_format_is_rebuilt(
    engine: str, open_engine: OpenEngine, tmp_path: Path
) -> None:
    from search_helpers import pg_reachable

    from omicsoracle.search.document import SearchDoc

    if engine == "pg" and not pg_reachable():
        unavailable("no PostgreSQL reachable at 127.0.0.1:5432 (the pg engine is untested)")

    directory = tmp_path / engine
    ix = open_engine(engine, directory)
    ix.apply([SearchDoc("GSE1", title="old")], [], upto_change_id=7)
    assert ix.applied_change_id() == 7
    _forget_format(engine, ix, directory)
    ix.close()
    reopened = open_engine(engine, directory)
    assert reopened.applied_change_id() == 0  # the next catch-up rebuilds from the store
    assert reopened.doc_count() == 0
    reopened.close()
    # Reopening an index of the current format keeps it.
    again = open_engine(engine, directory)
    again.apply([SearchDoc("GSE2", title="new")], [], upto_change_id=3)
    again.close()
    last = open_engine(engine, directory)
    assert last.applied_change_id() == 3
    last.close()  # an open pg snapshot would hold the schema until the session ends


def test_one_spelling_per_characteristic_value(tmp_path: Path, open_engine: OpenEngine) -> None:
    """A second series writing a stored value in another case ("rpmi-8226" after
    "RPMI-8226") is stored in the first spelling: one facet value, counting both series,
    and its filter selects both. The second series is the real GSE87585 family file with
    other accessions and its cell line written in lower case."""
    original = DATA / "soft" / "GSE87585_family.soft.gz"
    text = gzip.decompress(original.read_bytes()).decode()
    text = re.sub(r"GSM(\d+)", r"GSM9\1", text.replace("GSE87585", "GSE987585"))
    text = text.replace("cell line: RPMI-8226", "cell line: rpmi-8226")
    variant = tmp_path / "GSE987585_family.soft"
    variant.write_text(text)
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        ingest_paths(store, [original])
        enrich(store)
        ingest_paths(store, [variant])
        enrich(store)
        ix = open_engine("tantivy", tmp_path / "ix")
        catch_up(store, ix)
        facets = _facets(ix)["characteristic"]
        assert facets["cell line: RPMI-8226"] == 2
        assert "cell line: rpmi-8226" not in facets
        for typed in ("cell line: RPMI-8226", "cell line: rpmi-8226"):
            found = _matches(ix, SearchFilters.build(characteristic=[typed]))
            assert found == ["GSE87585", "GSE987585"]
        ix.close()
    finally:
        store.close()


def test_per_sample_identifiers_stay_out_of_the_characteristic_facet(
    engine: str, open_engine: OpenEngine, tmp_path: Path
) -> None:
    """The real GSE87585 family file with a donor label on each of its 12 samples, as
    many submitters write one ("individual: donor MM01".."MM12"): the label names a
    sample, not a group, so its values are no facet values (at GEO's size they were most
    of the distinct values and made every facetted search slower). The key stays a
    filter, the labels stay searchable text, and the real grouping values stay facets."""
    text = gzip.decompress((DATA / "soft" / "GSE87585_family.soft.gz").read_bytes()).decode()
    blocks = text.split("^SAMPLE")
    labelled = [blocks[0]] + [
        block.replace(
            "!Sample_characteristics_ch1 = cell type:",
            f"!Sample_characteristics_ch1 = individual: donor MM{i:02d}\n"
            "!Sample_characteristics_ch1 = cell type:",
            1,
        )
        for i, block in enumerate(blocks[1:], start=1)
    ]
    assert len(labelled) == 13
    variant = tmp_path / "GSE87585_family.soft"
    variant.write_text("^SAMPLE".join(labelled))
    store = open_store(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        assert all(r.ok for r in ingest_paths(store, [variant]))
        enrich(store)
        ix = open_engine(engine, tmp_path / engine)
        catch_up(store, ix)
        facets = _facets(ix)["characteristic"]
        assert not [v for v in facets if v.startswith("individual")]
        # Two cell lines on six samples each, two donor ages: groups, kept.
        assert {"cell line: U266", "cell line: RPMI-8226", "age: 53", "age: 61"} <= set(facets)
        assert _matches(ix, SearchFilters.build(characteristic=["individual"])) == ["GSE87585"]
        assert _matches(ix, SearchFilters.build(characteristic=["individual: donor MM07"])) == []
        assert _matches(ix, SearchFilters(), "MM07") == ["GSE87585"]
        ix.close()
    finally:
        store.close()
