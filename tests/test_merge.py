"""The merge rule as a pure function."""

from __future__ import annotations

from omicsoracle.merge import merge_series, priority


def test_priorities_follow_the_issue_rule() -> None:
    assert priority("geo_jsonl", "summary") > priority("geo_browse_csv", "summary")
    assert priority("geo_browse_csv", "release_date") > priority("geo_jsonl", "release_date")
    assert priority("geo_soft", "title") > priority("geo_jsonl", "title")
    assert priority("unknown", "title") == 0


def test_empty_values_never_erase() -> None:
    doc, sources = merge_series(
        None, None, {"accession": "GSE1", "source": "geo_jsonl", "title": "A"}
    )
    doc, sources = merge_series(
        doc, sources, {"accession": "GSE1", "source": "geo_soft", "title": "", "summary": "S"}
    )
    assert doc["title"] == "A"
    assert doc["summary"] == "S"
    assert sources == {"title": "geo_jsonl", "summary": "geo_soft"}


def test_equal_priority_prefers_the_newer_record_in_any_order() -> None:
    brief = {
        "accession": "GSE9",
        "source": "geo_soft",
        "title": "new",
        "last_update_date": "2019-05-15",
    }
    matrix = {
        "accession": "GSE9",
        "source": "geo_series_matrix",
        "title": "old",
        "last_update_date": "2018-10-31",
        "extra": {"contributor": ["A"]},
    }
    a, _ = merge_series(*merge_series(None, None, brief), matrix)
    b, _ = merge_series(*merge_series(None, None, matrix), brief)
    assert a == b
    assert a["title"] == "new"
    assert a["extra"] == {"contributor": ["A"]}
