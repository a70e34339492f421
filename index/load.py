"""Turn files, folders and JSONL lines into Documents; report what can't be read."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from index import dates
from index.documents import Document, normalize_newlines
from index.ids import InvalidId, check_given, derive

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".jsonl")
DATE_FIELDS = ("published", "date", "publish_date")  # JSONL fields read as the publication date, first found wins

log = logging.getLogger(__name__)


class LoadError(ValueError):
    """A file or record that can't become a document; the message says why."""


@dataclass(frozen=True)
class LoadFailure:
    source: str
    reason: str


MAX_HTML_DEPTH = 128  # elements nested in one another; article pages stay far below, and extraction slows past it
# A page of text is a few thousand content-stream tokens; a page far past this is a drawing or a
# bomb (a 14 KB file of 2 million tokens kept a core busy for a minute and a half), and is skipped.
PDF_PAGE_TOKENS = 100_000
PDF_READ_S = 60.0  # the most reading one PDF's text may take, checked between pages
_META_CHARSET = re.compile(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", re.I)


def _decode(data: bytes, source: str) -> str:
    """Text from a file's bytes: UTF-8 (or UTF-16 with its byte order mark); otherwise the charset an HTML
    page declares, else Windows-1252 / Latin-1, the usual encodings of older Western text files."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return normalize_newlines(data.decode("utf-16"))
        except UnicodeDecodeError:
            raise LoadError(f"{source}: not valid UTF-16") from None
    if b"\x00" in data[:8192]:
        raise LoadError(f"{source}: binary file, not text")
    try:
        return normalize_newlines(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        pass
    declared = _META_CHARSET.search(data[:4096])
    for name in (declared.group(1).decode("ascii", "replace") if declared else None, "cp1252", "latin-1"):
        if not name:
            continue
        try:
            text = data.decode(name)
        except (LookupError, UnicodeDecodeError):
            continue
        log.info("%s: not UTF-8; read as %s", source, name)
        return normalize_newlines(text)
    raise AssertionError("latin-1 decodes any bytes")


def html_depth(html: str) -> int:
    """How deeply the page's elements nest (as the HTML parser reads it, which stops counting at 256)."""
    import lxml.etree

    parser = lxml.etree.HTMLPullParser(events=("start", "end"), recover=True)
    parser.feed(html)
    parser.close()
    depth = deepest = 0
    for event, _ in parser.read_events():
        depth += 1 if event == "start" else -1
        deepest = max(deepest, depth)
    return deepest


def _title_and_text(text: str) -> tuple[str, str]:
    for line in text.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip(), text
    return "", text


def _require_text(text: str, source: str) -> str:
    if not text.strip():
        raise LoadError(f"{source}: empty document")
    return text


def from_text(doc_id: str, data: bytes, source: str, *, title: str | None = None, origin: str | None = None) -> Document:
    """A .txt/.md document: the first non-empty line is its title (or front matter's `title:`).

    Markdown front matter is metadata, not article text: it is left out of `text`, and its
    `title`/`date`/`published` are used. Otherwise the date comes from a "Published: ..."
    line or a dateline at the top.
    """
    text = _require_text(_decode(data, source), source)
    front, text = dates.split_front_matter(text)
    text = _require_text(text, source)
    first, text = _title_and_text(text)
    front_title = front.get("title")
    published = dates.from_front_matter(front) or dates.from_text(text)
    return Document(
        id=doc_id,
        title=title or (str(front_title).strip() if front_title else "") or first,
        text=text,
        source=source,
        published=published,
        derived_id=True,
        origin=origin,
    )


def from_html(doc_id: str, data: bytes, source: str, *, title: str | None = None, origin: str | None = None) -> Document:
    """The main text of an HTML page, extracted by trafilatura."""
    import trafilatura

    html = _decode(data, source)
    if html_depth(html) > MAX_HTML_DEPTH:
        raise LoadError(f"{source}: HTML nested more than {MAX_HTML_DEPTH} elements deep; not read as an article")
    extracted = trafilatura.bare_extraction(html, include_comments=False, with_metadata=True)
    body = (getattr(extracted, "text", None) or "").strip() if extracted is not None else ""
    if not body:
        raise LoadError(f"{source}: no readable text in the HTML")
    page_title = (getattr(extracted, "title", None) or "").strip()
    # htmldate itself (trafilatura's date module) keeps a time when the page gives one;
    # a page whose metadata has no date may still open with a dateline, or carry a byline
    # element that text extraction left out.
    published = dates.from_html(html) or dates.from_text(body) or dates.from_byline(html, body)
    return Document(
        id=doc_id,
        title=title or page_title or _title_and_text(body)[0],
        text=body,
        source=source,
        published=published,
        derived_id=True,
        origin=origin,
    )


def from_pdf(doc_id: str, data: bytes, source: str, *, title: str | None = None, origin: str | None = None) -> Document:
    """The text layer of a PDF, page by page; the date from its /CreationDate."""
    import time
    import warnings

    from pypdf import PdfReader
    from pypdf import apply_configuration
    from pypdf.errors import LimitReachedError

    # A damaged file is reported once, as the LoadError below; pypdf's own log lines and
    # warnings about it ("EOF marker not found", ...) would only repeat it as noise.
    # (Levels and warning filters are process-wide: a concurrent extraction may, at worst,
    # leave pypdf quiet, which loses nothing this function doesn't report itself.)
    pypdf_log = logging.getLogger("pypdf")
    level = pypdf_log.level
    pypdf_log.setLevel(logging.CRITICAL + 1)
    try:
        with warnings.catch_warnings(), apply_configuration(stream_parsing_work_maximum_count=PDF_PAGE_TOKENS):
            warnings.simplefilter("ignore")
            reader = PdfReader(io.BytesIO(data))
            deadline = time.monotonic() + PDF_READ_S
            pages = []
            for page in reader.pages:
                if time.monotonic() > deadline:
                    raise LoadError(f"{source}: reading its text took longer than {PDF_READ_S:.0f} s (at page {len(pages) + 1} of {len(reader.pages)})")
                try:
                    pages.append((page.extract_text() or "").strip())
                except LimitReachedError:
                    pages.append("")  # a page past the parsing budget holds no text worth its cost
            meta_title = (reader.metadata.title if reader.metadata else None) or ""
            published = dates.from_pdf(reader.metadata)
    except LoadError:
        raise
    except Exception as exc:  # noqa: BLE001 - pypdf raises many types for damaged files
        raise LoadError(f"{source}: unreadable PDF ({exc})") from None
    finally:
        pypdf_log.setLevel(level)
    text = _require_text("\n\n".join(p for p in pages if p), source)
    return Document(
        id=doc_id,
        title=title or meta_title.strip() or _title_and_text(text)[0],
        text=text,
        source=source,
        published=published or dates.from_text(text),
        derived_id=True,
        origin=origin,
    )


def from_record(record: dict, source: str) -> Document:
    """One JSONL object: {"id", "title", "text", "published" or "date"?, ...metadata such as url}."""
    if not isinstance(record, dict):
        raise LoadError(f"{source}: a line is not a JSON object")
    text = record.get("text")
    if not isinstance(text, str) or not text.strip():
        raise LoadError(f"{source}: record {record.get('id')!r} has no text")
    raw_id = record.get("id")
    if raw_id is None or str(raw_id).strip() == "":
        raise LoadError(f"{source}: record without an id")
    try:
        doc_id = check_given(str(raw_id))
    except InvalidId as exc:
        raise LoadError(f"{source}: record {raw_id!r}: {exc}") from None
    text = normalize_newlines(text)
    date_key = next((k for k in DATE_FIELDS if record.get(k) not in (None, "")), None)
    published = dates.normalize(record[date_key]) if date_key else None
    future = dates.future_refusal(published)
    if future:
        raise LoadError(f"{source}: record {raw_id!r}: {future}")
    if date_key and published is None:
        # A date that can't be read is left out rather than failing the record: the article
        # is still worth answering from, only not by date.
        log.warning("%s: record %r: %r is not a date; stored undated", source, raw_id, record[date_key])
    metadata = {
        k: v
        for k, v in record.items()
        if k not in {"id", "title", "text", "source", "published", "publish_date", date_key}
        and isinstance(v, (str, int, float, bool))
    }
    return Document(
        id=doc_id,
        title=str(record.get("title") or _title_and_text(text)[0]),
        text=text,
        source=str(record.get("source") or source),
        published=published,
        metadata=metadata,
    )


def from_bytes(filename: str, data: bytes, *, title: str | None = None, origin: str | None = None) -> list[Document]:
    """Documents from an uploaded or read file, by its extension.

    `origin` names where the file came from (its path, or the upload's name), so the same
    file ingested again updates its document while another file of the same name doesn't.
    """
    name = Path(filename).name
    suffix = Path(name).suffix.lower()
    doc_id = derive(Path(name).stem, from_title=False)
    origin = origin or name
    if suffix in (".txt", ".md"):
        return [from_text(doc_id, data, name, title=title, origin=origin)]
    if suffix in (".html", ".htm"):
        return [from_html(doc_id, data, name, title=title, origin=origin)]
    if suffix == ".pdf":
        return [from_pdf(doc_id, data, name, title=title, origin=origin)]
    if suffix == ".jsonl":
        text = _decode(data, name)
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LoadError(f"{name}: line {n} is not JSON ({exc.msg})") from None
            docs.append(from_record(record, name))
        if not docs:
            raise LoadError(f"{name}: no records")
        return docs
    raise LoadError(f"{name}: unsupported file type (supported: {', '.join(SUPPORTED)})")


def discover(paths: list[Path]) -> tuple[list[Path], list[LoadFailure]]:
    """Expand folders recursively into supported files; missing paths are failures."""
    files: list[Path] = []
    failures: list[LoadFailure] = []
    for path in paths:
        if not path.exists():
            failures.append(LoadFailure(str(path), "no such file or folder"))
        elif path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)
            if not found:
                failures.append(LoadFailure(str(path), f"folder has no {', '.join(SUPPORTED)} files"))
            files.extend(found)
        else:
            files.append(path)
    return files, failures


def load_file(path: Path) -> list[Document]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(f"{path}: can't read ({exc.strerror})") from None
    return from_bytes(path.name, data, origin=str(path.resolve()))


def iter_documents(files: list[Path]) -> Iterator[tuple[Path, list[Document] | LoadFailure]]:
    for path in files:
        try:
            yield path, load_file(path)
        except LoadError as exc:
            yield path, LoadFailure(str(path), str(exc))
