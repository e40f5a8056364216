"""A GEO-mirror directory tree the size of GEO today, built from the real records.

    .venv/bin/python -m bench.geo_scale --size small OUT_DIR     # ~1/100: 2,500 series
    .venv/bin/python -m bench.geo_scale --size tenth OUT_DIR     # 25,000 series
    .venv/bin/python -m bench.geo_scale --size full OUT_DIR      # 250,000 series

Sizes (full): 250,000 series, ~7,500,000 samples, 25,000 platforms, 1,000,000 PubMed
articles; ``tenth`` and ``small`` divide every count by 10 and 100.

Layout (what GEO's FTP and H4's ``ingest --jobs N`` read)::

    series/GSE1000nnn/GSE1000123/soft/GSE1000123_family.soft.gz   ^SERIES + its ^SAMPLE blocks
    platforms/GPL100nnn/GPL100123/soft/GPL100123_family.soft.gz   ^PLATFORM, no table
    pubmed/pubmedscale{n:04d}.xml.gz                              30,000 articles a file
    probes.jsonl                                                  searchability probes
    manifest.json                                                 counts, seed, size

What is real and what is generated:

* Series text: series ``k`` copies title, summary, overall design, types, organisms
  and supplementary formats of real series ``k mod 42,129`` (data/corpus: the 7,599
  JSONL series with summaries and the GEO browse CSV rows), so term statistics and
  facet distributions are those of GEO; only accessions, dates and links are new.
* Samples: the blocks copy title, source name and characteristics lines of the real
  family-SOFT samples in tests/data/soft (GSE87585, GSE93431, GSE94489 and the
  Biopython family file: ~120 samples); the organism is the series'. Each sample adds
  two per-sample tokens as real submitters do (a replicate/individual label): its
  title ends with ``<code>t<j>`` and it has ``individual: donor <code>d<j>`` (``code`` = "zq" + the
  series number in 4 letters, ``j`` the sample number in 3 letters); these make the searchability probes exact.
  Protocol texts are left out (not indexed; they would only inflate the files).
* Samples per series: lognormal (mu = ln 12, sigma = 1.354): median 12, mean ~30,
  heavy tail capped at 5,000, drawn from a seeded RNG per chunk of series.
* Platforms: title, technology, distribution of the real ^PLATFORM blocks of those
  files, new GPL accessions. A series' platforms are derived from its real GPLs.
* Articles: the real ``PubmedArticle`` elements of tests/data/pubmed (2019 sample and
  the 2026 baseline files), with new PMIDs (from 50,000,001) and a new GEO
  ``DataBankList``. Article ``a`` belongs to series ``a mod n_series``; primary articles
  (``a < n_series``) are linked by the series' ``!Series_pubmed_id`` (70% of series),
  by the article's DataBankList (60%) or both; later articles cite one or two series
  in their DataBankList only (reanalyses).

Deterministic: the same ``--seed`` and size give byte-identical files (gzip mtime 0,
one RNG per chunk), whatever ``--jobs``. Streamed: a worker holds one chunk's text;
memory stays flat. Parallel over chunks with ``--jobs`` processes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import multiprocessing
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "data" / "corpus"
SOFT_DIR = REPO / "tests" / "data" / "soft"
PUBMED_DIR = REPO / "tests" / "data" / "pubmed"

SIZES = {"full": 1, "tenth": 10, "small": 100}
FULL = {"series": 250_000, "platforms": 25_000, "articles": 1_000_000}
SERIES_BASE = 1_000_000  # GSE1000001.. : above every real demo accession
SAMPLE_BASE = 10_000_000
PLATFORM_BASE = 100_000
PMID_BASE = 50_000_000
ARTICLES_PER_FILE = 30_000
SERIES_CHUNK = 500
MU, SIGMA, MAX_SAMPLES = math.log(12), 1.354, 5000
PROBE_EVERY = 50  # one probe sample per 50 series, plus the last sample of big series
SOFT_FILES = (
    "GSE87585_family.soft.gz",
    "GSE93431_family.soft.gz",
    "GSE94489_family.soft.gz",
    "biopython_soft_ex_family.txt",
)
PUBMED_FILES = ("pubmedsample_2019.xml.gz", "pubmed26n1334.xml.gz", "pubmed26n1335.xml.gz")
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@dataclass(frozen=True, slots=True)
class Plan:
    """Counts of one size."""

    series: int
    platforms: int
    articles: int
    seed: int


def plan_for(size: str, seed: int = 13) -> Plan:
    """The counts of ``size`` (full, tenth, small)."""
    div = SIZES[size]
    return Plan(FULL["series"] // div, FULL["platforms"] // div, FULL["articles"] // div, seed)


def letters(n: int, width: int) -> str:
    """``n`` as ``width`` base-26 lower-case letters (fixed width: tokens never collide)."""
    out = ""
    for _ in range(width):
        n, r = divmod(n, 26)
        out = chr(97 + r) + out
    return out


def gse(k: int) -> str:
    return f"GSE{SERIES_BASE + k + 1}"


def gpl(k: int) -> str:
    return f"GPL{PLATFORM_BASE + k + 1}"


def pmid(a: int) -> str:
    return str(PMID_BASE + a + 1)


def geo_dir(accession: str) -> str:
    """GEO's range directory: GSE1000123 -> GSE1000nnn, GSE12 -> GSEnnn."""
    prefix, digits = accession[:3], accession[3:]
    return f"{prefix}{digits[:-3]}nnn"


def series_pmid(k: int) -> str | None:
    """The series' own !Series_pubmed_id (70% of series): its primary article."""
    return pmid(k) if k % 10 < 7 else None


def databank_series(a: int, n_series: int) -> list[int]:
    """Series an article names in its GEO DataBankList."""
    s = a % n_series
    if a < n_series:
        return [s] if s % 10 >= 4 else []
    return [s, (s + 1) % n_series] if a % 3 == 0 else [s]


# ---------------------------------------------------------------- real templates


def _load_series() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    with gzip.open(CORPUS / "geo_series.jsonl.gz", "rt", encoding="utf-8") as fh:
        for line in fh:
            d = json.loads(line)
            seen.add(d["accession"])
            out.append({
                "title": " ".join((d.get("title") or "").split()), "summary": d.get("summary") or "",
                "design": d.get("overall_design") or "", "organisms": d.get("organisms") or [],
                "types": d.get("types") or [], "platforms": d.get("platforms") or [],
                "formats": d.get("supplementary_formats") or [],
            })  # fmt: skip
    with gzip.open(CORPUS / "geo_browse_series_2014.csv.gz", "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["Accession"] in seen:
                continue
            out.append({
                "title": row["Title"], "summary": "", "design": "",
                "organisms": [o.strip() for o in row["Taxonomy"].split(";") if o.strip()],
                "types": [t.strip() for t in row["Series Type"].split(";") if t.strip()],
                "platforms": [],
                "formats": [t.strip() for t in row["Supplementary Types"].split(";") if t.strip()],
            })  # fmt: skip
    return out


def _load_samples_platforms() -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    from omicsoracle import model
    from omicsoracle.formats import soft
    from omicsoracle.formats.source import Source

    samples: list[dict[str, Any]] = []
    platforms: list[dict[str, str]] = []
    for name in SOFT_FILES:
        for r in soft.parse(Source(SOFT_DIR / name)):
            if isinstance(r, model.Sample) and r.characteristics:
                samples.append({
                    "title": r.title or r.accession, "source": r.source_name or "",
                    "chars": [f"{k}: {v}" if k else v for k, v in r.characteristics],
                    "molecule": r.molecule or "total RNA",
                })  # fmt: skip
            elif isinstance(r, model.Platform):
                platforms.append({
                    "title": r.title or "", "technology": r.technology or "",
                    "distribution": r.distribution or "commercial",
                })  # fmt: skip
    return samples, platforms


def _load_articles() -> list[bytes]:
    """Real PubmedArticle elements with PMID placeholders and no DataBankList."""
    out: list[bytes] = []
    for name in PUBMED_FILES:
        with gzip.open(PUBMED_DIR / name, "rb") as fh:
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            root = etree.parse(fh, parser).getroot()
        for art in root.iter("PubmedArticle"):
            for dbl in art.iter("DataBankList"):
                dbl.getparent().remove(dbl)
            art.find("MedlineCitation/PMID").text = "@PMID@"
            for aid in art.iter("ArticleId"):
                if aid.get("IdType") == "pubmed":
                    aid.text = "@PMID@"
            for ref in art.iter("ReferenceList"):
                ref.getparent().remove(ref)  # citations would name real PMIDs
            art.tail = None
            xml = etree.tostring(art, encoding="unicode")
            if "</Article>" in xml:
                out.append(xml.encode("utf-8"))
    return out


_T: dict[str, Any] = {}


def _templates() -> dict[str, Any]:
    if not _T:
        _T["series"] = _load_series()
        _T["samples"], _T["platforms"] = _load_samples_platforms()
        _T["articles"] = _load_articles()
    return _T


# ---------------------------------------------------------------- writers


def _gz(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=1, mtime=0) as fh,
    ):
        fh.write(data)


def _date(k: int, n: int) -> tuple[str, str]:
    """Submission and public dates spread over 2001..2026 by series order."""
    day = int(k / max(n, 1) * 25 * 365)
    y, rest = divmod(day, 365)
    m, d = min(rest // 31, 11), rest % 28 + 1
    pub_m = (m + 2) % 12
    return (
        f"{_MONTHS[m]} {d:02d} {2001 + y}",
        f"{_MONTHS[pub_m]} {d:02d} {2001 + y + (m + 2) // 12}",
    )


def _platforms_of(tmpl: dict[str, Any], k: int, n_platforms: int) -> list[int]:
    names = tmpl["platforms"] or [str(k % 97)]
    return [(hash_str(p) + k // 10_000) % n_platforms for p in names[:3]]


def hash_str(s: str) -> int:
    """A stable string hash (Python's hash() is salted per process)."""
    h = 2166136261
    for ch in s.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h


def sample_count(rng: random.Random) -> int:
    return max(1, min(MAX_SAMPLES, round(rng.lognormvariate(MU, SIGMA))))


def _paragraphs(key: str, text: str | None) -> list[str]:
    """One SOFT line per paragraph, as GEO writes a multi-paragraph summary: a value
    line never holds a newline (the corpus' JSONL summaries do)."""
    parts = [p.strip() for p in (text or "").splitlines()]
    return [f"{key} = {p}" for p in parts if p]


def _chunk_rng(plan: Plan, chunk: int) -> random.Random:
    return random.Random(plan.seed * 1_000_003 + chunk)


def chunk_samples(plan: Plan, chunk: int) -> int:
    """Samples of a series chunk: its RNG's draws replayed (count, then the probe pick)."""
    rng, total = _chunk_rng(plan, chunk), 0
    for k in range(chunk * SERIES_CHUNK, min(plan.series, (chunk + 1) * SERIES_CHUNK)):
        n = sample_count(rng)
        if k % PROBE_EVERY == 0:
            rng.randrange(n)
        total += n
    return total


def sample_offsets(plan: Plan) -> list[int]:
    """The first GSM number of each series chunk. GSM numbers are consecutive over the
    corpus, as GEO's are (7.5M samples end at GSM17507334): a fixed block of 5,000
    numbers per series ran past GEO's 9 digits at series 198,000, and the ingest
    rightly rejected those accessions."""
    offsets, first = [], SAMPLE_BASE
    for chunk in range(math.ceil(plan.series / SERIES_CHUNK)):
        offsets.append(first)
        first += chunk_samples(plan, chunk)
    return offsets


def series_chunk(
    out: Path, plan: Plan, chunk: int, first: int
) -> tuple[int, int, list[dict[str, Any]]]:
    """Write series ``chunk*SERIES_CHUNK ..``, their samples numbered from GSM``first``;
    returns (series, samples, probes)."""
    t = _templates()
    rng = _chunk_rng(plan, chunk)
    lo, hi = chunk * SERIES_CHUNK, min(plan.series, (chunk + 1) * SERIES_CHUNK)
    n_samples_total = 0
    probes: list[dict[str, Any]] = []
    for k in range(lo, hi):
        tmpl = t["series"][k % len(t["series"])]
        acc, code = gse(k), "zq" + letters(k, 4)
        n = sample_count(rng)
        sub, public = _date(k, plan.series)
        organism = (tmpl["organisms"] or ["Homo sapiens"])[0]
        plats = [gpl(p) for p in _platforms_of(tmpl, k, plan.platforms)]
        lines = [
            "^DATABASE = GeoMiame", "!Database_name = Gene Expression Omnibus (GEO)",
            f"^SERIES = {acc}", f"!Series_title = {tmpl['title']}",
            f"!Series_geo_accession = {acc}", f"!Series_status = Public on {public}",
            f"!Series_submission_date = {sub}", f"!Series_last_update_date = {public}",
        ]  # fmt: skip
        pm = series_pmid(k)
        if pm:
            lines.append(f"!Series_pubmed_id = {pm}")
        lines += _paragraphs("!Series_summary", tmpl["summary"])
        lines += _paragraphs("!Series_overall_design", tmpl["design"])
        lines += [f"!Series_type = {x}" for x in tmpl["types"]]
        lines += [f"!Series_sample_id = GSM{first + j}" for j in range(n)]
        lines += [f"!Series_platform_id = {p}" for p in plats]
        lines += [f"!Series_sample_organism = {o}" for o in tmpl["organisms"][:3]]
        ftp = f"ftp://ftp.ncbi.nlm.nih.gov/geo/series/{geo_dir(acc)}/{acc}/suppl"
        lines += [f"!Series_supplementary_file = {ftp}/{acc}_RAW.{f.lower()}.gz"
                  for f in tmpl["formats"][:4]]  # fmt: skip
        pick = rng.randrange(n) if k % PROBE_EVERY == 0 else None
        for j in range(n):
            s = t["samples"][(k * 7 + j) % len(t["samples"])]
            gsm = f"GSM{first + j}"
            title = f"{s['title']} {code}t{letters(j, 3)}"
            lines += [
                f"^SAMPLE = {gsm}", f"!Sample_title = {title}",
                f"!Sample_geo_accession = {gsm}", f"!Sample_status = Public on {public}",
                f"!Sample_submission_date = {sub}", "!Sample_type = SRA",
                "!Sample_channel_count = 1", f"!Sample_source_name_ch1 = {s['source']}",
                f"!Sample_organism_ch1 = {organism}",
            ]  # fmt: skip
            lines += [f"!Sample_characteristics_ch1 = {c}" for c in s["chars"]]
            lines += [
                f"!Sample_characteristics_ch1 = individual: donor {code}d{letters(j, 3)}",
                f"!Sample_molecule_ch1 = {s['molecule']}",
                f"!Sample_platform_id = {plats[j % len(plats)]}",
                f"!Sample_series_id = {acc}", "!Sample_data_row_count = 0",
            ]  # fmt: skip
            if j == pick or (n >= 200 and j == n - 1 and k % 5 == 0):
                probes.append({
                    "series": acc, "n_samples": n, "sample_index": j, "gsm": gsm,
                    "title_word": f"{code}t{letters(j, 3)}",
                    "characteristic": f"{code}d{letters(j, 3)}",
                })  # fmt: skip
        path = out / "series" / geo_dir(acc) / acc / "soft" / f"{acc}_family.soft.gz"
        _gz(path, ("\n".join(lines) + "\n").encode("utf-8"))
        n_samples_total += n
        first += n
    return hi - lo, n_samples_total, probes


def platform_chunk(out: Path, plan: Plan, chunk: int) -> int:
    t = _templates()["platforms"]
    lo, hi = chunk * SERIES_CHUNK, min(plan.platforms, (chunk + 1) * SERIES_CHUNK)
    for k in range(lo, hi):
        p, acc = t[k % len(t)], gpl(k)
        sub, public = _date(k, plan.platforms)
        text = (
            f"^PLATFORM = {acc}\n!Platform_title = {p['title']}\n"
            f"!Platform_geo_accession = {acc}\n!Platform_status = Public on {public}\n"
            f"!Platform_submission_date = {sub}\n!Platform_technology = {p['technology']}\n"
            f"!Platform_distribution = {p['distribution']}\n!Platform_data_row_count = 0\n"
        )
        _gz(out / "platforms" / geo_dir(acc) / acc / "soft" / f"{acc}_family.soft.gz",
            text.encode("utf-8"))  # fmt: skip
    return hi - lo


def article_file(out: Path, plan: Plan, index: int) -> int:
    arts = _templates()["articles"]
    lo, hi = index * ARTICLES_PER_FILE, min(plan.articles, (index + 1) * ARTICLES_PER_FILE)
    buf = io.BytesIO()
    buf.write(b'<?xml version="1.0" encoding="utf-8"?>\n<PubmedArticleSet>\n')
    for a in range(lo, hi):
        xml = arts[a % len(arts)].replace(b"@PMID@", pmid(a).encode())
        linked = databank_series(a, plan.series)
        if linked:
            accs = "".join(f"<AccessionNumber>{gse(s)}</AccessionNumber>" for s in linked)
            bank = (
                '<DataBankList CompleteYN="Y"><DataBank><DataBankName>GEO</DataBankName>'
                f"<AccessionNumberList>{accs}</AccessionNumberList></DataBank></DataBankList>"
            ).encode()
            xml = xml.replace(b"</Article>", bank + b"</Article>", 1)
        buf.write(xml)
        buf.write(b"\n")
    buf.write(b"</PubmedArticleSet>\n")
    _gz(out / "pubmed" / f"pubmedscale{index + 1:04d}.xml.gz", buf.getvalue())
    return hi - lo


def _task(args: tuple[str, str, Plan, int, int]) -> tuple[str, Any]:
    kind, out, plan, i, first = args
    if kind == "series":
        return kind, series_chunk(Path(out), plan, i, first)
    if kind == "platforms":
        return kind, platform_chunk(Path(out), plan, i)
    return kind, article_file(Path(out), plan, i)


def tasks(out: Path, plan: Plan) -> Iterator[tuple[str, str, Plan, int, int]]:
    for i in range(math.ceil(plan.platforms / SERIES_CHUNK)):
        yield "platforms", str(out), plan, i, 0
    for i, first in enumerate(sample_offsets(plan)):
        yield "series", str(out), plan, i, first
    for i in range(math.ceil(plan.articles / ARTICLES_PER_FILE)):
        yield "articles", str(out), plan, i, 0


def generate(out: Path, plan: Plan, jobs: int = 2, log: Any = None) -> dict[str, Any]:
    """Write the tree under ``out``; returns the manifest (also written to manifest.json)."""
    out.mkdir(parents=True, exist_ok=True)
    counts = {"series": 0, "samples": 0, "platforms": 0, "articles": 0}
    started = time.perf_counter()
    with (out / "probes.jsonl").open("w", encoding="utf-8") as probes:
        if jobs > 1:
            pool = multiprocessing.get_context("fork").Pool(jobs)
            results: Iterator[tuple[str, Any]] = pool.imap(_task, tasks(out, plan))
        else:
            pool = None
            results = map(_task, tasks(out, plan))
        try:
            for done, (kind, value) in enumerate(results, 1):
                if kind == "series":
                    counts["series"] += value[0]
                    counts["samples"] += value[1]
                    for p in value[2]:
                        probes.write(json.dumps(p) + "\n")
                else:
                    counts[kind] += value
                if log is not None and done % 20 == 0:
                    print(f"  {counts} {time.perf_counter() - started:.0f} s", file=log, flush=True)
        finally:
            if pool is not None:
                pool.close()
                pool.join()
    manifest = {**counts, "seed": plan.seed, "seconds": round(time.perf_counter() - started, 1)}
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out", type=Path)
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    manifest = generate(args.out, plan_for(args.size, args.seed), args.jobs, log=sys.stderr)
    print(json.dumps(manifest))


if __name__ == "__main__":
    main()
