"""Feeds and pages from a local HTTP server: ingest once, conditional re-checks, replacement, failures, the fetch route (real models)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from index.feeds import STATE_FILE, Sync, parse_feed
from index.fetch import AddressGuard, Fetcher, FetchError, Refused
from tests.conftest import free_port

ITEMS = 200
TOWNS = ["Lowtown", "Northfield", "Eastmere", "Westbrook", "Southport", "Highcliff", "Rivermouth", "Oakvale"]


class Site:
    """Pages served on 127.0.0.1 with ETag and Last-Modified, answering conditional requests with 304; every request logged."""

    def __init__(self) -> None:
        self.pages: dict[str, tuple[bytes, str, str, str]] = {}  # path -> body, content type, etag, last-modified
        self.broken: set[str] = set()
        self.redirects: dict[str, str] = {}
        self.hooks: dict[str, object] = {}  # path -> called when that path is served
        self.log: list[tuple[str, int, bool]] = []  # path, status, conditional
        self.lock = threading.Lock()
        self._version = 0
        site = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                conditional = bool(self.headers.get("If-None-Match") or self.headers.get("If-Modified-Since"))
                status, body, headers = site.answer(self.path, self.headers)
                if self.path in site.hooks:
                    site.hooks[self.path]()
                with site.lock:
                    site.log.append((self.path, status, conditional))
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def put(self, path: str, body: str, ctype: str, encoding: str = "utf-8") -> None:
        self._version += 1
        data = body.encode(encoding)
        etag = '"' + hashlib.sha1(data).hexdigest()[:16] + '"'
        self.pages[path] = (data, ctype, etag, formatdate(1_700_000_000 + self._version, usegmt=True))

    def answer(self, path: str, headers) -> tuple[int, bytes, dict[str, str]]:
        if path in self.broken:
            return 500, b"server error", {"Content-Type": "text/plain"}
        if path in self.redirects:
            return 302, b"", {"Location": self.redirects[path]}
        if path not in self.pages:
            return 404, b"not found", {"Content-Type": "text/plain"}
        data, ctype, etag, modified = self.pages[path]
        validators = {"ETag": etag, "Last-Modified": modified}
        inm, ims = headers.get("If-None-Match"), headers.get("If-Modified-Since")
        if inm is not None:
            if etag in [t.strip() for t in inm.split(",")]:
                return 304, b"", validators
        elif ims is not None and parsedate_to_datetime(ims) >= parsedate_to_datetime(modified):
            return 304, b"", validators
        return 200, data, {"Content-Type": ctype, **validators}

    def requests_since(self, n: int) -> list[tuple[str, int, bool]]:
        with self.lock:
            return self.log[n:]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def article(i: int, version: int = 1) -> tuple[str, str, str]:
    town = TOWNS[i % len(TOWNS)]
    title = f"Story {i}: a new library opens in {town}"
    body = f"A new public library opened in {town} on Monday, the council said. It holds {1000 + i} books and cost {10 + i} thousand euros."
    if version > 1:
        body = f"A new public library opened in {town} on Monday, the council said. Correction: it holds {5000 + i} books and cost {10 + i} thousand euros."
    published = f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T10:30:00+00:00"
    return title, body, published


def page_html(i: int, version: int = 1) -> str:
    title, body, published = article(i, version)
    return (
        f"<!doctype html><html><head><title>{title}</title>"
        f'<meta property="article:published_time" content="{published}"></head>'
        f"<body><article><h1>{title}</h1><p>{body}</p></article></body></html>"
    )


def feed_xml(site: Site, name: str, numbers: range, versions: dict[int, int] | None = None) -> str:
    versions = versions or {}
    items = []
    for i in numbers:
        title, _, published = article(i)
        link = f"{site.url}/{name}/{i}.html"
        updated = f"<updated>{versions.get(i, 1)}</updated>" if versions.get(i, 1) > 1 else ""
        items.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>"
            f"<pubDate>{formatdate(1_700_000_000 + 86400 * i, usegmt=True)}</pubDate>{updated}</item>"
        )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title><link>{site.url}/</link><description>test</description>{"".join(items)}</channel></rss>'


def publish(site: Site, name: str, numbers: range, versions: dict[int, int] | None = None) -> str:
    for i in numbers:
        site.put(f"/{name}/{i}.html", page_html(i, (versions or {}).get(i, 1)), "text/html; charset=utf-8")
    site.put(f"/{name}/feed.xml", feed_xml(site, name, numbers, versions), "application/rss+xml")
    return f"{site.url}/{name}/feed.xml"


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    yield s
    s.close()


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    p = Pipeline(Settings(data_dir=tmp_path_factory.mktemp("feeds") / "data", sample_corpus=False))
    p.open_store()
    return p


def make_sync(pipe) -> Sync:
    fetcher = Fetcher(host_delay_s=0.0, backoff_s=0.01, retries=2, timeout_s=5.0)
    return Sync(pipe.add_documents, pipe.store.claims, fetcher, pipe.settings.data_dir / STATE_FILE)


def test_a_full_disk_ends_the_cycle_with_one_line_and_nothing_half_stored(site: Site, tmp_path: Path) -> None:
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    full = Pipeline(Settings(data_dir=tmp_path / "data", sample_corpus=False, min_free_mb=10**12))
    full.open_store()
    first, second = publish(site, "full", range(5200, 5202)), publish(site, "after-full", range(5300, 5301))
    sync = make_sync(full)
    report = sync.run([first, second])
    assert [f.source for f in report.failed] == [first] and "QA_MIN_FREE_MB" in report.failed[0].reason, report.summary()
    assert not report.ingest.added and full.store.count() == (0, 0)
    # The next source would fail the same way: it is left for the next cycle, not fetched.
    assert sync.fetcher.requests == 3  # the feed and its two items


def test_feed_ingested_once_then_conditional_then_replaced(site: Site, pipe) -> None:
    feed = publish(site, "news", range(ITEMS))

    started = time.perf_counter()
    first = make_sync(pipe).run([feed])
    took = time.perf_counter() - started
    print(f"\nfirst cycle: {ITEMS} items in {took:.1f} s ({first.requests} requests): {first.summary()}")
    assert not first.failed, first.summary()
    assert len(first.ingest.added) == ITEMS and first.requests == ITEMS + 1
    docs = {d.source: d for d in pipe.list_documents()}
    assert len(docs) == ITEMS
    for i in (0, 57, 199):
        d = docs[f"{site.url}/news/{i}.html"]
        title, _, published = article(i)
        assert d.title == title and d.published == published
    assert first.summary().startswith(f"watch: 1 source, {ITEMS} new, 0 changed, 0 unchanged, 0 failed")

    # Second cycle: one conditional request for the feed, answered 304; nothing written.
    generation = pipe.store.generation()
    hashes = {d.doc_id: d.content_hash for d in pipe.list_documents()}
    before = len(site.log)
    second = make_sync(pipe).run([feed])
    log = site.requests_since(before)
    print(f"second cycle: {len(log)} request(s): {log}; {second.summary()}")
    assert log == [("/news/feed.xml", 304, True)]
    assert second.requests == 1
    assert second.summary() == f"watch: 1 source, 0 new, 0 changed, {ITEMS} unchanged, 0 failed"
    assert {d.doc_id: d.content_hash for d in pipe.list_documents()} == hashes
    assert pipe.store.generation() == generation

    # One article corrected: the feed changes, every page is asked conditionally, only that one is
    # fetched again, and it replaces its earlier version.
    changed = 57
    publish(site, "news", range(ITEMS), {changed: 2})
    before = len(site.log)
    third = make_sync(pipe).run([feed])
    log = site.requests_since(before)
    assert ("/news/feed.xml", 200, True) in log
    pages = [entry for entry in log if entry[0] != "/news/feed.xml"]
    assert len(pages) == ITEMS and all(conditional for _, _, conditional in pages)
    assert [p for p, status, _ in pages if status == 200] == [f"/news/{changed}.html"]
    assert len(third.ingest.updated) == 1 and not third.ingest.added, third.summary()
    assert third.summary() == f"watch: 1 source, 0 new, 1 changed, {ITEMS - 1} unchanged, 0 failed"
    docs = pipe.list_documents()
    assert len(docs) == ITEMS
    corrected = [d for d in docs if d.source == f"{site.url}/news/{changed}.html"]
    assert len(corrected) == 1
    text = pipe.get_document(corrected[0].doc_id).text
    assert "Correction: it holds 5057 books" in text and "1057 books" not in text


def test_failing_feed_is_reported_and_others_go_on(site: Site, pipe) -> None:
    good = publish(site, "local", range(1000, 1003))
    broken = f"{site.url}/broken/feed.xml"
    site.broken.add("/broken/feed.xml")
    closed = f"http://127.0.0.1:{free_port()}/feed.xml"
    report = make_sync(pipe).run([broken, good, closed])
    print(report.summary())
    reasons = {f.source: f.reason for f in report.failed}
    assert reasons == {broken: "HTTP 500", closed: "connection refused"}
    assert len(report.ingest.added) == 3
    line = report.summary()
    assert line.startswith("watch: 3 sources, 3 new, 0 changed, 0 unchanged, 2 failed (")
    assert f"{broken}: HTTP 500" in line and f"{closed}: connection refused" in line
    # 500 is retried with backoff (1 + 2 retries), then reported.
    assert [s for p, s, _ in site.log if p == "/broken/feed.xml"] == [500, 500, 500]


def test_stop_between_items_keeps_what_was_fetched(site: Site, pipe) -> None:
    feed = publish(site, "stopped", range(2000, 2010))
    sync = make_sync(pipe)
    stop_after = 3
    # Set while the third page is being served, as the SIGTERM handler of `qa watch` would.
    site.hooks[f"/stopped/{2000 + stop_after - 1}.html"] = sync.fetcher.stop.set
    report = sync.run([feed])
    assert report.stopped and len(report.ingest.added) == stop_after
    assert report.summary().endswith("(stopped)")
    # The next cycle fetches the feed in full (its items were not all stored) and adds the rest.
    rest = make_sync(pipe).run([feed])
    assert len(rest.ingest.added) == 10 - stop_after and len(rest.not_modified) == stop_after


def test_parse_atom_and_relative_links() -> None:
    atom = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><id>urn:a</id><updated>2024-03-05T10:30:00Z</updated>
<entry><title>One</title><id>urn:1</id><link href="/one.html#top"/><updated>2024-03-05T10:30:00Z</updated></entry>
<entry><title>Two</title><id>urn:2</id><updated>2024-03-06T00:00:00Z</updated><content type="html">&lt;p&gt;Text of two.&lt;/p&gt;</content></entry>
</feed>"""
    title, items = parse_feed(atom, "https://Example.org/feeds/atom.xml")
    assert title == "A"
    assert items[0].key == items[0].link == "https://example.org/one.html"
    assert items[0].published == "2024-03-05T10:30:00+00:00"
    assert items[1].link is None and items[1].key == "urn:2" and "Text of two" in items[1].content


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/x", "http://localhost:9/x", "http://10.1.2.3/x", "http://169.254.169.254/latest/meta-data/", "http://[::1]:9/x",
     "http://0.0.0.0/x", "http://2130706433/x", "file:///etc/passwd", "ftp://example.org/x", "http://[::ffff:127.0.0.1]/x"],
)
def test_guard_refuses_non_public_addresses(url: str) -> None:
    with pytest.raises(Refused):
        AddressGuard([]).check(url)


def test_guard_says_what_a_refused_address_is() -> None:
    with pytest.raises(Refused) as exc:
        AddressGuard([]).check("http://127.0.0.1:9/x")
    assert exc.value.reason == "refused: 127.0.0.1 is a loopback address (allow it with QA_FETCH_ALLOW_HOSTS)"
    with pytest.raises(Refused) as exc:
        AddressGuard([]).check("http://localhost:9/x")
    assert exc.value.reason == "refused: localhost resolves to 127.0.0.1, a loopback address (allow it with QA_FETCH_ALLOW_HOSTS)"


def test_an_allowed_address_allows_the_names_that_resolve_to_it() -> None:
    assert AddressGuard(["127.0.0.1"]).check("http://localhost:9/x") == "127.0.0.1"  # and the connection is pinned to it
    assert AddressGuard(["localhost"]).check("http://127.0.0.1:9/x") == "127.0.0.1"
    with pytest.raises(Refused):
        AddressGuard(["127.0.0.1"]).check("http://[::1]:9/x")


# -- the HTTP route ---------------------------------------------------------------------------
def _client(data: Path, **settings) -> TestClient:
    from api.app import create_app
    from qa.settings import Settings

    return TestClient(create_app(Settings(data_dir=data, sample_corpus=False, **settings)))


def test_fetch_route_is_off_by_default(tmp_path: Path, site: Site) -> None:
    with _client(tmp_path / "data") as c:
        r = c.post("/documents/fetch", json={"url": f"{site.url}/news/1.html"})
    assert r.status_code == 403 and "QA_FETCH_ENABLED" in r.json()["detail"]


def test_fetch_route_refuses_private_addresses_unless_allowed(tmp_path: Path, site: Site) -> None:
    publish(site, "api", range(3000, 3001))
    page = f"{site.url}/api/3000.html"
    port = site.url.rsplit(":", 1)[1]
    refused = [page, f"http://localhost:{port}/api/3000.html", "http://10.0.0.1/x", "http://169.254.169.254/latest/meta-data/", f"http://[::1]:{port}/x", "file:///etc/passwd"]
    with _client(tmp_path / "data", fetch_enabled=True) as c:
        for url in refused:
            r = c.post("/documents/fetch", json={"url": url})
            assert r.status_code == 422, (url, r.status_code, r.text)
            assert "refused" in r.json()["detail"], r.text
        # Not JSON: refused by the guard like every other write of the wrong type.
        assert c.post("/documents/fetch", content=b"url=" + page.encode(), headers={"content-type": "application/x-www-form-urlencoded"}).status_code == 415
        # A page of another origin can't make the server fetch.
        assert c.post("/documents/fetch", json={"url": page}, headers={"origin": "https://evil.example"}).status_code == 403
    before = len(site.log)
    with _client(tmp_path / "data", fetch_enabled=True, fetch_allow_hosts=["127.0.0.1"]) as c:
        r = c.post("/documents/fetch", json={"url": page})
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["added"]) == 1 and body["chunks"] >= 1
        doc = c.get(f"/documents/{body['added'][0]}").json()
        assert doc["title"] == article(3000)[0] and doc["published"] == article(3000)[2] and doc["source"] == page
        # The same page again: unchanged, no duplicate.
        assert c.post("/documents/fetch", json={"url": page}).json()["unchanged"] == body["added"]
        # A redirect from an allowed host to a refused one is checked again.
        site.redirects["/api/jump"] = f"http://[::1]:{port}/api/3000.html"
        r = c.post("/documents/fetch", json={"url": f"{site.url}/api/jump"})
        assert r.status_code == 422 and "::1 is a loopback address" in r.json()["detail"]
        r = c.post("/documents/fetch", json={"url": f"{site.url}/api/missing.html"})
        assert r.status_code == 502 and "HTTP 404" in r.json()["detail"]
        r = c.post("/documents/fetch", json={"url": f"{site.url}/api/feed.xml"})
        assert r.status_code == 422 and "a feed" in r.json()["detail"]
        # A page in another charset is read as such.
        html = "<html><head><title>Café reopens</title></head><body><article><p>The café on the quay reopened on Friday. Its owner, Renée, said it had been closed for two years.</p></article></body></html>"
        site.put("/api/latin.html", html, "text/html; charset=windows-1252", encoding="cp1252")
        r = c.post("/documents/fetch", json={"url": f"{site.url}/api/latin.html"})
        assert r.status_code == 200, r.text
        doc = c.get(f"/documents/{r.json()['added'][0]}").json()
        assert doc["title"] == "Café reopens" and "Renée" in doc["text"]
    assert ("/api/3000.html", 200, False) in site.requests_since(before)
    assert not any(p.startswith("/x") for p, _, _ in site.log)


def test_fetcher_user_agent_and_rate_limit(site: Site) -> None:
    publish(site, "rate", range(4000, 4003))
    with Fetcher(host_delay_s=0.2) as f:
        started = time.monotonic()
        for i in range(4000, 4003):
            f.get(f"{site.url}/rate/{i}.html")
        # Three requests to one host: the third may start no sooner than two delays after the first.
        assert time.monotonic() - started >= 0.4
    from index.fetch import USER_AGENT

    assert USER_AGENT.startswith("qa-articles/")
    with Fetcher(retries=0, timeout_s=2) as f, pytest.raises(FetchError) as exc:
        f.get(f"{site.url}/rate/none.html")
    assert exc.value.reason == "HTTP 404"


# -- the CLI ----------------------------------------------------------------------------------
def test_cli_ingest_feed_then_watch_stops_on_sigterm(tmp_path: Path, site: Site) -> None:
    import signal
    import subprocess

    from tests.conftest import BIN, qa_env, run_qa

    feed = publish(site, "cli", range(5000, 5003))
    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false", QA_FETCH_ALLOW_HOSTS="127.0.0.1")
    r = run_qa("ingest", feed, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("3 added, 0 updated, 0 unchanged"), r.stdout
    assert (tmp_path / "data" / STATE_FILE).is_file()
    # An article URL on its own is the same document as the feed's item (known by its URL).
    r = run_qa("ingest", f"{site.url}/cli/5001.html", env=env)
    assert r.returncode == 0 and r.stdout.startswith("0 added, 0 updated, 1 unchanged"), (r.stdout, r.stderr)

    proc = subprocess.Popen(
        [str(BIN / "qa"), "watch", feed, f"{site.url}/cli/missing.xml", "--every", "1h"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.strip().startswith("watch: 2 sources, 0 new, 0 changed, 3 unchanged, 1 failed ("), line
        assert f"{site.url}/cli/missing.xml: HTTP 404" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    r = run_qa("watch", "not-a-feed.txt", env=env)
    assert r.returncode == 2 and "not a feed or URL" in r.stderr


def test_cli_fetches_pass_the_same_address_guard_as_the_api(tmp_path: Path, site: Site) -> None:
    from tests.conftest import qa_env, run_qa

    feed = publish(site, "guarded", range(5100, 5102))
    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false")
    r = run_qa("ingest", f"{site.url}/guarded/5100.html", env=env)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stderr.strip().endswith("refused: 127.0.0.1 is a loopback address (allow it with QA_FETCH_ALLOW_HOSTS)"), r.stderr
    assert "Traceback" not in r.stderr
    r = run_qa("watch", "--once", feed, env=env)
    assert r.returncode == 1 and "loopback address" in r.stdout and "0 new" in r.stdout, (r.stdout, r.stderr)
    # A public feed whose items link to a private address: each item is refused, nothing connects.
    site.put("/guarded/private.xml", '<?xml version="1.0"?><rss version="2.0"><channel><title>p</title>'
             '<item><title>Inside</title><link>http://10.0.0.1/secret.html</link></item></channel></rss>', "application/rss+xml")
    allowed = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false", QA_FETCH_ALLOW_HOSTS="127.0.0.1")
    r = run_qa("watch", "--once", f"{site.url}/guarded/private.xml", env=allowed)
    assert "10.0.0.1 is a private address" in r.stdout + r.stderr and "0 new" in r.stdout, (r.stdout, r.stderr)
    r = run_qa("docs", "list", env=allowed)
    assert "secret" not in r.stdout


def test_fetch_route_needs_the_api_key(tmp_path: Path, site: Site) -> None:
    with _client(tmp_path / "data", fetch_enabled=True, fetch_allow_hosts=["127.0.0.1"], api_key="k3y") as c:
        assert c.post("/documents/fetch", json={"url": f"{site.url}/news/1.html"}).status_code == 401


def test_a_feed_listing_one_link_twice_stores_it_once_and_the_next_source_goes_on(site: Site, pipe) -> None:
    publish(site, "twice", range(6000, 6001))
    link = f"{site.url}/twice/6000.html"
    items = "".join(f"<item><title>{title}</title><link>{link}</link></item>" for title in ("First title", "Second title"))
    site.put("/twice/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>twice</title>{items}</channel></rss>', "application/rss+xml")
    other = publish(site, "after", range(6100, 6102))
    report = make_sync(pipe).run([f"{site.url}/twice/feed.xml", other])
    assert not report.failed, report.summary()
    assert len(report.ingest.added) == 3
    stored = [d for d in pipe.list_documents() if d.source == link]
    assert len(stored) == 1 and stored[0].title == "First title"


def test_a_source_whose_write_fails_does_not_stop_the_others(site: Site, pipe) -> None:
    broken, good = publish(site, "unwritable", range(6200, 6201)), publish(site, "written", range(6300, 6302))
    sync = make_sync(pipe)

    def add(docs):
        if any("unwritable" in d.source for d in docs):
            raise RuntimeError("the store refused the write")
        return pipe.add_documents(docs)

    sync.add = add
    report = sync.run([broken, good])
    assert [(f.source, f.reason) for f in report.failed] == [(broken, "RuntimeError: the store refused the write")]
    assert len(report.ingest.added) == 2


# -- the overall deadline of a fetch ------------------------------------------------------------
class Trickle:
    """A page on 127.0.0.1 that sends one byte every `every_s`: the headers at once (`/body`) or trickled too (`/all`)."""

    def __init__(self, every_s: float = 0.2, lasting_s: float = 30.0) -> None:
        page = b"<html><head><title>Slow</title></head><body><article><p>" + b"A page that never ends. " * 200 + b"</p></article></body></html>"

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n" % len(page)
                if self.path == "/body":
                    self.wfile.write(head)
                    self.wfile.flush()
                    data = page
                else:
                    data = head + page
                ends = time.monotonic() + lasting_s
                try:
                    for i in range(len(data)):
                        if time.monotonic() > ends:
                            return
                        self.wfile.write(data[i : i + 1])
                        self.wfile.flush()
                        time.sleep(every_s)
                except OSError:
                    return  # the client hung up

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def trickle() -> Iterator[Trickle]:
    t = Trickle()
    yield t
    t.close()


@pytest.mark.parametrize("path", ["/body", "/all"])
def test_a_trickling_page_is_cut_off_at_the_deadline(trickle: Trickle, path: str) -> None:
    from index.fetch import TooSlow

    started = time.monotonic()
    with Fetcher(deadline_s=1.0, timeout_s=5.0, retries=2, backoff_s=0.01, host_delay_s=0.0) as f, pytest.raises(TooSlow) as exc:
        f.get(trickle.url + path)
    took = time.monotonic() - started
    # Cut off near the 1 s deadline, well before the 30 s the page trickles for (a loose bound: a busy machine is slow to wake).
    assert took < 10.0, took
    assert exc.value.reason == "took longer than 1 s (QA_FETCH_DEADLINE_S)"


def test_the_fetch_route_answers_504_by_the_deadline_and_health_meanwhile(tmp_path: Path, trickle: Trickle) -> None:
    import httpx
    import uvicorn

    from api.app import create_app
    from qa.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", sample_corpus=False, fetch_enabled=True, fetch_allow_hosts=["127.0.0.1"], fetch_deadline_s=2.0)
    # A real server on one event loop, without the models' warm-up (lifespan off): a fetch must not hold up other requests.
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=free_port(), lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.config.port}"
    try:
        while not server.started:
            time.sleep(0.05)
        assert httpx.get(base + "/health", timeout=30).status_code == 200  # the store opened before timing anything
        answer: dict = {}

        def fetch() -> None:
            started = time.monotonic()
            answer["response"] = httpx.post(base + "/documents/fetch", json={"url": trickle.url + "/body"}, timeout=30)
            answer["took"] = time.monotonic() - started

        fetching = threading.Thread(target=fetch)
        fetching.start()
        time.sleep(0.3)
        assert httpx.get(base + "/health", timeout=30).status_code == 200
        assert fetching.is_alive()  # answered while the fetch was still trickling in
        fetching.join(30)
        r = answer["response"]
        assert r.status_code == 504 and "took longer than 2 s" in r.json()["detail"], r.text
        assert answer["took"] < 15.0, answer["took"]  # near the 2 s deadline, not the 30 s the page trickles for
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.mark.slow
def test_watch_once_ends_at_the_deadline_of_a_trickling_page(tmp_path: Path, site: Site, trickle: Trickle) -> None:
    from tests.conftest import qa_env, run_qa

    feed = publish(site, "beside", range(7000, 7002))
    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false", QA_FETCH_DEADLINE_S="1", QA_FETCH_ALLOW_HOSTS="127.0.0.1")
    started = time.monotonic()
    r = run_qa("watch", "--once", trickle.url + "/body", feed, env=env, timeout=120)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert r.stdout.startswith("watch: 2 sources, 2 new, 0 changed, 0 unchanged, 1 failed ("), r.stdout
    assert "took longer than 1 s" in r.stdout
    assert time.monotonic() - started < 60


# -- credentials in URLs ------------------------------------------------------------------------
def test_urls_with_credentials_are_refused_to_fetch_and_never_stored(tmp_path: Path, site: Site, pipe) -> None:
    from api.app import create_app
    from index.fetch import Refused
    from qa.settings import Settings
    from tests.conftest import qa_env, run_qa

    port = site.url.rsplit(":", 1)[1]
    secret = f"http://reader:s3cret@127.0.0.1:{port}/creds/8000.html"
    with Fetcher(host_delay_s=0.0) as f, pytest.raises(Refused) as exc:
        f.get(secret)
    assert "credentials in URLs are not sent" in str(exc.value) and "s3cret" not in str(exc.value)

    # No lifespan: the route and the list need no models.
    client = TestClient(create_app(Settings(data_dir=tmp_path / "data", sample_corpus=False, fetch_enabled=True, fetch_allow_hosts=["127.0.0.1"])))
    r = client.post("/documents/fetch", json={"url": secret})
    assert r.status_code == 422 and "credentials in URLs are not sent" in r.text and "s3cret" not in r.text, r.text
    r = client.post("/documents", json={"title": "Given", "text": "A source given with a password.", "source": "https://reader:s3cret@example.org/a?x=1"})
    assert r.status_code == 200, r.text
    assert [d["source"] for d in client.get("/documents").json()] == ["https://example.org/a?x=1"]

    # A feed's link with credentials: known, fetched and stored without them.
    publish(site, "creds", range(8000, 8001))
    site.put("/creds/feed.xml", f'<?xml version="1.0"?><rss version="2.0"><channel><title>c</title><item><title>T</title><link>{secret}</link></item></channel></rss>', "application/rss+xml")
    report = make_sync(pipe).run([f"{site.url}/creds/feed.xml"])
    assert not report.failed and len(report.ingest.added) == 1, report.summary()
    assert {d.source for d in pipe.list_documents() if "creds" in d.source} == {f"{site.url}/creds/8000.html"}

    r = run_qa("ingest", secret, env=qa_env(tmp_path / "cli", QA_SAMPLE_CORPUS="false", QA_FETCH_ALLOW_HOSTS="127.0.0.1"), timeout=60)
    assert r.returncode == 2 and r.stderr.strip() == f"error: http://127.0.0.1:{port}/creds/8000.html: credentials in URLs are not sent: remove the 'user:password@' part", r.stderr
