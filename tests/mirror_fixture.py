"""A small GEO FTP mirror built from the real fixtures in tests/data (for ingest tests)."""

from __future__ import annotations

import gzip
import io
import shutil
import tarfile
from pathlib import Path

DATA = Path(__file__).parent / "data"


def _stage(root: Path, rel: str, source: Path | bytes) -> Path:
    target = root / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(source, bytes):
        target.write_bytes(source)
    else:
        shutil.copyfile(source, target)
    return target


def miniml_tgz(xml: Path) -> bytes:
    """GEO's MINiML packaging: a .tgz of the family XML plus per-sample tables."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(xml, arcname=xml.name)
        table = b"ID_REF\tVALUE\n1\t2.5\n"
        info = tarfile.TarInfo("GSM1-tbl-1.txt")
        info.size = len(table)
        tar.addfile(info, io.BytesIO(table))
    return buffer.getvalue()


def build_mirror(root: Path, *, broken: bool = True) -> Path:
    """The mirror layout of the issue, one real file per kind, and what must be skipped."""
    soft = DATA / "soft"
    for gse, bucket in (
        ("GSE87585", "GSE87nnn"),
        ("GSE93431", "GSE93nnn"),
        ("GSE94489", "GSE94nnn"),
    ):
        _stage(
            root, f"series/{bucket}/{gse}/soft/{gse}_family.soft.gz", soft / f"{gse}_family.soft.gz"
        )
    _stage(
        root,
        "series/GSE100nnn/GSE100007/miniml/GSE100007_family.xml.tgz",
        miniml_tgz(DATA / "miniml" / "GSE100007_family.xml"),
    )
    _stage(
        root,
        "series/GSE99nnn/GSE99709/matrix/GSE99709_series_matrix.txt.gz",
        DATA / "series_matrix" / "GSE99709_series_matrix.txt.gz",
    )
    _stage(root, "datasets/GDSnnn/GDS507/soft/GDS507.soft.gz", soft / "GDS507.soft.gz")
    if broken:
        _stage(root, "platforms/GPLnnn/GPL9/soft/GPL9_family.soft.gz", soft / "GPLbroken.soft.gz")
    # Raw data and other files: never read, counted.
    _stage(root, "series/GSE87nnn/GSE87585/suppl/GSE87585_RAW.tar", b"not a metadata file")
    _stage(root, "series/GSE87nnn/GSE87585/suppl/filelist.txt", b"#Archive/File\tName\n")
    _stage(root, "series/GSE87nnn/GSE87585/soft/README.txt", b"a note, not metadata\n")
    _stage(root, "series/GSE87nnn/.listing", b"hidden")
    return root


def synthetic_series(root: Path, count: int) -> list[Path]:
    """``count`` distinct family SOFT files: GSE87585's text under new series accessions."""
    text = gzip.decompress((DATA / "soft" / "GSE87585_family.soft.gz").read_bytes())
    out = []
    for i in range(count):
        gse = f"GSE{9_000_000 + i}"
        body = text.replace(b"GSE87585", gse.encode())
        rel = f"series/GSE9000nnn/{gse}/soft/{gse}_family.soft.gz"
        out.append(_stage(root, rel, gzip.compress(body, compresslevel=1)))
    return out
