"""The ``omicsoracle`` command line."""

from __future__ import annotations

import os
import shutil
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    Progress,
    ProgressColumn,
    SpinnerColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from omicsoracle.config import Settings
from omicsoracle.indexer import CatchUp
from omicsoracle.ingest import FileResult, OnError
from omicsoracle.memory import limit_arenas
from omicsoracle.runtime import Runtime
from omicsoracle.search.base import (
    CursorExpired,
    InvalidCursor,
    SearchFilters,
    SearchRequest,
)

if TYPE_CHECKING:
    from omicsoracle.ingest_parallel import CleanFiles

app = typer.Typer(
    name="omicsoracle",
    help="Search and analysis for NCBI GEO datasets and their PubMed articles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
bench_app = typer.Typer(help="Benchmarks (run from a source checkout).", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(bench_app, name="bench")
bus_app = typer.Typer(help="The agent pipeline's message bus (Redis).", no_args_is_help=True)
app.add_typer(bus_app, name="bus")
analyze_app = typer.Typer(help="Statistics on a dataset's expression values.", no_args_is_help=True)
app.add_typer(analyze_app, name="analyze")
sync_app = typer.Typer(help="Keep the store current with NCBI.", no_args_is_help=True)
app.add_typer(sync_app, name="sync")

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)


def _settings() -> Settings:
    return Settings()


def _print_json(value: Any) -> None:
    sys.stdout.write(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode() + "\n")


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:,.0f} records/s" if speed else "", style="cyan")


@app.command()
def ingest(
    paths: Annotated[
        list[Path], typer.Argument(help="Files, directories or a GEO FTP mirror to ingest.")
    ],
    on_error: Annotated[
        OnError,
        typer.Option("--on-error", help="abort: reject the whole file; skip: keep the rest"),
    ] = OnError.ABORT,
    skip_seen: Annotated[
        bool,
        typer.Option(
            "--skip-seen",
            help="Skip files already ingested cleanly (same size and mtime, or same sha256).",
        ),
    ] = False,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs", "-j", min=1, help="Parser processes feeding the writer (default: cores)."
        ),
    ] = None,
    no_index: Annotated[
        bool,
        typer.Option(
            "--no-index",
            help="Only write the store; the search index catches up on its next open (bulk loads).",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the per-file report as JSON.")
    ] = False,
) -> None:
    """Ingest GEO and PubMed files (format detected from content, gzip transparent)."""
    from omicsoracle.ingest_parallel import IngestReport, default_jobs, run_ingest
    from omicsoracle.mirror import count_files

    limit_arenas()  # bulk indexing: one malloc arena keeps the native heap flat
    settings = _settings()
    workers = jobs if jobs is not None else default_jobs()
    _term_stops_cleanly()
    with Runtime.open(settings, catch_up_index=False) as rt:
        show_bar = err.is_terminal and not as_json
        report: IngestReport
        if show_bar:
            with Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                TextColumn("{task.completed:,}{task.fields[of]}"),
                _RateColumn(),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=err,
                transient=False,
            ) as bar:
                records = bar.add_task("records", total=None, of="")
                total = count_files(paths)  # a scandir pass: no file is opened
                files = bar.add_task("files", total=total, of=f" / {total:,}")
                report = run_ingest(
                    rt.store,
                    paths,
                    on_error=on_error,
                    batch_size=settings.ingest_batch_size,
                    progress=lambda n: bar.advance(records, n),
                    skip_seen=skip_seen,
                    jobs=workers,
                    on_file=lambda _: bar.advance(files, 1),
                    keep_clean=CLEAN_LISTED,
                )
        else:
            report = run_ingest(
                rt.store,
                paths,
                on_error=on_error,
                batch_size=settings.ingest_batch_size,
                skip_seen=skip_seen,
                jobs=workers,
                # --json reports every file; the text report lists the first clean ones.
                keep_clean=None if as_json else CLEAN_LISTED,
            )
        results = report.files
        # The enrichment step (issue 6): entities of what this ingest wrote. Before the
        # index catch-up, so the new series are indexed with their facets in one pass.
        enriched = None
        if report.more_clean.files or any(r.ok for r in results):
            try:
                enriched = _enrich(rt, full=False, jobs=workers)
            except Exception as exc:  # the ingest stands; the index must still catch up
                err.print(
                    f"[red]enrichment failed[/red]: {escape(str(exc))} (rerun `omicsoracle enrich`)"
                )
        fed = CatchUp() if no_index else rt.catch_up()
    if as_json:
        _print_json(
            {
                "files": [r.as_dict() for r in results],
                "indexed": fed.documents,
                "skipped": sum(r.status == "skipped" for r in results),
                **report.walk.as_dict(),
            }
        )
    else:
        _report_files(results)
        _report_more_clean(report.more_clean)
        if report.walk.not_metadata or report.walk.raw_dirs:
            err.print(
                f"[dim]mirror: {report.walk.not_metadata:,} files that are no metadata format "
                f"and {report.walk.raw_dirs:,} suppl/ folders (raw data) not read[/dim]"
            )
        if no_index:
            err.print("search index not updated (--no-index): it catches up on its next open")
        else:
            err.print(f"search index: {fed.documents:,} documents written")
        if enriched is not None:
            err.print(
                f"entities: {enriched['entities']:,} from {sum(enriched['records'].values()):,} records"
            )
    if any(not r.ok for r in results):
        raise typer.Exit(code=1)


def _term_stops_cleanly() -> None:
    """SIGTERM stops an ingest like Ctrl-C: the current file's transaction rolls back."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


# A mirror pass with --skip-seen skips most files: list at most this many of them.
SKIPPED_LISTED = 50
# A mirror is ~275,000 files: the text report lists this many clean ones, then their
# sums (files with problems are always listed).
CLEAN_LISTED = 200


def _report_files(results: list[FileResult]) -> None:
    skipped = 0
    for r in results:
        if r.status == "skipped":
            skipped += 1
            if skipped > SKIPPED_LISTED:
                continue
        _report_file(r)
    if skipped > SKIPPED_LISTED:
        err.print(f"[dim]... and {skipped - SKIPPED_LISTED:,} more already ingested[/dim]")


def _report_more_clean(more: CleanFiles) -> None:
    if not more.files:
        return
    err.print(
        f"[green]ok[/green] ... and {more.files:,} more files "
        + (f"({more.skipped:,} already ingested, skipped) " if more.skipped else "")
        + f"with {more.records:,} records in {more.seconds:,.1f} s; {_written(more.written)}"
    )


def _written(written: dict[str, dict[str, int]]) -> str:
    """ "N new, M changed, K unchanged" of a file's (or files') write counts."""
    new = sum((written.get("inserted") or {}).values())
    changed = sum((written.get("updated") or {}).values())
    same = sum((written.get("unchanged") or {}).values())
    return f"{new:,} new, {changed:,} changed, {same:,} unchanged"


def _report_file(r: FileResult) -> None:
    if r.status == "skipped":
        err.print(f"[dim]{escape(str(r.path))}: already ingested, skipped[/dim]")
        return
    style = {"ok": "green", "partial": "yellow"}.get(r.status, "red")
    err.print(
        f"[{style}]{r.status}[/{style}] {escape(str(r.path))} ({r.format or 'unknown format'}): "
        f"{r.records:,} records in {r.seconds:.1f} s; {_written(r.written or {})}"
    )
    for problem in r.problems[:50]:
        err.print(f"  [red]error[/red] {escape(str(problem))}", markup=True)
    if len(r.problems) > 50:
        err.print(f"  ... and {len(r.problems) - 50} more")
    if r.status == "aborted":
        err.print("  nothing from this file was stored (--on-error abort); use --on-error skip")


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help='Plain words, "phrases", -exclusions, field:filters.')
    ],
    limit: Annotated[int, typer.Option(min=1, max=100)] = 20,
    cursor: Annotated[str | None, typer.Option(help="next_cursor of the previous page")] = None,
    organism: Annotated[list[str] | None, typer.Option(help="e.g. human, 'Mus musculus'")] = None,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="e.g. rna-seq, microarray")
    ] = None,
    platform: Annotated[list[str] | None, typer.Option(help="GPL accession")] = None,
    min_samples: Annotated[int | None, typer.Option(min=0)] = None,
    max_samples: Annotated[int | None, typer.Option(min=0)] = None,
    year_from: Annotated[int | None, typer.Option()] = None,
    year_to: Annotated[int | None, typer.Option()] = None,
    raw_data: Annotated[list[str] | None, typer.Option(help="CEL, FASTQ, ...")] = None,
    disease: Annotated[list[str] | None, typer.Option(help="extracted disease")] = None,
    tissue: Annotated[list[str] | None, typer.Option(help="extracted tissue")] = None,
    cell_type: Annotated[list[str] | None, typer.Option(help="extracted cell type")] = None,
    cell_line: Annotated[list[str] | None, typer.Option(help="extracted cell line")] = None,
    gene: Annotated[list[str] | None, typer.Option(help="gene symbol")] = None,
    characteristic: Annotated[
        list[str] | None, typer.Option(help="sample characteristic 'key: value' or a key")
    ] = None,
    sort: Annotated[str, typer.Option(help="relevance | date | samples")] = "relevance",
    literal: Annotated[
        bool, typer.Option("--literal", help="Words as typed: no synonyms or filters from words")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Search GEO series (the query is understood: synonyms, abbreviations, filters from
    words such as "human" or "at least 20 samples"; --literal turns that off)."""
    if sort not in ("relevance", "date", "samples"):
        err.print("error: --sort must be relevance, date or samples")
        raise typer.Exit(code=2)
    request = SearchRequest(
        query=query,
        limit=limit,
        cursor=cursor,
        sort=sort,  # type: ignore[arg-type]
        literal=literal,
        filters=SearchFilters.build(
            organism=organism,
            type=type_,
            platform=platform,
            min_samples=min_samples,
            max_samples=max_samples,
            year_from=year_from,
            year_to=year_to,
            raw_data=raw_data,
            disease=disease,
            tissue=tissue,
            cell_type=cell_type,
            cell_line=cell_line,
            gene=gene,
            characteristic=characteristic,
        ),
    )
    with Runtime.open(_settings()) as rt:
        try:
            response = rt.search(request).to_dict()
        except (CursorExpired, InvalidCursor) as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(code=2) from exc
    if as_json:
        _print_json(response)
        return
    _print_results(response)


def _print_results(response: dict[str, Any]) -> None:
    total = response["total"]
    out.print(f"[bold]{total:,}[/bold] series match [italic]{escape(response['query'])}[/italic]")
    shown = (response.get("understood") or {}).get("display")
    if shown and shown != response["query"]:
        out.print(Text("searching for: ", style="dim") + Text(shown))
    if response.get("did_you_mean"):
        out.print(f"did you mean: [bold]{escape(response['did_you_mean'])}[/bold]?")
    for hit in response["results"]:
        head = Text()
        head.append(hit["accession"], style="bold cyan")
        head.append("  " + (hit["title"] or ""), style="bold")
        out.print(head)
        meta = " · ".join(
            x
            for x in (
                ", ".join(hit["organisms"]),
                ", ".join(hit["types"]),
                f"{hit['n_samples']} samples" if hit["n_samples"] else "",
                hit["release_date"] or "",
                ("PMID " + ", ".join(hit["pubmed_ids"][:3])) if hit["pubmed_ids"] else "",
            )
            if x
        )
        out.print(Text(meta, style="dim"))
        snippet = Text(hit["snippet"]["text"])
        for start, end in hit["snippet"]["highlights"]:
            snippet.stylize("bold yellow", start, end)
        out.print(snippet)
        out.print()
    for name, buckets in (response.get("facets") or {}).items():
        if buckets:
            values = " · ".join(f"{b['value']} ({b['count']:,})" for b in buckets[:6])
            out.print(Text(f"{name}: ", style="dim") + Text(values))
    if response.get("next_cursor"):
        out.print(f"next page: --cursor {response['next_cursor']}")


@app.command()
def show(
    identifier: Annotated[str, typer.Argument(help="GSE/GSM/GPL/GDS accession or PubMed ID")],
    samples: Annotated[int, typer.Option(help="Samples to list for a series.", min=0)] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print one record with its samples and publications."""
    with Runtime.open(_settings(), catch_up_index=False) as rt:
        try:
            record = rt.store.get(identifier, sample_limit=samples)
        except ValueError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(code=2) from exc
    if record is None:
        err.print(f"error: {identifier} is not in the store")
        raise typer.Exit(code=1)
    if as_json:
        _print_json(record)
        return
    _print_record(record)


def _print_record(record: dict[str, Any]) -> None:
    key = record.get("accession") or f"PMID {record.get('pmid')}"
    out.print(
        f"[bold cyan]{key}[/bold cyan] ({record['record_type']})  [bold]{escape(record.get('title') or '')}[/bold]"
    )
    skip = {
        "record_type",
        "title",
        "accession",
        "pmid",
        "extra",
        "samples",
        "samples_page",
        "publications",
        "series_links",
        "subsets_detail",
        "subsets",
        "datasets_detail",
        "table",
        "authors",
        "mesh",
        "columns",
        "characteristics",
    }
    for name, value in record.items():
        if name in skip or value in (None, "", [], {}):
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        out.print(f"[dim]{name}:[/dim] {escape(str(value))}")
    if record.get("authors"):
        names = [
            a.get("collective") or f"{a.get('last_name')} {a.get('initials') or ''}".strip()
            for a in record["authors"]
        ]
        out.print(f"[dim]authors:[/dim] {escape(', '.join(names))}")
    if record.get("mesh"):
        out.print(
            "[dim]MeSH:[/dim] "
            + escape(
                "; ".join(m["descriptor"] + ("*" if m.get("major") else "") for m in record["mesh"])
            )
        )
    if record.get("characteristics"):
        out.print(
            "[dim]characteristics:[/dim] "
            + escape("; ".join(f"{k}: {v}" if k else v for k, v in record["characteristics"]))
        )
    page = record.get("samples_page")
    if page and page["items"]:
        table = Table(title=f"samples ({page['total']})")
        table.add_column("accession")
        table.add_column("title")
        table.add_column("characteristics")
        for s in page["items"]:
            chars = "; ".join(f"{k}: {v}" if k else v for k, v in s["characteristics"][:4])
            # Text cells: record text is data, never Rich markup.
            table.add_row(s["accession"], Text(s.get("title") or ""), Text(chars))
        out.print(table)
    links = record.get("publications") or record.get("series_links") or []
    if links:
        table = Table(title="linked")
        for col in ("series", "pmid", "relation", "source", "confidence", "title"):
            table.add_column(col)
        for link in links:
            table.add_row(
                link["series"],
                link["pmid"],
                link["relation"],
                link["source"],
                f"{link['confidence']:.2f}",
                Text(link.get("title") or ""),
            )
        out.print(table)
    if record.get("subsets_detail"):
        table = Table(title="subsets")
        for col in ("id", "type", "description", "samples"):
            table.add_column(col)
        for s in record["subsets_detail"]:
            table.add_row(s["id"], s["type"], Text(s["description"]), str(len(s["samples"])))
        out.print(table)
    if record.get("table"):
        t = record["table"]
        out.print(f"[dim]data table:[/dim] {t['rows']:,} rows × {len(t['columns'])} columns")


@app.command()
def stats(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Count of each record type and the time of the last ingest."""
    with Runtime.open(_settings(), catch_up_index=False) as rt:
        data = rt.store.stats()
        data["index"] = {
            "engine": rt.settings.search_engine,
            "documents": rt.index.doc_count(),
            "applied_change_id": rt.index.applied_change_id(),
            "store_change_id": rt.store.max_change_id(),
        }
    if as_json:
        _print_json(data)
        return
    table = Table(title="OmicsOracle store")
    table.add_column("record type")
    table.add_column("count", justify="right")
    for name, count in data["counts"].items():
        table.add_row(name, f"{count:,}")
    out.print(table)
    out.print(f"last ingest: {data['last_ingest'] or 'never'}")
    idx = data["index"]
    out.print(
        f"search index ({idx['engine']}): {idx['documents']:,} documents, "
        f"change {idx['applied_change_id']} of {idx['store_change_id']}"
    )


def _enrich(rt: Runtime, *, full: bool, jobs: int | None = None) -> dict[str, Any]:
    from omicsoracle.extraction.store import enrich as run_enrich
    from omicsoracle.ingest_parallel import default_jobs

    workers = jobs if jobs is not None else default_jobs()
    return run_enrich(rt.store, full=full, upgrade=True, jobs=workers).as_dict()


@app.command()
def enrich(
    full: Annotated[
        bool, typer.Option("--all", help="Re-extract every record, not only those changed since.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Extract entities and normalise sample characteristics (after ingest, or all again)."""
    with Runtime.open(_settings(), catch_up_index=False) as rt:
        report = _enrich(rt, full=full)
        # The series whose facets changed are in the change log: index them now
        # (a running server's indexer would also pick them up on its next tick).
        report["indexed"] = rt.catch_up().documents
    if as_json:
        _print_json(report)
        return
    err.print(
        f"entities: {report['entities']:,} from {sum(report['records'].values()):,} records, "
        f"{report['characteristics']:,} characteristics in {report['seconds']:.1f} s"
    )


@app.command()
def extract(
    identifier: Annotated[str, typer.Argument(help="GSE/GSM/GPL/GDS accession or PubMed ID")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Entities of one record with their spans, and its normalised characteristics."""
    from omicsoracle.extraction.store import entities_of

    with Runtime.open(_settings(), catch_up_index=False) as rt:
        try:
            found = entities_of(rt.store, identifier)
        except ValueError as exc:
            err.print(f"error: {exc}")
            raise typer.Exit(code=2) from exc
    if found is None:
        err.print(f"error: {identifier} is not in the store")
        raise typer.Exit(code=1)
    if as_json:
        _print_json(found)
        return
    table = Table("type", "text", "normalized", "field", "span", "source")
    for e in found["entities"]:
        table.add_row(e["type"], escape(e["text"]), escape(e["normalized"]), e["field"],
                      f"{e['start']}-{e['end']}", escape(e["source"]))  # fmt: skip
    out.print(table)
    if found["characteristics"]:
        out.print(f"{len(found['characteristics']):,} sample characteristics")


@app.command()
def reindex() -> None:
    """Rebuild the search index from the store."""
    limit_arenas()
    with Runtime.open(_settings(), catch_up_index=False) as rt:
        result = rt.reindex()
    err.print(f"reindexed {result.documents:,} series (change {result.applied_change_id})")


@app.command()
def backup(target: Annotated[Path, typer.Argument(help="File to write the copy to.")]) -> None:
    """A consistent copy of the store, safe while the server runs."""
    with Runtime.open(_settings(), catch_up_index=False) as rt:
        rt.store.backup(target)
    err.print(f"backup written to {target}")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply schema migrations (also done automatically on open)."""
    from omicsoracle.store import open_store

    settings = _settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.resolved_database_url, upgrade=False)
    try:
        store.upgrade()
    finally:
        store.close()
    err.print("schema is at the newest migration")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = True,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes sharing the port.")
    ] = 1,
) -> None:
    """Serve the HTTP API and the web page."""
    import uvicorn

    from omicsoracle.api.app import create_app

    settings = _settings()
    if workers == 1:
        uvicorn.run(
            create_app(settings), host=host, port=port, log_level="info", access_log=access_log
        )
        return
    # Each worker builds its app from the environment (the settings travel there, as
    # OMICSORACLE_* variables), and writes its metrics to a directory all of them
    # share, so /metrics on any worker reports the sum over all of them.
    metrics_dir = settings.data_dir.resolve() / "metrics"
    shutil.rmtree(metrics_dir, ignore_errors=True)  # values of a previous run are not ours
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    uvicorn.run(
        "omicsoracle.api.app:app_from_env",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="A question in plain words.")],
    limit: Annotated[int, typer.Option(min=1, max=200, help="Results to list.")] = 20,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the whole answer as JSON.")
    ] = False,
) -> None:
    """Answer a question through the agent pipeline, in this process: what was
    understood, results, enrichment and a summary."""
    import asyncio

    from omicsoracle.agents.pipeline import Pipeline

    # In-process whatever OMICSORACLE_BUS says: this command is its own pipeline.
    settings = _settings().model_copy(update={"bus": "memory"})

    async def run(rt: Runtime) -> dict[str, Any]:
        pipeline = await Pipeline.open(settings, rt)
        try:

            async def stage(name: str, _body: dict[str, Any]) -> None:
                if not as_json:
                    err.print(f"[dim]{name}[/dim]")

            return await pipeline.orchestrator.ask(question, limit=limit, on_stage=stage)
        finally:
            await pipeline.close()

    with Runtime.open(settings) as rt:
        answer = asyncio.run(run(rt))
    if as_json:
        _print_json(answer)
        return
    shown = (answer.get("understood") or {}).get("display")
    if shown:
        out.print(Text("searching for: ", style="dim") + Text(shown))
    summary = answer.get("summary") or {}
    if summary.get("text"):
        out.print(Text(summary["text"], style="bold"))
    top = summary.get("top") or {}
    if top.get("text"):
        out.print(Text(f"{top.get('accession')}: ", style="cyan") + Text(top["text"]))
    out.print()
    _print_results({"query": question, **answer["results"]})
    for error in answer["errors"]:
        err.print(
            f"[yellow]partial answer: {error['agent']}: {escape(str(error['error']))}[/yellow]"
        )


@app.command()
def worker(
    agents: Annotated[
        str, typer.Option(help="Comma-separated agents to run: query,search,enrichment,summary.")
    ] = "query,search,enrichment,summary",
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, max=256, help="Requests per agent at once (OMICSORACLE_AGENT_CONCURRENCY)."
        ),
    ] = None,
    redis_url: Annotated[
        str | None, typer.Option(help="The Redis bus (else OMICSORACLE_BUS=redis and _REDIS_URL).")
    ] = None,
) -> None:
    """Run pipeline agents as a separate process on the Redis bus (SIGTERM: finish what is
    in flight, acknowledge, exit 0)."""
    import asyncio
    import logging

    from omicsoracle.agents.worker import run_worker

    settings = _settings()
    if redis_url:
        settings = settings.model_copy(update={"bus": "redis", "redis_url": redis_url})
    if settings.bus != "redis" or not settings.redis_url:
        err.print(
            "error: a worker runs on the Redis bus: set OMICSORACLE_BUS=redis and "
            "OMICSORACLE_REDIS_URL, or pass --redis-url"
        )
        raise typer.Exit(code=2)
    names = [a.strip() for a in agents.split(",") if a.strip()]
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)  # migrations: quiet unless wrong
    try:
        asyncio.run(run_worker(settings, names, concurrency or settings.agent_concurrency))
    except ValueError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(code=2) from exc


@bench_app.command("ingest")
def bench_ingest(
    scale: Annotated[int, typer.Option(help="Also measure a corpus replicated N times.")] = 10,
) -> None:
    """Ingest throughput and memory for the demo corpus (and a replicated one)."""
    _bench_module("bench.ingest_bench").main(["--scale", str(scale)])


@bench_app.command("scale")
def bench_scale(
    size: Annotated[
        list[str] | None,
        typer.Option(help="small (1/100 of GEO), tenth or full (250k series, 7.5M samples)."),
    ] = None,
    jobs: Annotated[int, typer.Option(help="Parser processes of the ingest.", min=1)] = 2,
    rounds: Annotated[int, typer.Option(help="Rounds of the search and show timings.")] = 3,
    demo: Annotated[bool, typer.Option(help="Also run the demo corpus, side by side.")] = True,
    keep: Annotated[bool, typer.Option(help="Keep the data directories built.")] = False,
) -> None:
    """GEO-scale ingest, memory, disk, search/show latency, sample probes, sync rate."""
    argv = ["--size", *(size or ["small"]), "--jobs", str(jobs), "--rounds", str(rounds)]
    argv += [] if demo else ["--no-demo"]
    argv += ["--keep"] if keep else []
    _bench_module("bench.scale_bench").main(argv)


@bench_app.command("sync")
def bench_sync(
    records: Annotated[int, typer.Option(help="Series the stand-in serves.", min=1)] = 5000,
    rounds: Annotated[int, typer.Option(help="Syncs into a fresh store; median.", min=1)] = 3,
) -> None:
    """sync geo against the local E-utilities stand-in with rate limiting off."""
    _bench_module("bench.sync_bench").main(["--records", str(records), "--rounds", str(rounds)])


@bench_app.command("search")
def bench_search() -> None:
    """Search latency on both engines at demo size and 10x, and ranking quality."""
    _bench_module("bench.search_bench").main(["--rebuild"])
    _bench_module("bench.relevance").main([])


@bench_app.command("suggest")
def bench_suggest() -> None:
    """Per-keystroke latency and build time of the search-box suggester."""
    _bench_module("bench.suggest_bench").main([])


@analyze_app.command("de")
def analyze_de(
    accession: Annotated[str, typer.Argument(help="GDS (or series) with expression values")],
    group: Annotated[
        str, typer.Option(help='First group, "key:value" (a subset or characteristic).')
    ],
    vs: Annotated[str, typer.Option(help='Group it is compared with, "key:value".')],
    top: Annotated[int, typer.Option(help="Rows of the table printed without --json.", min=1)] = 20,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Differential expression of two sample groups: Welch and limma moderated t, BH."""
    from omicsoracle.analysis.comparison import AnalysisError, run

    with Runtime.open(_settings(), catch_up_index=False) as rt:
        try:
            result = run(rt.store, accession, group, vs)
        except AnalysisError as exc:
            err.print(f"error: {exc.message}")
            raise typer.Exit(code=1 if exc.status == 404 else 2) from exc
    if as_json:
        keys = ("accession", "groups", "log_transformed", "results")
        _print_json({k: result[k] for k in keys})
        return
    g = result["groups"]
    out.print(
        f"[bold]{result['accession']}[/bold]: {escape(g['group']['label'])} "
        f"(n={len(g['group']['samples'])}) vs {escape(g['vs']['label'])} "
        f"(n={len(g['vs']['samples'])}), {result['n_probes']} probes, "
        f"log2 {'applied' if result['log_transformed'] else 'not needed'}"
        f" ({result['log_scale']['decided_by']})"
    )
    if result["values_from"] != result["accession"]:
        out.print(f"values from {result['values_from']} (the series has none of its own)")

    def num(x: float | None, spec: str) -> str:
        return "NA" if x is None else format(x, spec)  # a probe without enough values

    for r in result["results"][:top]:
        out.print(
            f"{r['probe']:<14} {escape(str(r['gene'] or '-')):<12} "
            f"log2FC {num(r['log2fc'], '+.2f')}  mod.t {num(r['mod_t'], '+.2f')}  "
            f"adj.p {num(r['mod_p_adj'], '.3g')}"
        )


@bench_app.command("de")
def bench_de() -> None:
    """Time of the whole GDS507 differential-expression comparison."""
    _bench_module("bench.de_bench").main([])


@bench_app.command("api")
def bench_api() -> None:
    """/api/v1/search over HTTP next to the engine; first-load JS bytes of the page."""
    _bench_module("bench.api_bench").main([])


@bench_app.command("bus")
def bench_bus(
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object: codecs, memory, redis.")
    ] = False,
    redis_url: Annotated[
        str | None, typer.Option(help="Also measure the Redis bus on this server.")
    ] = None,
) -> None:
    """Codec encode/decode on a page of results; bus throughput and latency."""
    argv = ["--json"] if json_output else []
    if redis_url:
        argv += ["--redis-url", redis_url]
    _bench_module("bench.bus_bench").main(argv)


def _redis_buses(agent: str | None) -> list[tuple[str | None, Any]]:
    """(agent or None, Redis bus) for the operator commands (exit 2 without Redis): the
    agent's inbox with ``agent``; else the bus itself and every registered agent's inbox
    (each inbox is a bus of its own under ``OMICSORACLE_AGENT_STREAM_PREFIX``)."""
    settings = _settings()
    if settings.bus != "redis" or not settings.redis_url:
        err.print(
            "error: dead letters live in the Redis bus: set OMICSORACLE_BUS=redis and "
            "OMICSORACLE_REDIS_URL"
        )
        raise typer.Exit(code=2)
    from omicsoracle.agents import AGENTS
    from omicsoracle.agents.transport import agent_address
    from omicsoracle.bus import codec_by_name
    from omicsoracle.bus.redis_bus import RedisBus

    if agent is not None and agent not in AGENTS:
        err.print(f"error: unknown agent {agent!r}; known: {', '.join(AGENTS)}")
        raise typer.Exit(code=2)
    codec = codec_by_name(settings.codec)
    url = settings.redis_url
    names = [agent] if agent is not None else list(AGENTS)
    buses: list[tuple[str | None, Any]] = (
        [] if agent is not None else [(None, RedisBus(url, codec=codec))]
    )
    for name in names:
        prefix = agent_address(settings.agent_stream_prefix, name)
        buses.append((name, RedisBus(url, codec=codec, stream_prefix=prefix)))
    return buses


_AGENT_OPTION = typer.Option(
    "--agent",
    help="Only this agent's inbox (query, search, ...); default: the bus and every agent's.",
)


@bus_app.command("dead-letters")
def bus_dead_letters(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Most entries listed.")] = 100,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    agent: Annotated[str | None, _AGENT_OPTION] = None,
) -> None:
    """Messages that failed every attempt (oldest first, per inbox), with why."""
    import asyncio

    async def read() -> list[tuple[str | None, Any]]:
        found: list[tuple[str | None, Any]] = []
        for name, bus in _redis_buses(agent):
            try:
                found += [(name, d) for d in await bus.dead_letters(limit)]
            finally:
                await bus.close()
        return found[:limit]

    letters = asyncio.run(read())
    rows = [
        {
            "agent": name,
            "id": d.id,
            "type": d.envelope.type if d.envelope else None,
            "message": d.envelope.id if d.envelope else None,
            "attempts": d.attempts,
            "reason": d.reason,
            "dead_at": d.dead_at,
            "error": d.error,
        }
        for name, d in letters
    ]
    if json_output:
        _print_json(rows)
        return
    table = Table("agent", "dead-letter id", "type", "attempts", "reason")
    for row in rows:
        table.add_row(
            row["agent"] or "-",
            row["id"],
            row["type"] or "(unreadable)",
            str(row["attempts"]),
            row["reason"],
        )
    out.print(table)
    out.print(f"{len(rows)} dead letter(s); replay with: omicsoracle bus replay [--agent A] ID...")


@bus_app.command("replay")
def bus_replay(
    ids: Annotated[list[str], typer.Argument(help="Dead-letter ids (from bus dead-letters).")],
    agent: Annotated[str | None, _AGENT_OPTION] = None,
) -> None:
    """Publish dead letters again (attempt reset to 1) and remove them from the list."""
    import asyncio

    async def replay() -> dict[str, list[str]]:
        # Without --agent each id is looked for in the bus, then in every agent's inbox,
        # and replayed where it is first found.
        done: dict[str, list[str]] = {"replayed": [], "missing": list(ids), "unreadable": []}
        for _name, bus in _redis_buses(agent):
            try:
                if done["missing"]:
                    report = await bus.replay(done["missing"])
                    done["replayed"] += report.replayed
                    done["unreadable"] += report.unreadable
                    done["missing"] = report.missing
            finally:
                await bus.close()
        return done

    report = asyncio.run(replay())
    _print_json(report)
    if report["missing"] or report["unreadable"]:
        raise typer.Exit(code=1)


@sync_app.command("geo")
def sync_geo(
    since: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="First modification date (default: resume)."),
    ] = None,
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last modification date (default: today, UTC)."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Stop after N series and DataSets are committed.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what each window holds; write nothing.")
    ] = False,
    full: Annotated[
        bool,
        typer.Option(
            "--full", help="Also fetch and ingest each new or changed series' family SOFT."
        ),
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=500, help="Docsums per esummary request and transaction.")
    ] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Sync GEO series and DataSets (and their PubMed articles) from NCBI E-utilities."""
    from pydantic import ValidationError

    from omicsoracle.sync.geo import SyncError, SyncOptions, run_sync
    from omicsoracle.sync.progress import SyncBar

    try:
        settings = _settings()
    except ValidationError as exc:
        err.print(f"error: {escape(str(exc))}")
        raise typer.Exit(code=2) from exc
    options = SyncOptions(
        since=since.date() if since else None,
        until=until.date() if until else None,
        limit=limit,
        dry_run=dry_run,
        full=full,
        batch_size=batch_size,
    )
    failure: SyncError | None = None
    with Runtime.open(settings, catch_up_index=False) as rt:
        with SyncBar(err, enabled=err.is_terminal and not as_json) as bar:
            try:
                report = run_sync(settings, rt.store, options, progress=bar.update)
            except SyncError as exc:
                failure = exc
                report = exc.report  # type: ignore[assignment]
        enriched: dict[str, Any] | None = None
        fed = CatchUp()
        if not dry_run and report is not None and (report.records or report.full):
            try:
                enriched = _enrich(rt, full=False)
            except Exception as exc:  # the sync stands; the index must still catch up
                err.print(
                    f"[red]enrichment failed[/red]: {escape(str(exc))} (rerun `omicsoracle enrich`)"
                )
            fed = rt.catch_up()
    body = report.as_dict() if report is not None else {}
    if failure is not None:
        body["error"] = str(failure)
    if as_json:
        body["indexed"] = fed.documents
        _print_json(body)
    elif report is not None:
        _report_sync(body, fed.documents, enriched)
    if failure is not None:
        err.print(f"[red]error[/red]: {escape(str(failure))}")
        err.print("the store holds every batch committed before it; run the same command to resume")
        raise typer.Exit(code=1)


def _report_sync(body: dict[str, Any], indexed: int, enriched: dict[str, Any] | None) -> None:
    if body.get("dry_run"):
        for row in body["counts"]:
            err.print(f"{row['window'][0]}..{row['window'][1]}: {row['count']:,}")
        err.print(
            f"dry run: {body['total']:,} series and DataSets in {body['windows']} windows "
            f"({body['requests']} requests); nothing written"
        )
        return
    err.print(
        f"synced {body['records']:,} records ({body['series']:,} series, {body['datasets']:,} "
        f"DataSets, {body['samples']:,} samples, {body['publications']:,} articles) in "
        f"{body['windows']} windows, {body['seconds']:.1f} s; {body['requests']} requests, "
        f"{body['retries']} retries; {body['vanished']} vanished"
        + (" (stopped at --limit)" if body.get("limited") else "")
    )
    full = body.get("full")
    if full:
        err.print(
            f"full text: {full['fetched']} family files fetched, {full['ingested']} ingested, "
            f"{len(full['missing'])} missing"
        )
        for problem in full["problems"][:20]:
            err.print(
                f"  [yellow]problem[/yellow] {escape(problem['accession'])}: {escape(problem['reason'])}"
            )
    err.print(f"search index: {indexed:,} documents written")
    if enriched is not None:
        err.print(
            f"entities: {enriched['entities']:,} from {sum(enriched['records'].values()):,} records"
        )


def _bench_module(name: str) -> Any:
    import importlib

    sys.path.insert(0, str(Path.cwd()))
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        err.print(f"error: benchmarks run from a source checkout (cannot import {name}: {exc})")
        raise typer.Exit(code=2) from exc


def main() -> None:
    app()


if __name__ == "__main__":
    main()
