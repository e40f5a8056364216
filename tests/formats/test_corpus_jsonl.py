"""Golden tests of the JSON-lines corpus parser on the real demo corpus."""

from __future__ import annotations

import gzip
import inspect
from pathlib import Path
from typing import TypeVar

import orjson
import pytest

from omicsoracle import formats, model
from omicsoracle.formats import corpus_jsonl
from omicsoracle.formats.source import FormatError, Source

DATA = Path(__file__).parents[1] / "data"
CORPUS = Path(__file__).parents[2] / "data" / "corpus"
JSONL = CORPUS / "geo_series.jsonl.gz"
T = TypeVar("T")


def parse(path: Path) -> list[model.Record]:
    return list(corpus_jsonl.parse(Source(path)))


def of_type(records: list[model.Record], kind: type[T]) -> list[T]:
    return [r for r in records if isinstance(r, kind)]


def real_lines(n: int) -> list[bytes]:
    """The first ``n`` raw lines of the real corpus, line endings kept."""
    with gzip.open(JSONL, "rb") as fh:
        return [next(fh) for _ in range(n)]


@pytest.fixture(scope="module")
def corpus() -> list[model.Record]:
    return parse(JSONL)


@pytest.fixture(scope="module")
def by_accession(corpus: list[model.Record]) -> dict[str, model.Series]:
    return {s.accession: s for s in of_type(corpus, model.Series)}


def test_whole_corpus(corpus: list[model.Record], by_accession: dict[str, model.Series]) -> None:
    assert len(of_type(corpus, model.Series)) == 7599
    assert len(by_accession) == 7599  # accessions are unique
    assert of_type(corpus, model.Rejected) == []
    assert all(s.source == "geo_jsonl" for s in by_accession.values())
    assert all(s.title for s in by_accession.values())


def test_series_fields(by_accession: dict[str, model.Series]) -> None:
    gse53 = by_accession["GSE53"]
    assert gse53.title == "Human mammary epithelium and breast cancer"
    assert gse53.organisms == ["Homo sapiens"]
    assert gse53.types == ["Expression profiling by array"]
    assert gse53.platforms == ["GPL170"]
    assert gse53.n_samples == 26
    assert gse53.geo_uid == "200000053"
    assert gse53.summary is not None
    assert gse53.summary.startswith("Distinctive gene expression patterns in human mammary")
    assert gse53.overall_design is None
    assert gse53.supplementary_types == []

    gse349 = by_accession["GSE349"]
    assert gse349.title == "Resistant"
    assert gse349.platforms == ["GPL8300"]
    assert gse349.n_samples == 14
    assert gse349.supplementary_types == ["CEL"]  # from supplementary_formats


def test_optional_keys_missing(by_accession: dict[str, model.Series]) -> None:
    # GSE59 has neither platforms nor n_samples in the corpus.
    gse59 = by_accession["GSE59"]
    assert gse59.title == "Human cancer cell lines"
    assert gse59.platforms == []
    assert gse59.n_samples is None


def test_text_is_repaired(by_accession: dict[str, model.Series]) -> None:
    summary = by_accession["GSE136644"].summary
    assert summary is not None
    assert "IFN-γ/STAT1 signaling" in summary
    assert "Î³" not in summary
    delbruck = by_accession["GSE151375"].summary
    assert delbruck is not None
    assert "Luria and Delbrück’s fluctuation analysis" in delbruck
    # Paragraph breaks in real summaries survive; whitespace runs do not.
    multi = [s for s in by_accession.values() if s.summary and "\n" in s.summary]
    assert len(multi) > 1000
    assert not any("  " in (s.summary or "") for s in by_accession.values())


def test_bad_lines_are_rejected_and_parsing_goes_on(tmp_path: Path) -> None:
    good = real_lines(4)
    no_accession = orjson.loads(good[1])
    del no_accession["accession"]
    sample_accession = orjson.loads(good[2])
    sample_accession["accession"] = "GSM53"
    lines = [
        good[0],  # 1
        good[1][: len(good[1]) // 2] + b"\n",  # 2: cut mid-object
        orjson.dumps(no_accession) + b"\n",  # 3
        b"\n",  # 4: blank, skipped silently
        orjson.dumps(sample_accession) + b"\n",  # 5
        b'["GSE1", "not an object"]\n',  # 6
        b'{"accession": "GSE0", "title": "zero is not an accession"}\n',  # 7
        good[3],  # 8
    ]
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(gzip.compress(b"".join(lines)))

    records = parse(path)
    rejected = of_type(records, model.Rejected)
    assert [(r.line, r.record) for r in rejected] == [
        (2, "GSE59"),  # the accession is still read from the broken text
        (3, None),
        (5, "GSM53"),
        (6, None),
        (7, "GSE0"),
    ]
    assert rejected[0].reason.startswith("invalid JSON")
    assert rejected[1].reason == "missing accession"
    assert "not a GEO series accession" in rejected[2].reason
    assert "expected a JSON object" in rejected[3].reason
    assert [s.accession for s in of_type(records, model.Series)] == ["GSE53", "GSE349"]


def test_odd_bytes_and_types_do_not_crash(tmp_path: Path) -> None:
    path = tmp_path / "odd.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"  # BOM
        b'{"accession": " GSE7 ", "title": "Caf\xe9 \xff", "organisms": "Homo sapiens",'
        b' "n_samples": "12", "geo_uid": 200000007, "platforms": ["GPL1", 2, null, ["x"]],'
        b' "pubmed_ids": ["123", "bad"], "release_date": "Jan 15 2017", "contributor": "Ann"}\n'
        b'{"accession": "GSE8", "n_samples": true, "types": {"a": 1}}\n'
    )
    gse7, link, gse8 = parse(path)
    assert isinstance(gse7, model.Series)
    assert gse7.accession == "GSE7"
    assert gse7.title == "Café ÿ"  # not UTF-8: decoded as cp1252 by Source
    assert gse7.organisms == ["Homo sapiens"]
    assert gse7.n_samples == 12
    assert gse7.geo_uid == "200000007"
    assert gse7.platforms == ["GPL1", "2"]
    assert gse7.pubmed_ids == ["123"]
    assert gse7.release_date == "2017-01-15"
    assert gse7.extra == {"contributor": ["Ann"]}
    assert link == model.Relationship("GSE7", "123", "primary", "geo_jsonl", 1.0)
    assert isinstance(gse8, model.Series)
    assert gse8.n_samples is None
    assert gse8.types == []


def test_streams() -> None:
    records = corpus_jsonl.parse(Source(JSONL))
    assert inspect.isgenerator(records)
    first = next(records)
    assert isinstance(first, model.Series)
    assert first.accession == "GSE53"
    records.close()


def test_truncated_gzip_raises_format_error(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(JSONL.read_bytes()[:50_000])
    records: list[model.Record] = []
    with pytest.raises(FormatError, match="truncated gzip"):
        records.extend(corpus_jsonl.parse(Source(path)))
    assert len(records) > 10  # what decompressed cleanly came out first


def test_sniff() -> None:
    assert corpus_jsonl.sniff(Source(JSONL).head(), JSONL.name)
    assert corpus_jsonl.sniff(b'\n\n{"accession": "GSE1"}\n', "x")
    assert not corpus_jsonl.sniff(b'{"title": "no accession"}\n', "x.jsonl")
    assert not corpus_jsonl.sniff(b"[1, 2]\n", "x.jsonl")
    browse = CORPUS / "geo_browse_series_2014.csv.gz"
    assert not corpus_jsonl.sniff(Source(browse).head(), browse.name)
    miniml = DATA / "miniml" / "GSE100007_family.xml"
    assert not corpus_jsonl.sniff(Source(miniml).head(), miniml.name)


def test_detected_among_all_formats() -> None:
    assert formats.detect(Source(JSONL)).name == "corpus_jsonl"
    assert formats.by_name("corpus_jsonl") is not None
