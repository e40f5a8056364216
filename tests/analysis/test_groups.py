"""Sample groups of a series from its characteristics, normalised like the facets, and
a series whose values live in its GEO DataSet (GSE781 -> GDS507)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from de_data import GDS507, GPL97, REPO

from omicsoracle.analysis import comparison
from omicsoracle.analysis.comparison import AnalysisError
from omicsoracle.analysis.expression import dataset_groups, find_group
from omicsoracle.extraction.characteristics import normalize
from omicsoracle.ingest import ingest_paths
from omicsoracle.store import Store

DEMO = REPO / "data" / "demo"


def _mixed_case_copy(tmp_path: Path) -> Path:
    """GSE93431 (32 mouse liver samples) with every other sample's ``tissue: liver``
    written ``Tissue: Liver``, as another submitter would."""
    with gzip.open(DEMO / "GSE93431_family.soft.gz", "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    seen = 0
    for i, line in enumerate(lines):
        if line == "!Sample_characteristics_ch1 = tissue: liver":
            seen += 1
            if seen % 2:
                lines[i] = "!Sample_characteristics_ch1 = Tissue: Liver"
    assert seen == 32
    out = tmp_path / "GSE93431_family.soft.gz"
    with gzip.open(out, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return out


def test_spellings_of_one_characteristic_form_one_group(store: Store, tmp_path: Path) -> None:
    ingest_paths(store, [_mixed_case_copy(tmp_path)])
    record = store.get("GSE93431", sample_limit=1000)
    assert record is not None
    groups = dataset_groups(record)
    tissue = [g for g in groups if g.key == "tissue"]
    assert [(g.label, len(g.samples)) for g in tissue] == [("tissue: liver", 32)]
    # Labels are the characteristic facet's values ("key: value" after normalisation).
    facets = {
        f"{c.key}: {c.value}"
        for s in record["samples_page"]["items"]
        for c in normalize(s["accession"], s["characteristics"])
    }
    assert {g.label for g in groups} == facets
    assert "age: 12 wk" in facets  # units normalised
    age = find_group(groups, "Age: 12 weeks")
    assert age is not None
    assert age.label == "age: 12 wk"
    # The user's spelling, any case, or the normalised form find the group.
    for spec in ("tissue: liver", "Tissue:Liver", "TISSUE : LIVER", "organism part: liver"):
        assert find_group(groups, spec) is tissue[0], spec
    treated = find_group(groups, "Treatment:Tamoxifen")
    assert treated is not None
    assert len(treated.samples) == 23
    assert find_group(groups, "tissue: kidney") is None


def test_synonymous_keys_share_a_group_key(store: Store) -> None:
    # GSE87585 writes "cell type" and "originating cell type"; "gender of donor".
    ingest_paths(store, [DEMO / "GSE87585_family.soft.gz"])
    summary = comparison.groups_summary(store, "GSE87585")
    labels = {g["label"]: g["n"] for g in summary["groups"]}
    assert labels["cell type: b lymphocyte"] == 12
    assert labels["cell type: multiple myeloma cell line"] == 12
    assert labels["sex: male"] == 12
    assert labels["cell line: RPMI-8226"] == 6  # a name keeps its spelling
    assert summary["values_from"] == "GSE87585"
    assert summary["has_values"] is False
    with pytest.raises(AnalysisError) as err:
        comparison.resolve(store, "GSE87585", "Cell Line:rpmi-8226", "cell line: U266")
    assert err.value.status == 422
    assert "no expression values" in err.value.message  # both groups were found


def _recased_copy(tmp_path: Path) -> Path:
    """GSE87585 with its cell line names written in other cases, as other submitters
    would: two of six RPMI-8226 samples as ``rpmi-8226`` (the usual spelling wins) and
    the first three of six U266 samples as ``u266`` (a tie: the smallest spelling,
    ``U266``, wins although ``u266`` comes first)."""
    with gzip.open(DEMO / "GSE87585_family.soft.gz", "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    seen = {"RPMI-8226": 0, "U266": 0}
    for i, line in enumerate(lines):
        for name, recased, n in (("RPMI-8226", "rpmi-8226", 2), ("U266", "u266", 3)):
            if line == f"!Sample_characteristics_ch1 = cell line: {name}":
                seen[name] += 1
                if seen[name] <= n:
                    lines[i] = f"!Sample_characteristics_ch1 = cell line: {recased}"
    assert seen == {"RPMI-8226": 6, "U266": 6}
    out = tmp_path / "GSE87585_family.soft.gz"
    with gzip.open(out, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines))
    return out


def test_values_differing_only_in_case_form_one_group(store: Store, tmp_path: Path) -> None:
    ingest_paths(store, [_recased_copy(tmp_path)])
    record = store.get("GSE87585", sample_limit=1000)
    assert record is not None
    # The record keeps each sample's own spelling; the groups merge them.
    spelt = {v for s in record["samples_page"]["items"] for k, v in s["characteristics"]}
    assert {"rpmi-8226", "RPMI-8226", "u266", "U266"} <= spelt
    groups = dataset_groups(record)
    lines = [(g.label, len(g.samples)) for g in groups if g.key == "cell line"]
    assert lines == [("cell line: RPMI-8226", 6), ("cell line: U266", 6)]
    for spec in ("cell line: u266", "Cell Line:U266", "cell line:rpmi-8226"):
        found = find_group(groups, spec)
        assert found is not None, spec
        assert found.value.lower() == spec.split(":")[1].strip().lower()


GSE781_HEADER = """^SERIES = GSE781
!Series_title = Renal clear cell carcinoma (series of GDS507)
!Series_geo_accession = GSE781
!Series_type = Expression profiling by array
!Series_platform_id = GPL97
"""


def test_no_values_is_answered_before_an_unknown_group(store: Store) -> None:
    # GSE87585 has no values and no "disease state" groups: the values are the reason.
    ingest_paths(store, [DEMO / "GSE87585_family.soft.gz"])
    for group, vs in (
        ("disease state:RCC", "disease state:normal"),
        ("cell line: RPMI-8226", "cell line: HeLa"),
        ("cell line: RPMI-8226", "cell line: RPMI-8226"),
    ):
        with pytest.raises(AnalysisError) as err:
            comparison.resolve(store, "GSE87585", group, vs)
        assert err.value.status == 422
        assert err.value.message == "GSE87585 has no expression values to compare"


def test_series_values_from_its_dataset(store: Store, tmp_path: Path) -> None:
    with pytest.raises(AnalysisError) as err:
        comparison.groups_summary(store, "GSE781")
    assert err.value.status == 404  # neither the series nor a dataset of it

    # GDS507 names GSE781 as its reference series; the series itself is not stored.
    ingest_paths(store, [GDS507, GPL97])
    assert store.get("GSE781") is None
    assert store.datasets_of_series("GSE781") == ["GDS507"]
    summary = comparison.groups_summary(store, "GSE781")
    assert summary["accession"] == "GSE781"
    assert summary["values_from"] == "GDS507"
    assert summary["record_stored"] is False
    assert summary["has_values"] is True
    assert ("disease state:RCC", 9) in {(g["label"], g["n"]) for g in summary["groups"]}

    # Once the series row exists (without values of its own) the answer is the same.
    brief = tmp_path / "GSE781_brief.soft"
    brief.write_text(GSE781_HEADER, encoding="utf-8")
    ingest_paths(store, [brief])
    series = store.get("GSE781")
    assert series is not None
    assert series["record_type"] == "series"
    summary = comparison.groups_summary(store, "GSE781")
    assert (summary["values_from"], summary["record_stored"]) == ("GDS507", True)

    result = comparison.run(store, "GSE781", "disease state:RCC", "disease state:normal")
    assert (result["accession"], result["values_from"]) == ("GSE781", "GDS507")
    direct = comparison.run(store, "GDS507", "disease state:RCC", "disease state:normal")
    assert result["results"] == direct["results"]
    assert direct["values_from"] == "GDS507"
