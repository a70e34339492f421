"""RSS/Atom feeds and article URLs into Documents: one cycle over the sources, new items added, changed ones replaced."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

from index import dates
from index.documents import Document, normalize_newlines
from index.fetch import Fetched, FetchError, Fetcher, Stopped
from index.fetch_state import FetchState
from index.ids import Claim, derive
from index.ingest import IngestReport
from index.load import LoadError, LoadFailure, from_bytes
from index.space import StorageFull
from index.urls import without_credentials

log = logging.getLogger(__name__)

FEED_SUFFIXES = (".rss", ".atom", ".xml")
STATE_FILE = "fetch-state.json"
BATCH = 16  # documents embedded together; the state is saved after each batch is stored
_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml", "text/xml", "application/feed+json")
_PAGE_SUFFIX = re.compile(r"\.(?:s?html?|php|aspx?|jsp)$", re.I)
_TYPE_SUFFIX = {"text/html": ".html", "application/xhtml+xml": ".html", "text/plain": ".txt", "text/markdown": ".md", "application/pdf": ".pdf"}


def is_url(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def is_feed_file(source: str) -> bool:
    return not is_url(source) and Path(source).suffix.lower() in FEED_SUFFIXES


def canonical(url: str) -> str:
    """The URL an item is known by: no fragment, no credentials, scheme and host in lower case."""
    p = urlsplit(without_credentials(url.strip()))
    return urlunsplit((p.scheme.lower(), p.netloc.lower(), p.path or "/", p.query, ""))


def url_id(url: str) -> str:
    """A readable id from a URL, stable across edits of the article: host and path (`example.com_news_story`)."""
    p = urlsplit(url)
    path = _PAGE_SUFFIX.sub("", p.path.rstrip("/"))
    return derive(f"{p.hostname or ''}{path}{'_' + p.query if p.query else ''}", from_title=False)


def document_from_page(fetched: Fetched, url: str, *, title: str | None = None, published: str | None = None) -> Document:
    """A fetched page as a Document (HTML through trafilatura as for files, or text/PDF), known by `url`.

    The id is derived from the URL and `origin` is the URL, so fetching it again after the
    article changed replaces it. The page's own date wins; the feed's date is the fallback.
    """
    if looks_like_feed(fetched):
        raise LoadError(f"{url}: a feed, not an article page (qa ingest and qa watch read feeds)")
    suffix = _TYPE_SUFFIX.get(fetched.content_type) or Path(urlsplit(url).path).suffix.lower()
    if suffix not in (".html", ".htm", ".txt", ".md", ".pdf"):
        if fetched.content.lstrip()[:1] == b"<":
            suffix = ".html"
        else:
            raise LoadError(f"{url}: unsupported content type {fetched.content_type or 'unknown'!r}")
    data = fetched.content
    if suffix != ".pdf":
        data = _as_utf8(data, fetched.charset)
    docs = from_bytes(url_id(url) + suffix, data, title=title or None, origin=url)
    doc = docs[0]
    return replace(doc, source=url, published=doc.published or published)


def _as_utf8(data: bytes, charset: str | None) -> bytes:
    """The loaders read UTF-8; a page served in another charset (header, or a <meta> charset) is converted."""
    try:
        data.decode("utf-8")
        return data
    except UnicodeDecodeError:
        pass
    meta = re.search(rb"<meta[^>]+charset=[\"']?([\w.:-]+)", data[:4096], re.I)
    for name in (charset, meta.group(1).decode("ascii") if meta else None, "cp1252"):
        if not name:
            continue
        try:
            return data.decode(name).encode("utf-8")
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1").encode("utf-8")


def looks_like_feed(fetched: Fetched) -> bool:
    if fetched.content_type in _FEED_TYPES or "rss" in fetched.content_type or "atom" in fetched.content_type:
        return True
    head = fetched.content[:2000].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return fetched.content_type not in _TYPE_SUFFIX and (b"<rss" in head or b"<feed" in head or b"<rdf:rdf" in head)


@dataclass(frozen=True)
class Item:
    """One feed entry: the URL it is known by, and what the feed says of it."""

    key: str  # its link (or guid when it has no link): the document's origin
    link: str | None
    title: str
    published: str | None
    content: str  # the entry's own HTML or text, used when it has no link


def parse_feed(data: bytes, base_url: str) -> tuple[str, list[Item]]:
    """The feed's title and its items; LoadError if `data` is not a feed."""
    import feedparser

    parsed = feedparser.parse(data)  # bytes: feedparser never fetches anything itself here
    if not parsed.entries and (parsed.bozo or not parsed.get("version")):
        raise LoadError(f"{base_url}: not an RSS or Atom feed")
    items: list[Item] = []
    keys: set[str] = set()
    for entry in parsed.entries:
        link = entry.get("link")
        link = canonical(urljoin(base_url, link)) if link and is_url(urljoin(base_url, link)) else None
        guid = (entry.get("id") or "").strip()
        key = link or guid
        if not key or key in keys:
            continue  # an item listed twice is one article: the first listing is the one read
        keys.add(key)
        content = ""
        if entry.get("content"):
            content = entry["content"][0].get("value", "")
        content = content or entry.get("summary", "")
        published = None
        for field_name in ("published", "updated", "created"):
            published = dates.normalize(entry.get(field_name))
            if published:
                break
        items.append(Item(key, link, (entry.get("title") or "").strip(), published, content))
    return (parsed.feed.get("title") or "").strip(), items


def _entry_document(item: Item, source: str) -> Document:
    """An item without a link: the feed's own content is the article."""
    import lxml.html

    text = item.content
    if "<" in text:
        try:
            text = lxml.html.fromstring(text).text_content()
        except Exception:  # noqa: BLE001 - not HTML after all
            pass
    text = normalize_newlines(text).strip()
    if not text:
        raise LoadError(f"{item.key}: the item has no link and no content")
    return Document(
        id=derive(item.title or item.key, from_title=True),
        title=item.title or text.splitlines()[0][:200],
        text=text,
        source=source,
        published=item.published,
        derived_id=True,
        origin=item.key,
    )


@dataclass
class CycleReport:
    """What one pass over the sources did; `summary()` is the one line `qa watch` prints per cycle."""

    sources: int = 0
    ingest: IngestReport = field(default_factory=IngestReport)
    not_modified: list[str] = field(default_factory=list)  # known unchanged from a 304: the feed's items, or the page
    requests: int = 0
    stopped: bool = False
    deferred: int = 0  # feed items left for the next cycle (the per-feed item cap or time budget was reached)

    @property
    def failed(self) -> list[LoadFailure]:
        return self.ingest.failed

    def summary(self) -> str:
        unchanged = len(self.ingest.unchanged) + len(self.not_modified)
        line = (
            f"watch: {self.sources} source{'' if self.sources == 1 else 's'}, {len(self.ingest.added)} new, "
            f"{len(self.ingest.updated)} changed, {unchanged} unchanged, {len(self.failed)} failed"
        )
        if self.failed:
            shown = "; ".join(f"{f.source}: {_reason(f)}" for f in self.failed[:3])
            more = f"; +{len(self.failed) - 3} more" if len(self.failed) > 3 else ""
            line += f" ({shown}{more})"
        if self.deferred:
            line += f", {self.deferred} deferred to the next cycle"
        return line + (" (stopped)" if self.stopped else "")


def _reason(f: LoadFailure) -> str:
    return f.reason[len(f.source) + 2 :] if f.reason.startswith(f.source + ": ") else f.reason


class Sync:
    """One cycle over feeds (URL or file) and article URLs, with conditional requests remembered in the data folder.

    `add` writes documents (Pipeline.add_documents); `claims` lists what the store holds, so a
    URL whose document was deleted is fetched in full again instead of being answered 304.
    """

    def __init__(
        self,
        add: Callable[[list[Document]], IngestReport],
        claims: Callable[[], Mapping[str, Claim]],
        fetcher: Fetcher,
        state_path: Path,
        *,
        max_items: int | None = None,
        budget_s: float | None = None,
    ):
        self.add = add
        self.claims = claims
        self.fetcher = fetcher
        self.state = FetchState(state_path)
        # One feed's share of a cycle: at most `max_items` of its items, and no new item once
        # `budget_s` has passed on it; the rest wait for the next cycle, new items first.
        self.max_items = max_items
        self.budget_s = budget_s

    def run(self, sources: list[str]) -> CycleReport:
        report = CycleReport(sources=len(sources))
        requests_before = self.fetcher.requests
        stored = {c.origin for c in self.claims().values() if c.origin}
        try:
            for source in sources:
                if self.fetcher.stop.is_set():
                    report.stopped = True
                    break
                try:
                    self._source(source, stored, report)
                except Stopped:
                    report.stopped = True
                    break
                except StorageFull as exc:
                    # Every source after this one would fail the same way; the next cycle tries again.
                    report.failed.append(LoadFailure(source, str(exc)))
                    log.warning("watch: %s: %s", source, exc)
                    break
                except (FetchError, LoadError, OSError) as exc:
                    reason = exc.reason if isinstance(exc, FetchError) else str(exc)
                    report.failed.append(LoadFailure(source, reason))
                    log.warning("watch: %s: %s", source, reason)
                except Exception as exc:  # noqa: BLE001 - a store or parser error is this source's failure, not the cycle's
                    report.failed.append(LoadFailure(source, f"{type(exc).__name__}: {exc}"))
                    log.exception("watch: %s failed", source)
        finally:
            self.state.save()
            report.requests = self.fetcher.requests - requests_before
        return report

    def _validators(self, url: str, stored: bool) -> dict:
        """The conditional headers for `url`, only if what it gave last time is still in the store."""
        known = self.state.get(url)
        if not known or not stored:
            return {}
        return {"etag": known.get("etag"), "last_modified": known.get("last_modified")}

    def _source(self, source: str, stored: set[str], report: CycleReport) -> None:
        if is_url(source):
            url = canonical(source)
            known = self.state.get(url)
            # A feed is asked conditionally only if every item it had is still stored; a page only if it is.
            complete = all(i in stored for i in known.get("items", [])) if "items" in known else url in stored
            fetched = self.fetcher.get(url, **self._validators(url, complete))
            if fetched.not_modified:
                report.not_modified.extend(known["items"] if "items" in known else [url])
                return
            if looks_like_feed(fetched):
                _, items = parse_feed(fetched.content, fetched.url)
                if self._items(items, url, stored, report):
                    self.state.remember(url, fetched, items=[i.key for i in items])
                else:
                    self.state.forget(url)  # asked in full next time, so the items that failed are retried
                return
            doc = document_from_page(fetched, url)
            self._write([(doc, url, fetched)], report)
            return
        path = Path(source)
        data = path.read_bytes()
        _, items = parse_feed(data, path.resolve().as_uri())
        self._items(items, str(path), stored, report)

    def _items(self, items: list[Item], feed: str, stored: set[str], report: CycleReport) -> bool:
        """Fetch each item's page (conditionally) and write them in batches; True if none failed and none was deferred.

        Items not stored yet come first, then those to check for changes; past the item cap or
        the time budget the rest are deferred to the next cycle (so one huge or slow feed
        can't hold up the other sources).
        """
        ok = True
        pending: list[tuple[Document, str | None, Fetched | None]] = []
        ordered = [i for i in items if i.key not in stored] + [i for i in items if i.key in stored]
        if self.max_items is not None and len(ordered) > self.max_items:
            report.deferred += len(ordered) - self.max_items
            ordered = ordered[: self.max_items]
            ok = False
        until = time.monotonic() + self.budget_s if self.budget_s is not None else None
        try:
            for n, item in enumerate(ordered):
                if self.fetcher.stop.is_set():
                    raise Stopped()
                if until is not None and n > 0 and time.monotonic() >= until:  # one item a cycle at least: progress
                    report.deferred += len(ordered) - n
                    ok = False
                    log.info("watch: %s: time budget of %g s spent; %d items deferred", feed, self.budget_s, len(ordered) - n)
                    break
                try:
                    if item.link is None:
                        pending.append((_entry_document(item, feed), None, None))
                        continue
                    fetched = self.fetcher.get(item.link, **self._validators(item.link, item.link in stored))
                    if fetched.not_modified:
                        report.not_modified.append(item.link)
                        continue
                    doc = document_from_page(fetched, item.link, title=item.title, published=item.published)
                    pending.append((doc, item.link, fetched))
                except (FetchError, LoadError) as exc:
                    ok = False
                    reason = exc.reason if isinstance(exc, FetchError) else str(exc)
                    report.failed.append(LoadFailure(item.key, reason))
                    log.warning("watch: %s: %s", item.key, reason)
                if len(pending) >= BATCH:
                    batch, pending = pending, []  # a batch that fails to write is not tried again below
                    self._write(batch, report)
        finally:
            # Stopping between items still keeps what was fetched.
            self._write(pending, report)
        return ok

    def _write(self, pending: list[tuple[Document, str | None, Fetched | None]], report: CycleReport) -> None:
        if not pending:
            return
        result = self.add([doc for doc, _, _ in pending])
        report.ingest.added += result.added
        report.ingest.updated += result.updated
        report.ingest.unchanged += result.unchanged
        report.ingest.failed += result.failed
        report.ingest.chunks += result.chunks
        # Remembered only once stored: a crash before this point fetches the page in full again.
        for _, url, fetched in pending:
            if url is not None and fetched is not None:
                self.state.remember(url, fetched)
        self.state.save()
