"""Ingest on the real fixtures: every bad-input case of the issue, idempotency.

Each error case checks the message (file, line or record, reason) and that
nothing partial is visible afterwards.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from omicsoracle.ingest import FileResult, OnError, ingest_file
from omicsoracle.store import Store

DATA = Path(__file__).parent / "data"


def _counts(store: Store) -> dict[str, int]:
    counts: dict[str, int] = store.stats()["counts"]
    return counts


def _one_problem(result: FileResult, path: Path) -> str:
    assert result.problems, "expected the file to be rejected"
    message = str(result.problems[0])
    assert message.startswith(str(path))
    return message


def test_family_soft_ingests_with_links(store: Store) -> None:
    path = DATA / "soft" / "GSE87585_family.soft.gz"
    result = ingest_file(store, path)
    assert result.ok, result.problems
    assert result.format == "geo_soft"
    series = store.get("GSE87585")
    assert series is not None
    assert series["samples_page"]["total"] == 12
    assert series["samples_page"]["items"][0]["accession"].startswith("GSM")


def test_reingest_changes_nothing(store: Store) -> None:
    path = DATA / "soft" / "GSE93431_family.soft.gz"
    first = ingest_file(store, path)
    assert first.ok
    before = store.max_change_id()
    second = ingest_file(store, path)
    assert second.ok
    assert sum(second.written["inserted"].values()) == 0
    assert sum(second.written["updated"].values()) == 0
    assert store.max_change_id() == before


def test_empty_file(store: Store) -> None:
    path = DATA / "soft" / "GPLbroken.soft.gz"
    result = ingest_file(store, path)
    assert result.status == "failed"
    assert "empty" in _one_problem(result, path)
    assert store.max_change_id() == 0


@pytest.mark.parametrize("on_error", [OnError.ABORT, OnError.SKIP])
def test_truncated_gzip(store: Store, tmp_path: Path, on_error: OnError) -> None:
    whole = (DATA / "soft" / "GSE94489_family.soft.gz").read_bytes()
    path = tmp_path / "GSE94489_family.soft.gz"
    path.write_bytes(whole[: len(whole) * 2 // 3])
    result = ingest_file(store, path, on_error=on_error)
    assert "truncated gzip" in _one_problem(result, path)
    if on_error is OnError.ABORT:
        assert result.status == "aborted"
        assert store.get("GSE94489") is None
        assert _counts(store)["sample"] == 0
        assert store.max_change_id() == 0
    else:
        assert result.status == "partial"
        assert store.get("GSE94489") is not None  # the records before the damage landed
        assert 0 < _counts(store)["sample"] < 49


def _short_table_file(tmp_path: Path) -> tuple[Path, int]:
    """A real single-sample SOFT (GSM11805) with rows cut, followed by another real sample."""
    lines = gzip.decompress((DATA / "soft" / "GSM11805.txt.gz").read_bytes()).splitlines(True)
    begin = next(i for i, line in enumerate(lines) if line.startswith(b"!sample_table_begin"))
    cut = [*lines[: begin + 10], *lines[begin + 20 :]]
    other = (DATA / "soft" / "biopython_GSM645.txt").read_bytes()
    path = tmp_path / "two_samples.soft"
    path.write_bytes(b"".join(cut) + other)
    return path, begin


@pytest.mark.parametrize("on_error", [OnError.ABORT, OnError.SKIP])
def test_table_shorter_than_declared(store: Store, tmp_path: Path, on_error: OnError) -> None:
    path, _ = _short_table_file(tmp_path)
    result = ingest_file(store, path, on_error=on_error)
    message = _one_problem(result, path)
    assert "GSM11805" in message
    assert "rows" in message
    assert result.problems[0].line is not None
    # The short sample is never visible, in either mode: nor its partial table.
    assert store.get("GSM11805") is None
    if on_error is OnError.ABORT:
        assert store.get("GSM645") is None
        assert store.max_change_id() == 0
    else:
        assert store.get("GSM645") is not None


@pytest.mark.parametrize("on_error", [OnError.ABORT, OnError.SKIP])
def test_record_without_accession(store: Store, tmp_path: Path, on_error: OnError) -> None:
    text = gzip.decompress((DATA / "soft" / "GSE87585_family.soft.gz").read_bytes()).decode()
    lines = text.splitlines(True)
    first_sample = next(i for i, line in enumerate(lines) if line.startswith("^SAMPLE"))
    victim = lines[first_sample].split("=", 1)[1].strip()
    lines[first_sample] = "^SAMPLE = \n"
    path = tmp_path / "no_accession.soft"
    path.write_text("".join(lines))
    result = ingest_file(store, path, on_error=on_error)
    message = _one_problem(result, path)
    assert f":{first_sample + 1}:" in message
    assert "accession" in message
    assert store.get(victim) is None
    if on_error is OnError.ABORT:
        assert store.get("GSE87585") is None
    else:
        assert store.get("GSE87585") is not None
        assert _counts(store)["sample"] == 11


@pytest.mark.parametrize("on_error", [OnError.ABORT, OnError.SKIP])
def test_article_without_pmid(store: Store, tmp_path: Path, on_error: OnError) -> None:
    # The real PMID-less article placed among 30 real current-format articles.
    bad = gzip.decompress((DATA / "pubmed" / "pubmedsample_no_pmid_2019.xml.gz").read_bytes())
    article = bad[bad.index(b"<PubmedArticle>") : bad.rindex(b"</PubmedArticle>") + 16]
    good = gzip.decompress((DATA / "pubmed" / "pubmed26n1334.xml.gz").read_bytes())
    end = good.rindex(b"</PubmedArticleSet>")
    path = tmp_path / "mixed.xml"
    path.write_bytes(good[:end] + article + b"\n" + good[end:])
    result = ingest_file(store, path, on_error=on_error)
    message = _one_problem(result, path)
    assert "PMID" in message
    assert result.problems[0].line is not None
    if on_error is OnError.ABORT:
        assert _counts(store)["publication"] == 0
        assert store.max_change_id() == 0
    else:
        assert _counts(store)["publication"] == result.parsed["publication"] == 30


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>',
        '<!DOCTYPE PubmedArticleSet [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
    ],
    ids=["external-entity", "entity-expansion"],
)
def test_xml_entities_are_never_expanded(store: Store, tmp_path: Path, doctype: str) -> None:
    body = (
        '<?xml version="1.0"?>\n' + doctype + "\n<PubmedArticleSet><PubmedArticle><MedlineCitation>"
        "<PMID>12345678</PMID><Article><ArticleTitle>Attack &xxe;&d;</ArticleTitle></Article>"
        "</MedlineCitation></PubmedArticle></PubmedArticleSet>\n"
    )
    body = body.replace("&xxe;&d;", "&xxe;" if "xxe" in doctype else "&d;")
    path = tmp_path / "attack.xml"
    path.write_text(body)
    result = ingest_file(store, path, on_error=OnError.SKIP)
    article = store.get("12345678")
    if article is not None:
        title = article["title"] or ""
        assert "root:" not in title
        assert "aaaaaaaaaa" not in title
    else:
        assert "entit" in _one_problem(result, path).lower()


def _gds_with_short_table(tmp_path: Path) -> Path:
    lines = gzip.decompress((DATA / "soft" / "GDS507.soft.gz").read_bytes()).splitlines(True)
    begin = next(i for i, line in enumerate(lines) if line.startswith(b"!dataset_table_begin"))
    path = tmp_path / "GDS507_short.soft"
    path.write_bytes(b"".join([*lines[: begin + 100], *lines[begin + 200 :]]))
    return path


def test_short_gds_table_in_skip_mode_stores_nothing_of_it(store: Store, tmp_path: Path) -> None:
    # A GDS is followed by its PubMed link before its table: both go with the GDS.
    result = ingest_file(store, _gds_with_short_table(tmp_path), on_error=OnError.SKIP)
    assert "GDS507" in _one_problem(result, tmp_path / "GDS507_short.soft")
    assert store.get("GDS507") is None
    assert _counts(store)["relationship"] == 0
    assert store.max_change_id() == 0


def test_table_with_no_rows_rejects_its_record(store: Store, tmp_path: Path) -> None:
    lines = gzip.decompress((DATA / "soft" / "GSM11805.txt.gz").read_bytes()).splitlines(True)
    begin = next(i for i, line in enumerate(lines) if line.startswith(b"!sample_table_begin"))
    end = next(i for i, line in enumerate(lines) if line.startswith(b"!sample_table_end"))
    path = tmp_path / "empty_table.soft"
    path.write_bytes(b"".join([*lines[: begin + 2], *lines[end:]]))
    result = ingest_file(store, path, on_error=OnError.SKIP)
    assert "GSM11805" in _one_problem(result, path)
    assert store.get("GSM11805") is None


def test_shorter_table_replaces_the_longer_one(store: Store, tmp_path: Path) -> None:
    whole = DATA / "soft" / "GSM11805.txt.gz"
    assert ingest_file(store, whole).ok
    lines = gzip.decompress(whole.read_bytes()).decode().splitlines(True)
    begin = next(i for i, line in enumerate(lines) if line.startswith("!sample_table_begin"))
    end = next(i for i, line in enumerate(lines) if line.startswith("!sample_table_end"))
    kept = lines[: begin + 2 + 8000]
    kept = [
        "!Sample_data_row_count = 8000\n" if line.startswith("!Sample_data_row_count") else line
        for line in kept
    ]
    path = tmp_path / "GSM11805_8000.soft"
    path.write_text("".join([*kept, *lines[end:]]))
    result = ingest_file(store, path)
    assert result.ok, result.problems
    sample = store.get("GSM11805")
    assert sample is not None
    assert sample["table"]["rows"] == 8000


def test_reingest_drops_links_the_record_no_longer_names(store: Store, tmp_path: Path) -> None:
    original = gzip.decompress((DATA / "soft" / "GSE87585_family.soft.gz").read_bytes()).decode()
    assert ingest_file(store, DATA / "soft" / "GSE87585_family.soft.gz").ok
    before = store.get("GSE87585")
    assert before is not None
    dropped = before["samples_page"]["items"][-1]["accession"]
    pmids = [p["pmid"] for p in before["publications"]]
    assert pmids
    lines = [
        line
        for line in original.splitlines(True)
        if not (line.startswith("!Series_sample_id") and dropped in line)
        and not line.startswith("!Series_pubmed_id")
    ]
    path = tmp_path / "GSE87585_revised.soft"
    path.write_text("".join(lines))
    assert ingest_file(store, path, on_error=OnError.SKIP).ok
    after = store.get("GSE87585")
    assert after is not None
    assert after["samples_page"]["total"] == 11
    assert dropped not in {s["accession"] for s in after["samples_page"]["items"]}
    assert after["publications"] == []


def test_absurd_numbers_do_not_crash(store: Store, tmp_path: Path) -> None:
    rows = gzip.decompress(
        (DATA.parent.parent / "data" / "corpus" / "geo_browse_series_2014.csv.gz").read_bytes()
    )
    header, first = rows.decode().splitlines()[:2]
    cells = first.split(",")
    cells[4] = "123456789012345678901234"  # Sample Count
    path = tmp_path / "odd.csv"
    path.write_text(header + "\n" + ",".join(cells) + "\n")
    result = ingest_file(store, path)
    assert result.ok, result.problems
    series = store.get("GSE1")
    assert series is not None
    assert series["n_samples"] is None
