"""What the CLI prints: answers, one-line errors and the exit codes."""

from __future__ import annotations


import typer
from pydantic import ValidationError
from rich.console import Console
from rich.text import Text

from index.dates import shown_date
from qa.schema import AskResponse, Citation, SearchResponse

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 3
EXIT_NOT_FOUND = 4
EXIT_PARTIAL = 1


class ProgressLines:
    """One progress line every `every_s` seconds, for output that is not a terminal."""

    def __init__(self, console: Console, every_s: float):
        self.console = console
        self.every_s = every_s
        self.next_at = every_s

    def __call__(self, done: int, total: int, elapsed: float) -> None:
        if elapsed < self.next_at or total <= 0:
            return
        self.next_at = elapsed + self.every_s
        rate = done / elapsed
        left = (total - done) / rate if rate > 0 else float("inf")
        eta = f"about {left / 60:.0f} min left" if left >= 90 else f"about {left:.0f} s left"
        self.console.print(f"progress: {done}/{total} files ({100 * done / total:.0f}%), {rate:.1f} files/s, {eta}", markup=False)


def count(n: int, noun: str) -> str:
    """`1 document`, `2 documents`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def fail(message: str, code: int = EXIT_BAD_INPUT) -> None:
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(code)


def validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
    msg = first.get("msg", "invalid input").removeprefix("Value error, ")
    return f"{where}: {msg}" if where else msg


def _answer_sentence(c: Citation) -> Text:
    """The excerpt the core chose around the answer, with the answer highlighted; … marks passage text left out."""
    s, e = c.excerpt_start - c.passage_start, c.excerpt_end - c.passage_start
    a, b = c.answer_start - c.passage_start, c.answer_end - c.passage_start
    text = Text(("…" if s > 0 else "") + c.passage[s:a])
    text.append(c.passage[a:b], style="bold black on yellow")
    text.append(c.passage[b:e] + ("…" if e < len(c.passage) else ""))
    return text


def found_in(articles: int, sources: int) -> str:
    """`found in 3 articles`, or with copies of one story folded: `found in 1 source (and 3 copies)`."""
    if sources <= 0 or sources >= articles:  # no copies (or a server that doesn't count sources)
        return f"found in {count(articles, 'article')}"
    copies = articles - sources
    return f"found in {count(sources, 'source')} (and {copies} cop{'y' if copies == 1 else 'ies'})"


def by_source(citations: list[Citation]) -> list[tuple[list[Citation], list[Citation]]]:
    """Citations folded by copy group, in order: (the first article's citations, one citation per copy)."""
    folded: dict[str, tuple[list[Citation], list[Citation]]] = {}
    for c in citations:
        first, copies = folded.setdefault(c.group or c.doc_id, ([], []))
        if not first or c.doc_id == first[0].doc_id:
            first.append(c)
        elif all(c.doc_id != k.doc_id for k in copies):
            copies.append(c)
    return list(folded.values())


def _dated(published: str | None) -> str:
    return f" ({shown_date(published)})" if published else ""


def print_passages(resp: SearchResponse) -> None:
    """`qa search`: each passage with its article, dates, ranks and scores."""
    if not resp.passages:
        out.print(Text("No passage found.", style="bold"))
        return
    for hit in resp.passages:
        s = hit.scores
        out.print(Text(f"[{hit.rank}] {hit.title}{_dated(hit.published)} — {hit.doc_id}", style="bold"))
        ranks = [f"fused {s.fused:.4f}"]
        ranks.append(f"dense #{s.dense_rank} ({s.dense_distance:.3f})" if s.dense_rank else "dense: not a candidate")
        ranks.append(f"BM25 #{s.bm25_rank} ({s.bm25_score:.2f})" if s.bm25_rank else "BM25: not a candidate")
        out.print(Text(" · ".join(ranks) + (f" · copies: {', '.join(hit.copies)}" if hit.copies else ""), style="dim"))
        out.print(Text(hit.passage.strip()))
        out.print()


def print_dropped(resp: AskResponse) -> None:
    """`qa ask --explain`: the candidates the answer checks refused, and why."""
    out.print()
    if not resp.dropped:
        out.print(Text("No candidate was refused by the answer checks.", style="italic"))
        return
    out.print(Text("Refused by the answer checks:", style="bold"))
    for d in resp.dropped:
        out.print(f"  {d.answer!r} ({d.doc_id}, span score {d.score:.2f}): {d.check}: {d.reason}")


def print_answer(resp: AskResponse) -> None:
    if resp.answer is None:
        out.print(Text("Not found in these documents.", style="bold"))
        out.print(f"(best candidate scored {resp.score:.2f}, below the threshold {resp.threshold:.2f})")
        return
    out.print(Text(resp.answer, style="bold green"))
    out.print(f"score {resp.score:.2f} · {found_in(resp.articles, resp.sources)}")
    n = 0  # one number per passage shown, 1..n in order
    for first, copies in by_source(resp.citations):
        for c in first:
            n += 1
            out.print()
            out.print(Text(f"[{n}] {c.title}{_dated(c.published)} — {c.doc_id}", style="bold"))
            out.print(_answer_sentence(c))
        for c in copies:
            out.print(Text(f"    copy: {c.title}{_dated(c.published)} — {c.doc_id}", style="italic"))
    if resp.most_recent and resp.alternatives:
        out.print()
        out.print(Text("The most recent article's answer; earlier articles said:", style="italic"))
    for alt in resp.alternatives:
        out.print()
        # Each article with its date: for a question about the latest state, the dates are the point.
        docs = ", ".join(dict.fromkeys(f"{c.doc_id}{_dated(c.published)}" for c in alt.citations))
        lead = "" if resp.most_recent else "Other articles say: "
        out.print(Text(f"{lead}{alt.answer} (score {alt.score:.2f}; {docs})", style="italic"))
