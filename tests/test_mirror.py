"""Walking a GEO FTP mirror, and MINiML .tgz streamed out of its tar."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from mirror_fixture import DATA, build_mirror, miniml_tgz
from omicsoracle.formats import detect
from omicsoracle.formats.source import FormatError, Source
from omicsoracle.mirror import WalkCounts, count_files, is_mirror, walk


def test_mirror_walk_reads_only_metadata_in_order(tmp_path: Path) -> None:
    root = build_mirror(tmp_path / "mirror")
    counts = WalkCounts()
    names = [p.relative_to(root).as_posix() for p in walk([root], counts)]
    assert names == [
        "datasets/GDSnnn/GDS507/soft/GDS507.soft.gz",
        "platforms/GPLnnn/GPL9/soft/GPL9_family.soft.gz",
        "series/GSE100nnn/GSE100007/miniml/GSE100007_family.xml.tgz",
        "series/GSE87nnn/GSE87585/soft/GSE87585_family.soft.gz",
        "series/GSE93nnn/GSE93431/soft/GSE93431_family.soft.gz",
        "series/GSE94nnn/GSE94489/soft/GSE94489_family.soft.gz",
        "series/GSE99nnn/GSE99709/matrix/GSE99709_series_matrix.txt.gz",
    ]
    # suppl/ is never entered (its two files are not even counted); README.txt is counted.
    assert counts.as_dict() == {"not_metadata": 1, "raw_dirs": 1}
    assert count_files([root]) == len(names)


def test_plain_directory_walk_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.soft").write_text("x")
    (tmp_path / ".hidden").write_text("x")
    assert not is_mirror(tmp_path)
    assert [p.name for p in walk([tmp_path])] == ["b.txt", "a.soft"]
    # A plain file given directly is yielded whatever its name.
    assert list(walk([tmp_path / "b.txt"])) == [tmp_path / "b.txt"]


def test_matrix_per_platform_names_are_metadata(tmp_path: Path) -> None:
    matrix = tmp_path / "series" / "GSE1nnn" / "GSE1000" / "matrix"
    matrix.mkdir(parents=True)
    for name in ("GSE1000-GPL570_series_matrix.txt.gz", "GSE1000_series_matrix.txt.gz", "x.CEL.gz"):
        (matrix / name).write_bytes(b"")
    counts = WalkCounts()
    assert [p.name for p in walk([tmp_path], counts)] == [
        "GSE1000-GPL570_series_matrix.txt.gz",
        "GSE1000_series_matrix.txt.gz",
    ]
    assert counts.not_metadata == 1


def test_miniml_tgz_streams_the_xml_member(tmp_path: Path) -> None:
    xml = DATA / "miniml" / "GSE100007_family.xml"
    tgz = tmp_path / "GSE100007_family.xml.tgz"
    tgz.write_bytes(miniml_tgz(xml))
    packed, plain = Source(tgz), Source(xml)
    assert detect(packed).name == "geo_miniml"
    assert list(detect(packed).parse(packed)) == list(detect(plain).parse(plain))


def test_tgz_without_xml_is_a_format_error(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("GSM1-tbl-1.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"1\t2"))
    path = tmp_path / "GSE1_family.xml.tgz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(FormatError, match=r"no \.xml member"):
        Source(path).head()


def test_truncated_tgz_is_a_format_error(tmp_path: Path) -> None:
    data = miniml_tgz(DATA / "miniml" / "GSE100007_family.xml")
    path = tmp_path / "GSE100007_family.xml.tgz"
    path.write_bytes(data[: len(data) // 2])
    source = Source(path)
    with pytest.raises(FormatError, match=r"truncated gzip|corrupt"):
        list(detect(source).parse(source))
