"""``sync geo --full``: each new or changed series' family SOFT file, from GEO's bulk files.

The series to fetch are queued in ``sync_pending`` by the batch that wrote them (same
transaction), so a kill loses none. Each file is downloaded to a temporary file under
the data directory, ingested as ``omicsoracle ingest`` would (its own transaction,
``--on-error skip``) and only then dequeued: a crash in between ingests it again next
time, which upserts make harmless. A file GEO does not have (404) is reported and
dequeued; any other failure stops the sync with the row still queued.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omicsoracle.ingest import OnError, ingest_file
from omicsoracle.sync.eutils import EutilsError

if TYPE_CHECKING:
    from omicsoracle.sync.geo import GeoSync, SyncOptions

DRAIN_PAGE = 100


def family_soft_url(ftp_url: str, accession: str) -> str:
    """``{ftp}series/GSE94nnn/GSE94489/soft/GSE94489_family.soft.gz`` (GSE1-999: GSEnnn)."""
    if not accession.startswith("GSE") or not accession[3:].isdigit():
        raise ValueError(f"not a series accession: {accession!r}")
    n = int(accession[3:])
    stem = f"GSE{n // 1000}nnn" if n >= 1000 else "GSEnnn"
    base = ftp_url if ftp_url.endswith("/") else ftp_url + "/"
    return f"{base}series/{stem}/{accession}/soft/{accession}_family.soft.gz"


def drain(sync: GeoSync, options: SyncOptions) -> dict[str, Any]:
    """Fetch and ingest every queued series; returns what happened."""
    from omicsoracle.sync.geo import PENDING_NAME

    del options  # every queued series is fetched, whatever --limit said of the windows
    done: dict[str, Any] = {"fetched": 0, "ingested": 0, "missing": [], "problems": []}
    work = sync.work_dir or Path(tempfile.gettempdir())
    work.mkdir(parents=True, exist_ok=True)
    while batch := sync.store.pending(PENDING_NAME, DRAIN_PAGE):
        for accession in batch:
            sync._check_stop()
            _one(sync, accession, work, done)
            # Dequeued once handled, whatever the outcome: a file that does not parse
            # would otherwise be fetched again on every run (its problems are reported).
            sync.store.drop_pending(PENDING_NAME, accession)
    return done


def _one(sync: GeoSync, accession: str, work: Path, done: dict[str, Any]) -> None:
    from omicsoracle.sync.geo import SyncError

    try:
        url = family_soft_url(sync.ftp_url, accession)
    except ValueError as exc:
        done["problems"].append({"accession": accession, "reason": str(exc)})
        return
    fd, name = tempfile.mkstemp(prefix=f"{accession}.", suffix=".soft.gz", dir=work)
    os.close(fd)
    path = Path(name)
    try:
        sync._calls += 1
        try:
            sync.client.download(url, path)
        except EutilsError as exc:
            if getattr(exc, "status", None) == 404:
                done["missing"].append(accession)
                done["problems"].append(
                    {"accession": accession, "url": url, "reason": "404 Not Found"}
                )
                sync.progress({"stage": "full", "accession": accession, "status": "missing"})
                return
            raise SyncError(str(exc)) from exc
        done["fetched"] += 1
        result = ingest_file(sync.store, path, on_error=OnError.SKIP)
        if result.status in ("ok", "partial"):
            done["ingested"] += 1
        for problem in result.problems[:20]:
            reason = str(problem).replace(str(path), url)
            done["problems"].append({"accession": accession, "url": url, "reason": reason})
        sync.progress(
            {
                "stage": "full",
                "accession": accession,
                "status": result.status,
                "fetched": done["fetched"],
            }
        )
    finally:
        path.unlink(missing_ok=True)
