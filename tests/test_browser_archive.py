"""The chat page over an archive of 3,000 articles, in Debian's chromium driven by Playwright:
the list searched and paged by the server, a citation opened from beyond the loaded page, the
question box in view after several questions, the sample articles' notice and their removal."""

from __future__ import annotations

import json
import random
import re
import time
import zlib
from pathlib import Path

import httpx
import numpy as np
import pytest

from index.documents import Document
from tests.conftest import ROOT
from tests.test_browser import ask, browser  # noqa: F401 - the shared chromium

pytestmark = [pytest.mark.slow, pytest.mark.browser]

ARCHIVE = 3000
SAMPLES = 5
SHOTS = ROOT / "eval" / "results" / "page"
TOWNS = ["Velmar", "Ostby", "Lunde", "Kessel", "Brenna", "Tovik", "Harlow", "Mirren", "Sandvik", "Aldhus"]
THINGS = ["ferry timetable", "harbour crane", "school roof", "library hours", "bus route", "market square", "bridge repairs", "water tariff"]
PEOPLE = ["Ada Lind", "Per Holm", "Ines Varga", "Tomas Berg", "Lea Morin", "Jon Sato", "Ruth Okafor", "Emil Ström"]
# The oldest article of the archive: last in the list's default order (newest first), far off the first page.
OLDEST = Document("kessel-lighthouse-2001", "Lighthouse at Kessel Point repainted",
                  "The old lighthouse at Kessel Point was repainted by volunteer Marta Olsen in a bright shade of teal.",
                  "coast-weekly", "2001-03-04")
OLDEST_QUESTION = "Who repainted the lighthouse at Kessel Point?"


def synthetic_articles(n: int, seed: int = 7) -> list[Document]:
    """`n` short, distinct, dated articles (one passage each), the last the oldest of all."""
    rnd = random.Random(seed)
    out = []
    for i in range(n - 1):
        town, thing, who = rnd.choice(TOWNS), rnd.choice(THINGS), rnd.choice(PEOPLE)
        year, month, day = rnd.randint(2012, 2024), rnd.randint(1, 12), rnd.randint(1, 28)
        title = f"{town} council report {i:04d}: {thing}"
        text = (f"The {town} council met to discuss the {thing}. Councillor {who} said the plan numbered {i} "
                f"would cost {rnd.randint(2, 90) * 1000} crowns and take {rnd.randint(2, 30)} weeks.")
        out.append(Document(f"report-{i:04d}", title, text, f"{town.lower()}-gazette", f"{year}-{month:02d}-{day:02d}"))
    return out + [OLDEST]


TOPIC = re.compile(r"The \w+ council met to discuss the [\w ]+\.")


class TopicEmbedder:
    """The real embedder, asked once per topic sentence of the synthetic articles (80 of them)
    instead of once per article: each article's vector is its topic's with a little noise of its
    own, so the archive's vectors cluster by subject as real ones do. Other texts (the sample
    articles, the article the tests ask about) are embedded as they are."""

    def __init__(self, real):
        self.real = real
        self.cache: dict[str, np.ndarray] = {}

    def __getattr__(self, name):
        return getattr(self.real, name)

    def __call__(self, texts: list[str]) -> np.ndarray:
        keys = [(m.group(0) if (m := TOPIC.search(t)) else t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self.cache))
        if missing:
            self.cache.update(zip(missing, self.real(missing)))
        out = []
        for t, k in zip(texts, keys):
            v = self.cache[k]
            if k != t:
                noise = np.random.default_rng(zlib.crc32(t.encode())).normal(0, 0.02, v.shape).astype(np.float32)
                v = v + noise
            out.append(v / np.linalg.norm(v))
        return np.stack(out).astype(np.float32)


def build_archive(data: Path) -> float:
    """A data directory with the five sample articles and 2,995 synthetic ones, through the ingest
    pipeline (chunk, embed, store, keyword and copy indexes; the synthetic articles' vectors from
    `TopicEmbedder`); seconds it took."""
    from qa.pipeline import SAMPLE_CORPUS, Pipeline
    from qa.settings import Settings

    started = time.monotonic()
    pipe = Pipeline(Settings(data_dir=data, sample_corpus=False))
    pipe.ingest_paths([SAMPLE_CORPUS])
    pipe.open_store()
    pipe._indexer.embedder = TopicEmbedder(pipe.embedder)
    pipe.add_documents(synthetic_articles(ARCHIVE - SAMPLES))
    return time.monotonic() - started


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from tests.conftest import Server, qa_env

    data = tmp_path_factory.mktemp("archive") / "data"
    built = build_archive(data)
    server = Server(qa_env(data))
    try:
        server.wait_ready()
        server.built_s = built
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def figures():
    """What the tests measure, written to eval/results/page.md at the end."""
    found: dict[str, str] = {}
    yield found
    if found:
        write_figures(found)


def open_page(browser, server, width: int = 1280, height: int = 800):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=30_000)  # a busy machine: the server answers a page in well under that
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US", timezone_id="UTC")
    context.set_default_timeout(60_000)
    pg = context.new_page()
    pg.problems = []
    pg.on("console", lambda m: pg.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))
    pg.on("dialog", lambda d: d.accept())  # the page's own "Remove ...?" questions
    pg.goto(server.url + "/")
    return context, pg


def shot(pg, name: str) -> None:
    """The window as a small PNG (a palette of 64 colours: the page has few)."""
    from io import BytesIO

    from PIL import Image

    SHOTS.mkdir(parents=True, exist_ok=True)
    image = Image.open(BytesIO(pg.screenshot(type="png"))).convert("RGB")
    image.quantize(colors=64).save(SHOTS / name, optimize=True)


def in_view(pg, selector: str) -> bool:
    """Whether the element is wholly inside the window."""
    return pg.evaluate(
        """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
        return r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight + 1 && r.right <= window.innerWidth + 1 && r.height > 0; }""",
        selector,
    )


def test_the_list_of_3000_articles_is_searched_and_paged_by_the_server(browser, archive, figures) -> None:  # noqa: F811
    from playwright.sync_api import expect

    requests: list[str] = []
    context, pg = open_page(browser, archive)
    pg.on("request", lambda r: requests.append(r.url) if "/documents" in r.url else None)
    try:
        expect(pg.locator("#doc-count")).to_have_text("3,000 articles", timeout=60_000)
        paint = pg.evaluate("performance.getEntriesByType('paint').map(e => [e.name, e.startTime])")
        listed = pg.evaluate("performance.now()")
        figures["building the 3,000-article index through the ingest pipeline (s)"] = f"{archive.built_s:.0f}"
        figures["first contentful paint, 3,000 articles (ms)"] = f"{dict(paint).get('first-contentful-paint', float('nan')):.0f}"
        figures["page open until the list shows its count, 3,000 articles (ms)"] = f"{listed:.0f}"
        # One page, never the archive: 50 items in the page, every request asks for a page.
        expect(pg.locator("#doc-list > li")).to_have_count(50)
        assert all("limit=" in u for u in requests if u.split("?")[0].endswith("/documents")), requests
        assert "1–50 of 3,000" in pg.locator("#page-info").inner_text()
        first = pg.locator("#doc-list > li").first
        # Newest first: the top article's date is the newest of the archive.
        newest = max(d.published for d in synthetic_articles(ARCHIVE - SAMPLES))
        assert first.locator("time").get_attribute("datetime") == newest[:10]
        top = first.get_attribute("data-doc-id")  # the locator itself follows the list as it changes
        shot(pg, "archive-3000-1280x800.png")

        pg.locator("#next-page").click()
        expect(pg.locator("#page-info")).to_contain_text("51–100 of 3,000")
        expect(pg.locator("#prev-page")).to_be_enabled()
        assert pg.locator("#doc-list > li").first.get_attribute("data-doc-id") != top

        # Search by title finds the one article, wherever it is in the archive.
        pg.fill("#doc-q", "lighthouse kessel")
        expect(pg.locator("#doc-count")).to_have_text("1 of 3,000 articles")
        expect(pg.locator("#doc-list > li")).to_have_count(1)
        assert pg.locator("#doc-list > li").get_attribute("data-doc-id") == OLDEST.id
        assert pg.locator("#doc-list > li time").inner_text() == "Mar 4, 2001"
        assert pg.locator("#page-info").inner_text() == "" and pg.locator("#next-page").is_disabled()

        # Source and a date range narrow it on the server too.
        pg.fill("#doc-q", "")
        pg.fill("#doc-source", "velmar")
        pg.fill("#doc-from", "2024-01-01")
        pg.fill("#doc-to", "2024-03-31")
        expected = [d for d in synthetic_articles(ARCHIVE - SAMPLES) if "velmar" in d.source and "2024-01-01" <= d.published <= "2024-03-31"]
        expect(pg.locator("#doc-count")).to_have_text(f"{len(expected)} of 3,000 articles")
        dates = [pg.locator("#doc-list > li time").nth(i).get_attribute("datetime") for i in range(min(len(expected), 50))]
        assert dates == sorted(dates, reverse=True)
        pg.select_option("#doc-sort", "oldest")
        expect(pg.locator("#doc-list > li time").first).to_have_attribute("datetime", min(d.published for d in expected))
        assert pg.problems == []
    finally:
        context.close()


def test_a_citation_opens_its_article_even_off_the_loaded_page(browser, archive, figures) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, pg = open_page(browser, archive)
    try:
        expect(pg.locator("#question")).to_be_enabled(timeout=60_000)
        expect(pg.locator("#doc-count")).to_have_text("3,000 articles")
        assert pg.locator(f"#doc-list li[data-doc-id='{OLDEST.id}']").count() == 0  # on the last page, not loaded
        started = time.monotonic()
        turn = ask(pg, OLDEST_QUESTION)
        figures["one question asked on the page, 3,000 articles: Enter to answer shown (ms)"] = f"{1000 * (time.monotonic() - started):.0f}"
        assert "Marta Olsen" in turn.locator(".answer").inner_text()
        served = pg.evaluate(
            """async (q) => (await fetch('/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({question: q})})).json()""",
            OLDEST_QUESTION,
        )
        figures["the same question, the server's own time (timings_ms.total, ms)"] = f"{served['timings_ms']['total']:.0f}"
        cite = turn.locator(f".citation[data-doc-id='{OLDEST.id}']").first
        assert "Mar 4, 2001" in cite.locator(".meta").inner_text()
        cite.locator("button").click()
        expect(pg.locator("#viewer")).to_be_visible()
        assert pg.locator("#viewer-title").inner_text() == OLDEST.title
        mark = pg.locator("#viewer-text mark")
        assert mark.inner_text() == "Marta Olsen"
        assert in_view(pg, "#viewer-text mark")
        assert pg.problems == []
    finally:
        context.close()


QUESTIONS = [
    "When was the first joint exercise?",
    "Who repainted the lighthouse at Kessel Point?",
    "What is the capital of Australia?",
    "What would the plan numbered 42 cost?",
    "When was the first joint exercise?",
    "Who repainted the lighthouse at Kessel Point?",
]


@pytest.mark.parametrize("width", [1280, 375])
def test_the_question_box_stays_in_view_after_several_questions(browser, archive, width) -> None:  # noqa: F811
    context, pg = open_page(browser, archive, width=width)
    try:
        pg.locator("#question").wait_for(state="visible")
        from playwright.sync_api import expect

        expect(pg.locator("#question")).to_be_enabled(timeout=60_000)
        for q in QUESTIONS:
            ask(pg, q)
            assert in_view(pg, "#question") and in_view(pg, "#ask-button"), f"the question box left the window after {q!r}"
        # The conversation scrolls on its own, to its newest turn; the page itself does not scroll.
        assert pg.evaluate("document.getElementById('conversation-scroll').scrollHeight > document.getElementById('conversation-scroll').clientHeight")
        assert pg.evaluate("document.scrollingElement.scrollTop") == 0
        last = pg.locator("#conversation > li").last
        assert pg.evaluate(
            """() => { const t = document.querySelector('#conversation > li:last-child').getBoundingClientRect();
            const s = document.getElementById('conversation-scroll').getBoundingClientRect(); return t.top < s.bottom && t.bottom > s.top; }"""
        ), "the newest answer is out of view"
        assert last.locator("[data-state], .error").count() >= 1
        assert pg.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        shot(pg, f"conversation-3000-{width}x800.png")
        if width == 375:
            # On a phone the articles are a sheet of their own, opened from the header.
            pg.locator("#show-docs").click()
            assert in_view(pg, "#doc-q")
            pg.locator("#doc-list > li").first.wait_for()
            shot(pg, "archive-3000-375x800.png")
            pg.locator("#hide-docs").click()
            assert in_view(pg, "#question")
        assert pg.problems == []
    finally:
        context.close()


def test_adding_an_article_names_it_and_links_to_it(browser, archive) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context, pg = open_page(browser, archive, width=375)
    try:
        pg.locator("#show-docs").click()
        pg.locator("#add-doc summary").click()
        pg.fill("#doc-title", "Tovik ferry gets a new captain")
        pg.fill("#doc-published", "2025-02-03")
        pg.fill("#doc-text", "The Tovik ferry has a new captain, Ingrid Sola, from March.")
        pg.locator("#paste-form button").click()
        link = pg.locator("#doc-status a.added")
        expect(link).to_have_text("Tovik ferry gets a new captain")
        # The newest article heads the list, which now counts it.
        expect(pg.locator("#doc-count")).to_have_text("3,001 articles")
        expect(pg.locator("#doc-list > li").first).to_have_attribute("data-doc-id", link.get_attribute("data-doc-id"))
        link.click()
        expect(pg.locator("#viewer-title")).to_have_text("Tovik ferry gets a new captain")
        assert "Feb 3, 2025" in pg.locator("#viewer-meta").inner_text()
        pg.keyboard.press("Escape")
        # A URL the server may not fetch is refused with its reason (fetching is off by default).
        pg.fill("#doc-url", "https://example.org/story")
        pg.locator("#url-form button").click()
        expect(pg.locator("#doc-status")).to_contain_text("Not added: fetching URLs is off")
        # The browser logs the refused request itself (403); nothing else may go wrong.
        assert [p for p in pg.problems if "403 (Forbidden)" not in p] == []
    finally:
        context.close()
        for d in httpx.get(archive.url + "/documents", params={"q": "Tovik ferry captain"}, timeout=60).json():
            httpx.delete(archive.url + "/documents/" + d["doc_id"], timeout=60)


def test_the_samples_notice_and_their_removal(browser, archive) -> None:  # noqa: F811
    """Last in the file: it removes the sample articles from the archive."""
    from playwright.sync_api import expect

    context, pg = open_page(browser, archive)
    try:
        note = pg.locator("#samples-note")
        expect(note).to_be_visible(timeout=60_000)
        assert "five bundled sample articles are still in the index" in note.inner_text()
        pg.locator("#remove-samples").click()
        expect(pg.locator("#doc-status")).to_have_text("Removed 5 sample articles.")
        expect(note).to_be_hidden()
        expect(pg.locator("#doc-count")).to_have_text(f"{ARCHIVE - SAMPLES:,} articles")
        assert httpx.get(archive.url + "/samples", timeout=30).json() == {"doc_ids": []}
        pg.reload()
        expect(pg.locator("#doc-count")).to_have_text(f"{ARCHIVE - SAMPLES:,} articles")
        assert note.is_hidden()
        assert pg.problems == []
    finally:
        context.close()


def test_screenshots_with_the_five_samples(browser, tmp_path, figures) -> None:  # noqa: F811
    """The page over the five sample articles at both sizes, after one answer."""
    from playwright.sync_api import expect

    from tests.conftest import Server, qa_env

    server = Server(qa_env(tmp_path / "data"))
    try:
        server.wait_ready()
        for width in (1280, 375):
            context, pg = open_page(browser, server, width=width)
            try:
                expect(pg.locator("#doc-count")).to_have_text("5 articles", timeout=60_000)
                # Shown (on a phone it sits in the article sheet, closed until opened).
                expect(pg.locator("#samples-note")).to_have_js_property("hidden", False)
                ask(pg, "When was the first joint exercise?")
                assert in_view(pg, "#question")
                shot(pg, f"samples-5-{width}x800.png")
                assert pg.problems == []
            finally:
                context.close()
    finally:
        server.stop()


def write_figures(found: dict[str, str]) -> None:
    import os
    import platform

    lines = [
        "# The chat page over a large archive",
        "",
        "Measured by `tests/test_browser_archive.py` (Debian's chromium, headless, 1280×800, driven by",
        "Playwright) against `qa serve` on an index of 3,000 articles: the five sample articles and",
        "2,995 short synthetic ones, ingested through the real pipeline. Screenshots in",
        "[`page/`](page/).",
        "",
        "| what | figure |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in found.items()],
        "",
        f"Machine: {os.cpu_count()} cores, {platform.machine()}, shared with other work (the figures are",
        "upper bounds of an idle machine's). First paint is the browser's first-contentful-paint",
        "entry; the list's count appears once `GET /documents?limit=50` has answered.",
        "",
    ]
    (ROOT / "eval" / "results" / "page.md").write_text("\n".join(lines))
    (SHOTS / "figures.json").write_text(json.dumps(found, indent=2) + "\n")
