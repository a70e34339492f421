"""The `qa` command line: ask, ingest, serve, docs, and the reader's train/export/eval."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Optional, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.text import Text

from cli.help import _Command, _Group
from cli.output import EXIT_BAD_INPUT, ProgressLines, EXIT_NOT_FOUND, EXIT_PARTIAL, EXIT_UNAVAILABLE, count, err, fail, out, print_answer, print_dropped, print_passages, validation_message
from cli.sources import period_seconds, split_sources, sync_over
from index.space import StorageFull
from qa.schema import MAX_HISTORY_TURNS, AskFilters, AskRequest, AskResponse, HistoryTurn, SearchRequest, SearchResponse

M = TypeVar("M", bound=BaseModel)
Q = TypeVar("Q", bound=BaseModel)

app = typer.Typer(cls=_Group, add_completion=False, no_args_is_help=True, help="Answer questions from your articles, with the exact words and their sources.")
docs_app = typer.Typer(cls=_Group, no_args_is_help=True, help="List, show and delete indexed documents.")
app.add_typer(docs_app, name="docs")


def _pipeline():
    from index.store import IncompatibleStore, StoreUnavailable
    from qa.pipeline import Pipeline
    from qa.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        fail(f"bad setting: {validation_message(exc)}")
    pipe = Pipeline(settings)
    try:
        pipe.open_store()
    except (IncompatibleStore, StoreUnavailable) as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    except Exception as exc:  # noqa: BLE001 - chromadb raises many types for a bad store
        fail(f"can't open the store: {exc}", EXIT_UNAVAILABLE)
    return pipe



def _query(model: type[Q], question: str, top_k: int | None, doc_id: list[str] | None, source: str | None,
           published_from: str | None, published_to: str | None, as_of: str | None, **extra) -> Q:
    """The request `ask` and `search` build from their options; a bad option is one line and exit 2."""
    try:
        filters = None
        if doc_id or source or published_from or published_to:
            filters = AskFilters(doc_ids=doc_id or None, source=source, published_from=published_from, published_to=published_to)
        return model(question=question, top_k=top_k, filters=filters, as_of=as_of, **extra)
    except ValidationError as exc:
        fail(validation_message(exc))


def _lock_for_writing(settings=None) -> None:
    """This command writes to the embedded store: one writer per data directory (index/lock.py).

    Readers (ask, search, docs list/show) share the directory with a writer; with a Chroma
    server there is nothing local to guard (the server orders the writes).
    """
    from index.lock import DirectoryInUse, lock_data_dir
    from qa.settings import get_settings

    if settings is None:
        try:
            settings = get_settings()
        except ValidationError as exc:
            fail(f"bad setting: {validation_message(exc)}")
    if settings.chroma_url:
        return
    try:
        lock_data_dir(settings.data_dir)
    except DirectoryInUse as exc:
        fail(str(exc), EXIT_UNAVAILABLE)
    except OSError as exc:
        fail(f"can't lock the data directory {settings.data_dir}: {exc.strerror or exc}", EXIT_UNAVAILABLE)


def _ready_pipeline():
    """The local pipeline, with the sample articles in an index that was empty (and a line saying so)."""
    pipe = _pipeline()
    if pipe.sample_pending:
        _lock_for_writing(pipe.settings)  # filling an empty index is a write
    if pipe.ensure_sample_corpus():
        err.print(f"The index was empty: ingested the bundled sample articles ({count(pipe.store.count()[0], 'document')}); "
                  "`qa docs delete --samples` removes them.")
    return pipe


def _remote(url: str, route: str, request: BaseModel, response: type[M]) -> M:
    """POST a request to a running server's route; its error as one line and an exit code."""
    import httpx

    try:
        r = httpx.post(url.rstrip("/") + route, json=request.model_dump(exclude_none=True), timeout=60)
    except httpx.HTTPError as exc:
        fail(f"can't reach {url}: {exc}", EXIT_UNAVAILABLE)
    if r.status_code != 200:
        try:
            detail = r.json().get("detail")
        except ValueError:
            detail = r.text[:200]
        if isinstance(detail, list):
            detail = "; ".join(str(d.get("msg", d)) for d in detail)
        fail(f"server answered {r.status_code}: {detail}", EXIT_BAD_INPUT if r.status_code < 500 else EXIT_UNAVAILABLE)
    return response.model_validate(r.json())


@app.command(cls=_Command)
def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the answer contract (the same JSON as POST /ask).")] = False,
    top_k: Annotated[Optional[int], typer.Option("--top-k", metavar="N", help="Passages to read.")] = None,
    url: Annotated[Optional[str], typer.Option("--url", metavar="URL", help="Ask a running server instead, e.g. http://127.0.0.1:8000.")] = None,
    doc_id: Annotated[Optional[list[str]], typer.Option("--doc-id", metavar="ID", help="Only these documents (repeatable).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only documents from this source.")] = None,
    published_from: Annotated[Optional[str], typer.Option("--from", metavar="DATE", help="Published on or after YYYY-MM-DD.")] = None,
    published_to: Annotated[Optional[str], typer.Option("--to", metavar="DATE", help="Published on or before YYYY-MM-DD.")] = None,
    as_of: Annotated[
        Optional[str],
        typer.Option("--as-of", metavar="YYYY-MM-DD", help="Answer as of this day: only articles published on or before it (undated articles are left out)."),
    ] = None,
    explain: Annotated[bool, typer.Option("--explain", help="Also show the candidate answers the answer checks refused, and why.")] = False,
) -> None:
    """Answer a question from the indexed articles, with its sources."""
    request = _query(AskRequest, question, top_k, doc_id, source, published_from, published_to, as_of, explain=explain)
    resp = _remote(url, "/ask", request, AskResponse) if url else _ready_pipeline().ask(request)
    if as_json:
        sys.stdout.write(resp.model_dump_json(indent=2) + "\n")
    else:
        print_answer(resp)
        if explain:
            print_dropped(resp)


@app.command(cls=_Command)
def chat(
    top_k: Annotated[Optional[int], typer.Option("--top-k", metavar="N", help="Passages to read.")] = None,
    url: Annotated[Optional[str], typer.Option("--url", metavar="URL", help="Ask a running server instead, e.g. http://127.0.0.1:8000.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="YYYY-MM-DD", help="Answer as of this day: only articles published on or before it.")] = None,
) -> None:
    """Ask one question after another (one a line, until an empty line or the end of input); a follow-up
    such as "When did he arrive?" is answered with the earlier question it leans on."""
    interactive = sys.stdin.isatty()
    pipe = None if url else _ready_pipeline()
    history: list[HistoryTurn] = []
    if interactive:
        err.print("Ask a question; an empty line or Ctrl-D ends.", markup=False)
    while True:
        try:
            question = input("> " if interactive else "").strip()
        except (EOFError, KeyboardInterrupt):
            break
        if not question:
            break
        try:
            request = AskRequest(question=question, top_k=top_k, as_of=as_of, history=history[-MAX_HISTORY_TURNS:])
        except ValidationError as exc:
            err.print(f"error: {validation_message(exc)}", markup=False)
            continue
        resp = _remote(url, "/ask", request, AskResponse) if url else pipe.ask(request)
        if history:
            out.print()
        print_answer(resp)
        if resp.follows is not None:
            earlier = request.history[resp.follows]
            out.print(Text(f"(a follow-up of: {earlier.question})", style="italic"))
        history.append(HistoryTurn(question=request.question, answer=resp.answer))


@app.command(cls=_Command)
def search(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the search contract (the same JSON as POST /search).")] = False,
    top_k: Annotated[Optional[int], typer.Option("--top-k", metavar="N", help="Passages to return.")] = None,
    url: Annotated[Optional[str], typer.Option("--url", metavar="URL", help="Search a running server instead, e.g. http://127.0.0.1:8000.")] = None,
    doc_id: Annotated[Optional[list[str]], typer.Option("--doc-id", metavar="ID", help="Only these documents (repeatable).")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only documents from this source.")] = None,
    published_from: Annotated[Optional[str], typer.Option("--from", metavar="DATE", help="Published on or after YYYY-MM-DD.")] = None,
    published_to: Annotated[Optional[str], typer.Option("--to", metavar="DATE", help="Published on or before YYYY-MM-DD.")] = None,
    as_of: Annotated[Optional[str], typer.Option("--as-of", metavar="YYYY-MM-DD", help="Only articles published on or before this day.")] = None,
) -> None:
    """The passages a question would be answered from, best first, with each retriever's rank and score."""
    request = _query(SearchRequest, question, top_k, doc_id, source, published_from, published_to, as_of)
    resp = _remote(url, "/search", request, SearchResponse) if url else _ready_pipeline().search(request)
    if as_json:
        sys.stdout.write(resp.model_dump_json(indent=2) + "\n")
    else:
        print_passages(resp)


class _NotSkipped(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("skipped ")


def _failure_line(source: str, reason: str) -> str:
    """`path: why`, naming the path once: loaders start their reasons with the file name."""
    if reason.startswith(source):
        return reason
    name = Path(source).name
    if reason.startswith(name + ":"):
        reason = reason[len(name) + 1 :].lstrip()
    return f"{source}: {reason}"


@app.command(cls=_Command)
def ingest(
    paths: Annotated[list[str], typer.Argument(metavar="PATH", help="Files (.txt .md .html .pdf .jsonl), folders, feeds (an RSS/Atom URL or .rss/.atom/.xml file) or article URLs.")],
    prune: Annotated[bool, typer.Option("--prune", help="Remove indexed documents from files that are no longer in PATHS.")] = False,
    replace_taken: Annotated[
        bool,
        typer.Option("--replace", help="A file whose id (from its name) holds a different document from elsewhere replaces it; by default it gets an id of its own."),
    ] = False,
) -> None:
    """Index articles. Unchanged ones are skipped; changed ones replace their old chunks."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

    files, remote = split_sources(paths)
    if prune and remote:
        fail("--prune works with files and folders only (feeds and URLs are kept current by `qa watch`)")
    _lock_for_writing()
    pipe = _pipeline()
    # Each failure is printed below as one `skipped:` line; the indexer's log line for it
    # would say the same thing again.
    logging.getLogger("index.ingest").addFilter(_NotSkipped())
    logging.getLogger("index.feeds").setLevel(logging.ERROR)
    from index.ingest import IngestReport

    report = IngestReport()
    if files:
        # The bar is for a person watching a terminal; elsewhere (a pipe, a log) it would only
        # leave an empty line behind.
        columns = (
            TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("{task.fields[rate]}"), TimeRemainingColumn(), TextColumn("{task.description}"),
        )
        # Away from a terminal (a pipe, a log, a service) a long ingest still shows it is alive.
        periodic = ProgressLines(err, every_s=30.0) if not err.is_terminal else None
        with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as bar:
            task = bar.add_task("", total=None, rate="")
            started = time.monotonic()

            def progress(done: int, total: int, name: str) -> None:
                elapsed = max(time.monotonic() - started, 1e-6)
                bar.update(task, total=total, completed=done, description=name, rate=f"{done / elapsed:.1f} files/s")
                if periodic:
                    periodic(done, total, elapsed)

            try:
                report = pipe.ingest_paths(files, prune=prune, replace_taken=replace_taken, progress=progress)
            except StorageFull as exc:
                fail(f"{exc} (the files before it were stored; running the same command again skips them)", EXIT_UNAVAILABLE)
    if remote:
        fetcher, sync = sync_over(pipe)
        with fetcher:
            cycle = sync.run(remote)
        for name in ("added", "updated", "unchanged", "failed"):
            getattr(report, name).extend(getattr(cycle.ingest, name))
        report.unchanged.extend(cycle.not_modified)
        report.chunks += cycle.ingest.chunks
    for failure in report.failed:
        err.print(f"skipped: {_failure_line(failure.source, failure.reason)}", markup=False)
    for new_id, taken in report.renamed.items():
        if new_id in report.added:
            err.print(f"kept apart: {new_id} ({taken!r} holds a different document; --replace replaces it)", markup=False)
    out.print(report.summary())
    _samples_note(pipe)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command(cls=_Command)
def watch(
    sources: Annotated[list[str], typer.Argument(metavar="SOURCE", help="Feeds (an RSS/Atom URL or .rss/.atom/.xml file) or article URLs.")],
    every: Annotated[str, typer.Option("--every", metavar="DURATION", help="Time between cycles: 30s, 15m, 1h.")] = "15m",
    once: Annotated[bool, typer.Option("--once", help="One cycle, then exit (1 if a source failed).")] = False,
    host_delay: Annotated[float, typer.Option("--host-delay", metavar="SECONDS", help="Least time between two requests to one host.")] = 1.0,
    timeout: Annotated[float, typer.Option("--timeout", metavar="SECONDS", help="Per-request timeout.")] = 20.0,
) -> None:
    """Keep feeds and pages current: new items added, changed ones replaced; one summary line per cycle."""
    import signal
    import threading

    files, remote = split_sources(sources)
    if files:
        fail(f"{files[0]}: not a feed or URL (watch takes feed URLs, .rss/.atom/.xml files and article URLs; use `qa ingest` for files)")
    interval = period_seconds(every)
    _lock_for_writing()
    pipe = _pipeline()
    logging.getLogger("index.feeds").setLevel(logging.ERROR)  # failures are in the summary line
    stop = threading.Event()

    def on_signal(signum, frame) -> None:
        if stop.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: don't wait for the current item
        err.print("watch: stopping after the current item", markup=False)
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    fetcher, sync = sync_over(pipe, stop, host_delay, timeout)
    with fetcher:
        while True:
            report = sync.run(remote)
            out.print(report.summary(), markup=False)
            if once or stop.is_set() or stop.wait(interval):
                break
    if once and report.failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command(cls=_Command)
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(metavar="N", help="Worker processes (use server mode, QA_CHROMA_URL, with more than one).")] = 1,
) -> None:
    """Run the HTTP API and the chat page."""
    import uvicorn

    from qa.settings import get_settings

    try:
        settings = get_settings()  # checked here: in the server a bad setting would end in a traceback
    except ValidationError as exc:
        fail(f"bad setting: {validation_message(exc)}")
    if workers > 1 and not settings.chroma_url:
        fail("several workers need a Chroma server (set QA_CHROMA_URL): an embedded store can't be shared between processes")
    if workers > 1:
        os.environ["QA_WARM_BEFORE_SERVING"] = "1"  # the worker processes inherit it
    else:
        _lock_for_writing(settings)  # held by this process, which is the server, until it ends
    from api.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before uvicorn starts threads: each would get an arena of its own
    # The app logs each request itself, without query strings (uvicorn's access log has them).
    uvicorn.run("api.app:create_app", factory=True, host=host, port=port, workers=workers, log_level="info", access_log=False)


@app.command("mcp", cls=_Command)
def mcp_server() -> None:
    """Serve the tools (ask, search, list_documents, get_document, add_document) to a local MCP client over stdio."""
    from qa.settings import get_settings

    try:
        settings = get_settings()
    except ValidationError as exc:
        fail(f"bad setting: {validation_message(exc)}")
    # stdout carries the protocol: every log line goes to stderr.
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from api.mcp import serve_stdio

    serve_stdio(_pipeline())


@docs_app.command("list", cls=_Command)
def docs_list(
    as_json: Annotated[bool, typer.Option("--json", help="Print the list as JSON (the same as GET /documents).")] = False,
    search: Annotated[Optional[str], typer.Option("--search", "-q", metavar="WORDS", help="Only articles whose title or id holds every word.")] = None,
    source: Annotated[Optional[str], typer.Option("--source", help="Only articles whose source holds this.")] = None,
    published_from: Annotated[Optional[str], typer.Option("--from", metavar="DATE", help="Published on or after YYYY[-MM[-DD]].")] = None,
    published_to: Annotated[Optional[str], typer.Option("--to", metavar="DATE", help="Published on or before YYYY[-MM[-DD]].")] = None,
    sort: Annotated[str, typer.Option("--sort", help="newest, oldest, title or id.")] = "newest",
    limit: Annotated[Optional[int], typer.Option("--limit", metavar="N", help="At most N articles (1-500); all by default.")] = None,
    offset: Annotated[int, typer.Option("--offset", metavar="N", help="Skip the first N matching articles.")] = 0,
) -> None:
    """List indexed documents, newest first (search, dates, sorting and pages as GET /documents)."""
    from qa.schema import DocumentQuery, DocumentSummary

    try:
        query = DocumentQuery(q=search, source=source, published_from=published_from, published_to=published_to, sort=sort, offset=offset, limit=limit)
    except ValidationError as exc:
        fail(validation_message(exc))
    total, docs = _pipeline().documents_page(query)
    if as_json:
        sys.stdout.write(json.dumps([DocumentSummary.of(d).model_dump() for d in docs], indent=2) + "\n")
        return
    for d in docs:
        out.print(f"{d.doc_id}\t{d.published or '-'}\t{count(d.chunks, 'chunk')}\t{d.title}", markup=False)
    shown = count(total, "document") if len(docs) == total else f"{len(docs)} of {count(total, 'document')}"
    err.print(shown)


@docs_app.command("show", cls=_Command)
def docs_show(doc_id: str, as_json: Annotated[bool, typer.Option("--json", help="Print the document as JSON.")] = False) -> None:
    """Show one document (its text is what every offset refers to)."""
    from qa.schema import DocumentOut

    d = _pipeline().get_document(doc_id)
    if d is None:
        fail(f"no document {doc_id!r}", EXIT_NOT_FOUND)
    obj = DocumentOut.of(d)
    if as_json:
        sys.stdout.write(obj.model_dump_json(indent=2) + "\n")
    else:
        out.print(Text(d.title, style="bold"))
        out.print(f"{d.doc_id} · {d.source} · {d.published or 'no date'}", markup=False)
        out.print(d.text, markup=False)


@docs_app.command("delete", cls=_Command)
def docs_delete(
    doc_id: Annotated[Optional[str], typer.Argument(help="The document to delete.")] = None,
    samples: Annotated[bool, typer.Option("--samples", help="Delete the bundled sample articles instead (as DELETE /samples).")] = False,
) -> None:
    """Delete a document and its chunks, or the bundled sample articles (--samples)."""
    if samples == (doc_id is not None):
        fail("give a document id or --samples (one of the two)")
    _lock_for_writing()
    pipe = _pipeline()
    if samples:
        removed = pipe.delete_samples()
        out.print(f"deleted {count(len(removed), 'sample article')}" + (f": {', '.join(removed)}" if removed else ""), markup=False)
        return
    if not pipe.delete_document(doc_id):
        fail(f"no document {doc_id!r}", EXIT_NOT_FOUND)
    out.print(f"deleted {doc_id}")


SAMPLES_NOTE = "the index still holds the {n} bundled sample articles; remove them with `qa docs delete --samples`"


def _samples_note(pipe) -> None:
    """A line on stderr when the bundled sample articles sit beside the user's own."""
    held = pipe.sample_ids()
    if held and pipe.store.count()[0] > len(held):
        err.print("note: " + SAMPLES_NOTE.format(n=len(held)), markup=False)


# These hand their arguments to their own argparse tools, `--help` included (typer's help would
# show none of their options).
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("train-reader", cls=_Command, context_settings=_PASS_THROUGH, add_help_option=False)
def train_reader(ctx: typer.Context) -> None:
    """Train the extractive reader (all options: qa train-reader --help)."""
    from training.train_reader import main

    main(ctx.args)


@app.command("export-reader", cls=_Command, context_settings=_PASS_THROUGH, add_help_option=False)
def export_reader(ctx: typer.Context) -> None:
    """Export trained weights into the package (qa export-reader --help)."""
    from training.export_reader import main

    main(ctx.args)


@app.command("calibrate", cls=_Command, context_settings=_PASS_THROUGH, add_help_option=False)
def calibrate(ctx: typer.Context) -> None:
    """Fit the reader's score calibration and no-answer threshold on held-out data."""
    from training.calibrate import main

    main(ctx.args)


@app.command("calibrate-answers", cls=_Command, context_settings=_PASS_THROUGH, add_help_option=False)
def calibrate_answers(ctx: typer.Context) -> None:
    """Fit the answer's score and threshold end to end on held-out questions (after qa calibrate)."""
    from training.confidence import main

    main(ctx.args)


@app.command("eval", cls=_Command, context_settings=_PASS_THROUGH, add_help_option=False)
def evaluate(ctx: typer.Context) -> None:
    """Run the benchmarks in eval/ (qa eval --quick for the CI subset)."""
    try:
        from eval.run import main
    except ImportError:
        fail("the eval/ folder is not available in this installation (run from a checkout)")
    code = main(ctx.args)
    raise typer.Exit(code or 0)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
