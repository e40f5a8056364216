"""esummary docsums (db=gds, JSON) -> domain records, on NCBI's recorded response.

tests/data/eutils/esummary.gds.json is a real esummary answer (GSE40726). The GDS
docsum is GDS507's real header (tests/data/soft/GDS507.soft.gz) in NCBI's docsum
shape. The store test ingests the real GSE94489 family SOFT, then writes the
esummary-derived records of the same series, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from omicsoracle.ingest import ingest_file
from omicsoracle.model import Dataset, Relationship, Sample, Series
from omicsoracle.store import Store
from omicsoracle.sync.docsum import DocsumError, records_from_docsum

DATA = Path(__file__).resolve().parents[1] / "data"
REQUEST = "esummary db=gds query_key=1 retstart=0 retmax=500"


def recorded() -> dict[str, Any]:
    body = json.loads((DATA / "eutils" / "esummary.gds.json").read_text())
    doc: dict[str, Any] = body["result"]["200040726"]
    return doc


GDS507 = {
    "uid": "507",
    "accession": "GDS507",
    "gds": "507",
    "title": "Renal clear cell carcinoma (HG-U133B)",
    "summary": "Investigation into mechanisms of renal clear cell carcinogenesis (RCC).",
    "gpl": "97",
    "gse": "781",
    "taxon": "Homo sapiens",
    "entrytype": "GDS",
    "gdstype": "Expression profiling by array",
    "ptechtype": "in situ oligonucleotide",
    "valtype": "count",
    "ssinfo": "",
    "subsetinfo": "",
    "pdat": "2004/03/04",
    "suppfile": "",
    "samples": [],
    "relations": [],
    "extrelations": [],
    "n_samples": 17,
    "pubmedids": ["14641932"],
    "projects": [],
    "ftplink": "ftp://ftp.ncbi.nlm.nih.gov/geo/datasets/GDSnnn/GDS507/",
}


def test_recorded_series_docsum_gives_every_field() -> None:
    records = records_from_docsum(recorded(), request=REQUEST)
    series = records[0]
    assert series == Series(
        accession="GSE40726",
        source="geo_eutils",
        title=(
            "Transcriptional profiling of IRF4 -/- vs IRF4 +/- T-cells under Th17 "
            "polarizing conditions"
        ),
        summary=recorded()["summary"],
        organisms=["Mus musculus"],
        types=["Expression profiling by array"],
        platforms=["GPL7202"],
        samples=[
            "GSM999794",
            "GSM999797",
            "GSM999796",
            "GSM999799",
            "GSM999795",
            "GSM999798",
        ],
        n_samples=6,
        release_date="2012-09-13",
        pubmed_ids=["22983707"],  # an int in NCBI's JSON, a string in the model
        supplementary_types=["TXT"],
        geo_uid="200040726",
        datasets=[],
        extra={
            "ftplink": ["ftp://ftp.ncbi.nlm.nih.gov/geo/series/GSE40nnn/GSE40726/"],
            "geo2r": ["yes"],
        },
    )
    samples = [r for r in records if isinstance(r, Sample)]
    assert [s.accession for s in samples] == series.samples
    assert samples[0] == Sample(
        accession="GSM999794",
        source="geo_eutils",
        title="IRF4-mut_Th17_cells_42hr_rep1",
        series=["GSE40726"],
    )
    assert [r for r in records if isinstance(r, Relationship)] == [
        Relationship("GSE40726", "22983707", "primary", "geo_eutils", 1.0)
    ]
    assert len(records) == 1 + 6 + 1


def test_lists_relations_and_projects_go_to_their_fields() -> None:
    doc = recorded()
    doc.update(
        taxon="Homo sapiens; Mus musculus",
        gdstype="Expression profiling by array; Expression profiling by high throughput sequencing",
        gpl="570;16791",
        gds="4879;4880",
        suppfile="CEL, TXT",
        pubmedids=["22983707", 23000001],
        extrelations=[
            {
                "relationtype": "SRA",
                "targetobject": "SRP424803",
                "targetftplink": "ftp://ftp-trace.ncbi.nlm.nih.gov/sra/SRP424803/",
            },
            {"relationtype": "BioSample", "targetobject": ""},
        ],
        relations=[{"relationtype": "SuperSeries of", "targetobject": "GSE40725"}],
        projects=[{"id": "PRJNA174470", "title": "x"}],
    )
    records = records_from_docsum(doc, request=REQUEST)
    series = records[0]
    assert isinstance(series, Series)
    assert series.organisms == ["Homo sapiens", "Mus musculus"]
    assert series.types == [
        "Expression profiling by array",
        "Expression profiling by high throughput sequencing",
    ]
    assert series.platforms == ["GPL570", "GPL16791"]
    assert series.datasets == ["GDS4879", "GDS4880"]
    assert series.supplementary_types == ["CEL", "TXT"]
    assert series.pubmed_ids == ["22983707", "23000001"]
    assert series.sra == ["SRP424803"]
    assert series.extra["bioproject"] == ["PRJNA174470"]
    assert series.extra["relation"] == ["SuperSeries of: GSE40725"]
    assert [r.pmid for r in records if isinstance(r, Relationship)] == ["22983707", "23000001"]


def test_dataset_docsum() -> None:
    records = records_from_docsum(copy.deepcopy(GDS507), request=REQUEST)
    assert records[0] == Dataset(
        accession="GDS507",
        source="geo_eutils",
        title="Renal clear cell carcinoma (HG-U133B)",
        description="Investigation into mechanisms of renal clear cell carcinogenesis (RCC).",
        dataset_type="Expression profiling by array",
        platform="GPL97",
        organisms=["Homo sapiens"],
        reference_series="GSE781",
        pubmed_ids=["14641932"],
        value_type="count",
        n_samples=17,
        extra={
            "release_date": ["2004-03-04"],
            "ptechtype": ["in situ oligonucleotide"],
            "ftplink": ["ftp://ftp.ncbi.nlm.nih.gov/geo/datasets/GDSnnn/GDS507/"],
        },
    )
    assert records[1:] == [Relationship("GSE781", "14641932", "primary", "geo_eutils", 1.0)]


@pytest.mark.parametrize("entrytype", ["GPL", "GSM"])
def test_platform_and_sample_entries_are_ignored(entrytype: str) -> None:
    doc = recorded()
    doc.update(entrytype=entrytype, accession=f"{entrytype}7202")
    assert records_from_docsum(doc, request=REQUEST) == []


def test_missing_optional_fields_are_fine() -> None:
    doc = {"uid": "200040726", "accession": "GSE40726", "entrytype": "GSE"}
    [series] = records_from_docsum(doc, request=REQUEST)
    assert series == Series(accession="GSE40726", source="geo_eutils", geo_uid="200040726")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"accession": None}, "no accession"),
        ({"accession": ""}, "no accession"),
        ({"accession": "GSE040726"}, "not a GEO accession"),
        ({"accession": "GDS507"}, "does not match entrytype GSE"),
        ({"entrytype": "GDS"}, "does not match entrytype GDS"),
        ({"entrytype": None}, "no entrytype"),
        ({"entrytype": "XYZ"}, "unknown entrytype"),
        ({"pdat": "2012/13/45"}, "'pdat': '2012/13/45' is not a YYYY/MM/DD date"),
        ({"pdat": "Sep 13 2012"}, "not a YYYY/MM/DD date"),
        ({"title": 42}, "field 'title' must be a string, not int"),
        ({"samples": "GSM999794"}, "field 'samples' must be a list"),
        ({"samples": [{"accession": "GSE1"}]}, "not a GSM accession"),
        ({"samples": ["GSM999794"]}, "a sample must be an object"),
        ({"pubmedids": ["PMID22983707"]}, "is not a PubMed id"),
        ({"pubmedids": [True]}, "is not a PubMed id"),
        ({"n_samples": "six"}, "must be a count"),
        ({"n_samples": -1}, "must be a count"),
        ({"gpl": "GPL7202"}, "is not a GPL number"),
        ({"gds": "507;x"}, "is not a GDS number"),
        ({"uid": "abc"}, "is not an NCBI uid"),
        ({"extrelations": ["SRA"]}, "an entry must be an object"),
    ],
)
def test_bad_docsums_name_request_and_record(change: dict[str, Any], says: str) -> None:
    doc = recorded()
    for key, value in change.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    with pytest.raises(DocsumError) as caught:
        records_from_docsum(doc, request=REQUEST)
    text = str(caught.value)
    assert says in text
    assert text.startswith(REQUEST + ": docsum uid ")
    assert caught.value.request == REQUEST
    if change.get("uid") is None:
        assert "uid 200040726" in text
        assert caught.value.uid == "200040726"
    if change.get("accession", "GSE40726"):
        assert "(" in text  # the accession, when the docsum has one


def test_dataset_number_mismatch_is_an_error() -> None:
    doc = copy.deepcopy(GDS507)
    doc["gds"] = "508"
    with pytest.raises(DocsumError, match=r"uid 507 \(GDS507\): field 'gds' is '508'"):
        records_from_docsum(doc, request=REQUEST)


def test_vanished_entry_is_an_error_when_passed_in() -> None:
    doc = {"uid": "200040726", "error": "cannot get document summary"}
    with pytest.raises(DocsumError, match="uid 200040726: NCBI returned no document"):
        records_from_docsum(doc, request=REQUEST)


def test_esummary_records_keep_what_the_family_soft_set(store: Store) -> None:
    """A docsum and its sample stubs never blank a SOFT-ingested series or sample."""
    result = ingest_file(store, DATA / "soft" / "GSE94489_family.soft.gz")
    assert result.status == "ok"
    before_series = store.get("GSE94489")
    before_sample = store.get("GSM2476401")
    assert before_series is not None
    assert before_sample is not None
    assert before_series["overall_design"]
    assert before_sample["characteristics"]

    doc = recorded()
    doc.update(
        uid="200094489",
        accession="GSE94489",
        gse="94489",
        title="A newer title from esummary",
        summary="",
        taxon="Mus musculus",
        gpl="17021",
        pubmedids=[28682332],
        samples=[
            {"accession": "GSM2476401", "title": "stub title"},
            {"accession": "GSM9999999", "title": "a sample only esummary knows"},
        ],
        n_samples=49,
        pdat="2017/07/06",
    )
    records = records_from_docsum(doc, request=REQUEST)
    with store.transaction(None) as tx:
        tx.write(records)

    series = store.get("GSE94489")
    assert series is not None
    assert series["overall_design"] == before_series["overall_design"]
    assert series["contact"] == before_series["contact"]
    # The full record outranks the docsum; the docsum fills what it lacked.
    assert series["title"] == before_series["title"]
    assert series["summary"] == before_series["summary"]
    assert series["organisms"] == ["Mus musculus"]
    assert series["geo_uid"] == "200094489"

    sample = store.get("GSM2476401")
    assert sample is not None
    for key in ("characteristics", "source_name", "molecule", "title", "platform", "source"):
        assert sample[key] == before_sample[key], key
    assert sample["series"] == ["GSE94489"]

    stub = store.get("GSM9999999")
    assert stub is not None
    assert stub["title"] == "a sample only esummary knows"
    assert stub["series"] == ["GSE94489"]

    # Writing the same docsum again changes nothing.
    with store.transaction(None) as tx:
        tx.write(records_from_docsum(doc, request=REQUEST))
        assert tx.changed_keys("sample") == set()
        assert tx.changed_keys("series") == set()


def test_stub_in_the_same_batch_as_the_full_sample_does_not_wipe_it(store: Store) -> None:
    full = Sample(
        accession="GSM1",
        source="geo_soft",
        title="full",
        series=["GSE1"],
        characteristics=[("tissue", "liver")],
    )
    stub = Sample(accession="GSM1", source="geo_eutils", title="stub", series=["GSE2"])
    later = Sample(accession="GSM1", source="geo_eutils", title="newer stub", series=["GSE2"])
    with store.transaction(None) as tx:
        tx.write([full, stub])
    sample = store.get("GSM1")
    assert sample is not None
    assert sample["title"] == "full"
    assert sample["characteristics"] == [["tissue", "liver"]]
    assert sample["series"] == ["GSE1", "GSE2"]  # the stub's series is added
    # A stub over a stub: the newer one wins, series united.
    with store.transaction(None) as tx:
        tx.write([Sample(accession="GSM2", source="geo_eutils", title="old", series=["GSE1"])])
        tx.write([replace(later, accession="GSM2")])
    second = store.get("GSM2")
    assert second is not None
    assert second["title"] == "newer stub"
    assert second["series"] == ["GSE1", "GSE2"]


def test_docsum_dataset_keeps_the_soft_subsets(store: Store) -> None:
    assert ingest_file(store, DATA / "soft" / "GDS507.soft.gz").status in ("ok", "partial")
    before = store.get("GDS507")
    assert before is not None
    records = records_from_docsum(copy.deepcopy(GDS507), request=REQUEST)
    with store.transaction(None) as tx:
        tx.write(records)
    after = store.get("GDS507")
    assert after is not None
    assert after["subsets"] == before["subsets"]
    assert after["subsets"]
    assert after["n_features"] == before["n_features"]
    assert after["source"] == before["source"]
