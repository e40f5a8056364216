"""Walking the inputs of ``ingest``: plain files, plain directories and GEO FTP mirrors.

A mirror is a directory laid out like GEO's FTP site::

    series/GSEnnn/GSE12345/soft/GSE12345_family.soft.gz
    series/GSEnnn/GSE12345/miniml/GSE12345_family.xml.tgz
    series/GSEnnn/GSE12345/matrix/GSE12345_series_matrix.txt.gz (and -GPLxxx_ variants)
    platforms/GPLnnn/GPL570/soft/GPL570_family.soft.gz
    datasets/GDSnnn/GDS507/soft/GDS507.soft.gz

In a mirror only metadata files are read; ``suppl/`` folders (raw CEL/FASTQ/tar data)
are never entered, and any other file is counted as not metadata instead of failing.
The walk is lazy (``os.scandir``, each directory sorted on its own) so 250k series
folders never become one list, and the order is still deterministic.
A directory that is not a mirror is walked as before: every non-hidden file, sorted.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MIRROR_ROOTS = ("series", "platforms", "datasets")
RAW_DIRS = frozenset({"suppl"})
METADATA_NAME = re.compile(
    r"""^(?:
        G(?:SE|PL)\d+_family\.soft(?:\.gz)?
      | GDS\d+(?:_full)?\.soft(?:\.gz)?
      | GSE\d+_family\.xml(?:\.tgz)?
      | GSE\d+(?:-GPL\d+)?_series_matrix\.txt(?:\.gz)?
    )$""",
    re.VERBOSE,
)


@dataclass(slots=True)
class WalkCounts:
    """What a walk passed over without yielding it."""

    not_metadata: int = 0  # files in a mirror that are no metadata format
    raw_dirs: int = 0  # suppl/ folders skipped unread

    def as_dict(self) -> dict[str, int]:
        return {"not_metadata": self.not_metadata, "raw_dirs": self.raw_dirs}


def is_mirror(path: Path) -> bool:
    """Whether ``path`` is a GEO FTP mirror root (has series/, platforms/ or datasets/)."""
    return any((path / name).is_dir() for name in MIRROR_ROOTS)


def walk(paths: Iterable[Path], counts: WalkCounts | None = None) -> Iterator[Path]:
    """Every file to ingest under ``paths``, lazily, in a deterministic order."""
    counts = counts if counts is not None else WalkCounts()
    for path in paths:
        if not path.is_dir():
            yield path
        elif is_mirror(path):
            yield from _walk_mirror(path, counts)
        else:
            yield from (
                p for p in sorted(path.rglob("*")) if p.is_file() and not p.name.startswith(".")
            )


def _walk_mirror(root: Path, counts: WalkCounts) -> Iterator[Path]:
    with os.scandir(root) as it:
        entries = sorted(it, key=lambda e: e.name)
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            if entry.name in RAW_DIRS:
                counts.raw_dirs += 1
                continue
            yield from _walk_mirror(Path(entry.path), counts)
        elif entry.is_file():
            if METADATA_NAME.match(entry.name):
                yield Path(entry.path)
            else:
                counts.not_metadata += 1


def count_files(paths: Iterable[Path]) -> int:
    """How many files :func:`walk` will yield (a cheap pre-pass for the ETA)."""
    return sum(1 for _ in walk(paths))
