"""The chat page in Debian's chromium, driven by Playwright."""

from __future__ import annotations

import shutil
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.browser]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


def test_page_waits_for_the_service_then_enables(browser, tmp_path, artifacts) -> None:
    """Opened while the models load, the page said (0) articles and never refreshed."""
    from playwright.sync_api import expect

    from tests.conftest import Server, qa_env

    # A fresh data dir: the server must load its models and ingest the samples, so it is
    # really still loading when the page opens. First in the file, so `site` isn't loading
    # beside it on a small machine.
    server = Server(qa_env(tmp_path / "data"))
    context = browser.new_context()
    try:
        assert wait_listening(server)["status"] == "loading", "the server was ready before the page could open"
        pg = context.new_page()
        pg.goto(server.url + "/")
        pg.evaluate("window.sameDocument = true")  # gone if the page reloaded itself
        expect(pg.locator("#status")).to_contain_text("Starting", timeout=10_000)
        expect(pg.locator("#question")).to_be_disabled()
        expect(pg.locator("#ask-button")).to_be_disabled()
        pg.screenshot(path=str(artifacts / "starting.png"), full_page=True)

        expect(pg.locator("#question")).to_be_enabled(timeout=240_000)
        expect(pg.locator("#ask-button")).to_be_enabled()
        expect(pg.locator("#doc-count")).to_have_text("5 articles", timeout=10_000)
        expect(pg.locator("#doc-list > li")).to_have_count(5)
        expect(pg.locator("#status")).to_have_text("")
        assert pg.evaluate("window.sameDocument") is True
        assert pg.evaluate("document.activeElement.id") == "question"
    finally:
        context.close()
        server.stop()


def wait_listening(server, timeout: float = 60) -> dict:
    """The server's first /health answer: it accepts connections before its models load."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited with {server.proc.returncode}")
        try:
            return httpx.get(server.url + "/health", timeout=5).json()
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError("server did not start listening")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The page's own server: these tests add and delete articles."""
    from tests.conftest import Server, qa_env

    server = Server(qa_env(tmp_path_factory.mktemp("browser") / "data"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1200, "height": 900}, locale="en-US", timezone_id="UTC")
    pg = context.new_page()
    pg.problems = []  # dialogs and console errors: a hostile article must cause neither
    pg.accept_confirm = False

    def on_dialog(d) -> None:
        if d.type == "confirm" and pg.accept_confirm:
            d.accept()  # the page's own "Delete this article?" question
        else:
            pg.problems.append(f"dialog: {d.message}")
            d.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("console", lambda m: pg.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: pg.problems.append(f"pageerror: {e}"))
    pg.goto(site.url + "/")
    yield pg
    context.close()


def ask(page, question: str):
    page.fill("#question", question)
    page.press("#question", "Enter")
    turn = page.locator("#conversation > li").last
    turn.locator("[data-state], .error").first.wait_for(timeout=60_000)
    return turn


def test_answer_with_highlighted_citations(page, artifacts) -> None:
    turn = ask(page, "When was the first joint exercise?")
    page.screenshot(path=str(artifacts / "answer.png"), full_page=True)
    assert turn.locator(".answer").inner_text() == "September"
    cited = {turn.locator(".citation").nth(i).get_attribute("data-doc-id") for i in range(turn.locator(".citation").count())}
    assert "003_86bc19b1e0a8f9ad" in cited
    marks = turn.locator(".citation mark")
    assert marks.count() >= 1 and all(marks.nth(i).inner_text() == "September" for i in range(marks.count()))
    assert "found in" in turn.locator(".confidence").inner_text()
    # The page shows exactly the excerpt the server chose (the CLI prints the same words).
    data = page.evaluate("""async () => (await fetch('/ask', {method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({question: 'When was the first joint exercise?'})})).json()""")
    c = data["citations"][0]
    s, e = c["excerpt_start"] - c["passage_start"], c["excerpt_end"] - c["passage_start"]
    expected = ("… " if s > 0 else "") + c["passage"][s:e] + (" …" if e < len(c["passage"]) else "")
    assert " ".join(turn.locator(".citation .passage").first.inner_text().split()) == " ".join(expected.split())

    # The article opens with the answer highlighted in place.
    turn.locator(".citation button").first.click()
    viewer = page.locator("#viewer")
    viewer.wait_for(state="visible")
    assert viewer.locator("mark").inner_text() == "September"
    page.keyboard.press("Escape")
    assert viewer.is_hidden()

    # Phone width: no horizontal scrolling.
    page.set_viewport_size({"width": 375, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(artifacts / "answer-phone.png"), full_page=True)
    assert page.problems == []


def test_unanswerable_shows_not_found(page) -> None:
    turn = ask(page, "What is the capital of Australia?")
    assert turn.locator("[data-state=not-found]").is_visible()
    assert turn.locator(".answer").count() == 0


def test_three_turn_conversation_follows_up(page) -> None:
    sent = []
    page.on("request", lambda r: sent.append(r.post_data_json) if r.url.endswith("/ask") and r.method == "POST" else None)
    first = ask(page, "Who is Pakistan's National Security Advisor?")
    assert first.locator(".answer").inner_text() == "Nasir Khan Janjua"
    assert first.locator(".follows").count() == 0
    second = ask(page, "Who is his Russian counterpart?")
    assert second.locator(".answer").inner_text() == "Nikolai Patrushev"
    assert second.locator(".follows").inner_text() == "Following up on: \u201cWho is Pakistan's National Security Advisor?\u201d"
    third = ask(page, "On which day did they hold discussions?")
    assert third.locator(".follows").inner_text() == "Following up on: \u201cWho is his Russian counterpart?\u201d"
    # Each question went with the conversation before it, answers included.
    assert [len(b.get("history") or []) for b in sent] == [0, 1, 2]
    assert sent[2]["history"][1] == {"question": "Who is his Russian counterpart?", "answer": "Nikolai Patrushev"}
    assert page.problems == []


def test_upload_ask_delete(page, tmp_path) -> None:
    f = tmp_path / "lighthouse_story.txt"
    f.write_text("Lighthouse restored\n\nThe old lighthouse at Kessel Point was repainted by volunteer Marta Olsen in a bright shade of teal last spring.\n")
    page.set_input_files("#doc-file", str(f))
    page.locator("#add-doc summary").click()
    page.locator("#upload-form button").click()
    page.locator("#doc-list li[data-doc-id=lighthouse_story]").wait_for()
    turn = ask(page, "Who repainted the lighthouse at Kessel Point?")
    assert "Marta Olsen" in turn.locator(".answer").inner_text()
    page.accept_confirm = True
    page.locator("#doc-list li[data-doc-id=lighthouse_story] button").click()
    page.locator("#doc-list li[data-doc-id=lighthouse_story]").wait_for(state="detached")
    turn = ask(page, "Who repainted the lighthouse at Kessel Point?")
    assert turn.locator(".answer").count() == 0 or "Marta Olsen" not in turn.locator(".answer").inner_text()


def test_hostile_article_is_inert_text(page, site) -> None:
    import httpx

    hostile = (
        "Hostile article\n\nThe mayor of Ostby is Lena <script>alert('xss')</script> Berg. "
        "Click <a href=\"javascript:alert('js')\">here</a> or see <img src=x onerror=\"alert('img')\">."
    )
    r = httpx.post(site.url + "/documents", json={"title": "<img src=x onerror=alert('t')>", "text": hostile, "doc_id": "hostile"}, timeout=60)
    assert r.status_code == 200
    try:
        page.reload()
        turn = ask(page, "Who is the mayor of Ostby?")
        page.wait_for_timeout(500)
        assert page.locator("script:not([src])").count() == 0
        assert page.locator("#conversation img, #doc-list img, #conversation a").count() == 0
        if turn.locator(".citation").count():
            turn.locator(".citation button").first.click()
            page.locator("#viewer").wait_for(state="visible")
            assert "<script>" in page.locator("#viewer-text").inner_text()
            assert page.locator("#viewer-text img, #viewer-text script").count() == 0
        assert "<img src=x" in page.locator("#doc-list").inner_text()
        page.wait_for_timeout(500)
        assert page.problems == []
    finally:
        httpx.delete(site.url + "/documents/hostile", timeout=60)


def test_server_down_message(browser, site) -> None:
    context = browser.new_context()
    pg = context.new_page()
    pg.goto(site.url + "/")
    pg.route("**/ask", lambda route: route.abort())
    pg.fill("#question", "Anything?")
    pg.press("#question", "Enter")
    err = pg.locator("#conversation .error")
    err.wait_for()
    assert "can't be reached" in err.inner_text()
    context.close()


def test_viewer_keeps_focus_inside(page) -> None:
    """The article view is a modal dialog; Tab must not wander into the page behind it."""
    from playwright.sync_api import expect

    turn = ask(page, "When was the first joint exercise?")
    opener = turn.locator(".citation button").first
    opener.focus()
    page.keyboard.press("Enter")  # opened from the keyboard, as a keyboard user would
    viewer = page.locator("#viewer")
    viewer.wait_for(state="visible")
    expect(page.locator("#viewer-close")).to_be_focused()
    assert page.evaluate("document.querySelector('main').inert") is True

    inside = "document.getElementById('viewer').contains(document.activeElement)"
    reached = set()
    for key in ["Tab"] * 5 + ["Shift+Tab"] * 3:
        page.keyboard.press(key)
        assert page.evaluate(inside), f"focus left the viewer after {key}"
        reached.add(page.evaluate("document.activeElement.id"))
    assert reached == {"viewer-close", "viewer-text"}

    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    assert opener.evaluate("node => node === document.activeElement"), "focus did not return to the button that opened the article"
    assert page.evaluate("document.querySelector('main').inert") is False
    assert page.problems == []


# What the server is about to send (api/app.py); the test applies it itself when the server
# doesn't yet, so it guards the page either way.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
RECORD_CSP_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
"""


def test_page_runs_under_strict_csp(page, site, tmp_path) -> None:
    """The whole flow (ask, open an article, add and delete articles) with no CSP violation."""
    def with_csp(route) -> None:
        res = route.fetch()
        headers = dict(res.headers)  # Playwright gives lower-case names
        headers.setdefault("content-security-policy", CSP)
        route.fulfill(response=res, headers=headers)

    page.route(site.url + "/", with_csp)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    res = page.reload()
    assert "content-security-policy" in res.headers
    try:
        turn = ask(page, "When was the first joint exercise?")
        assert turn.locator(".answer").inner_text() == "September"
        turn.locator(".citation button").first.click()
        page.locator("#viewer").wait_for(state="visible")
        page.keyboard.press("Tab")
        page.keyboard.press("Escape")
        page.locator("#viewer").wait_for(state="hidden")

        page.locator("#add-doc summary").click()
        page.fill("#doc-title", "CSP check article")
        page.fill("#doc-text", "The harbour crane at Velmar was painted orange in 1998.")
        page.locator("#paste-form button").click()
        page.locator("#doc-list li[data-doc-id=csp-check-article]").wait_for()
        f = tmp_path / "csp_upload.txt"
        f.write_text("CSP upload\n\nThe ferry to Lunde leaves at seven.\n")
        page.set_input_files("#doc-file", str(f))
        page.locator("#upload-form button").click()
        page.locator("#doc-list li[data-doc-id=csp_upload]").wait_for()
        page.accept_confirm = True
        page.locator("#doc-list li[data-doc-id=csp_upload] button").click()
        page.locator("#doc-list li[data-doc-id=csp_upload]").wait_for(state="detached")
        page.wait_for_timeout(300)

        assert [p for p in page.problems if "Content Security Policy" in p] == []
        assert page.evaluate("window.cspViolations") == []
        assert page.problems == []
    finally:
        for doc_id in ("csp-check-article", "csp_upload"):
            httpx.delete(f"{site.url}/documents/{doc_id}", timeout=60)


EVIL_PAGE = """<!doctype html>
<html><head><title>evil</title></head><body>
<iframe name="sink-plain" hidden></iframe>
<iframe name="sink-urlencoded" hidden></iframe>
<iframe name="sink-multipart" hidden></iframe>
<!-- text/plain that parses as JSON: {"title":"evil","text":"evil text","x":"="} -->
<form method="post" enctype="text/plain" action="{{TARGET}}/documents" target="sink-plain">
  <input type="hidden" name='{"title":"evil","text":"evil text","x":"' value='"}'>
</form>
<form method="post" action="{{TARGET}}/documents" target="sink-urlencoded">
  <input type="hidden" name="title" value="evil"><input type="hidden" name="text" value="evil text">
</form>
<form id="multipart" method="post" enctype="multipart/form-data" action="{{TARGET}}/documents/upload" target="sink-multipart">
  <input type="file" name="file">
</form>
<script>
const TARGET = "{{TARGET}}", VICTIM = "{{VICTIM}}";
const evilFile = (name) => new File(["evil\\n\\nevil text\\n"], name, { type: "text/plain" });
const tries = [];
function attempt(name, send) {
  tries.push(Promise.resolve().then(send).then(() => `${name}: sent`, (e) => `${name}: ${e}`));
}
// Requests a page on any origin may send without a CORS preflight.
attempt("json as text/plain", () => fetch(TARGET + "/documents", {
  method: "POST", mode: "no-cors", headers: { "Content-Type": "text/plain" },
  body: JSON.stringify({ title: "evil", text: "evil text" }) }));
attempt("multipart fetch", () => {
  const form = new FormData();
  form.append("file", evilFile("evil_fetch.txt"));
  return fetch(TARGET + "/documents/upload", { method: "POST", mode: "no-cors", body: form });
});
attempt("delete no-cors", () => fetch(TARGET + "/documents/" + VICTIM, { method: "DELETE", mode: "no-cors" }));
attempt("delete cors", () => fetch(TARGET + "/documents/" + VICTIM, { method: "DELETE" }));
// Forms post across origins with no preflight at all; the file input is filled from script.
const files = new DataTransfer();
files.items.add(evilFile("evil_form.txt"));
document.querySelector("#multipart input").files = files.files;
for (const f of document.forms) f.submit();
Promise.all(tries).then((r) => { window.results = r; document.title = "done"; });
</script>
</body></html>
"""


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"], ids=["other-port", "other-site"])
def test_other_origin_cannot_add_or_delete(browser, site, tmp_path, host) -> None:
    """A page on another origin must not be able to add or delete documents.

    127.0.0.1 on another port is another origin but the same site (Sec-Fetch-Site:
    same-site); localhost is another site altogether. Both must be refused.
    """
    docs = httpx.get(site.url + "/documents", timeout=60).json()
    # A sample article the other tests don't cite, in case a delete gets through.
    victim = next(d["doc_id"] for d in docs if d["doc_id"][:3] not in ("002", "003"))
    (tmp_path / "evil.html").write_text(EVIL_PAGE.replace("{{TARGET}}", site.url).replace("{{VICTIM}}", victim))
    evil = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    context = browser.new_context()
    try:
        pg = context.new_page()
        pg.goto(f"http://{host}:{evil.server_address[1]}/evil.html")
        pg.wait_for_function("document.title === 'done'", timeout=30_000)
        pg.wait_for_timeout(3000)  # the three forms post into their iframes meanwhile
        results = pg.evaluate("window.results")

        after = httpx.get(site.url + "/documents", timeout=60).json()
        added = [d for d in after if "evil" in d["title"].lower() or "evil" in d["doc_id"].lower()]
        assert added == [], f"a page on {host} added documents: {added} ({results})"
        assert httpx.get(f"{site.url}/documents/{victim}", timeout=60).status_code == 200, f"a page on {host} deleted {victim} ({results})"
    finally:
        context.close()
        evil.shutdown()
        evil.server_close()
        restore(site, victim)


def restore(site, victim: str) -> None:
    """Undo whatever a successful attack did, so the other tests see the sample articles."""
    from tests.conftest import ROOT

    for d in httpx.get(site.url + "/documents", timeout=60).json():
        if "evil" in d["title"].lower() or "evil" in d["doc_id"].lower():
            httpx.delete(f"{site.url}/documents/{d['doc_id']}", timeout=60)
    if httpx.get(f"{site.url}/documents/{victim}", timeout=60).status_code == 404:
        sample = ROOT / "qa" / "sample_corpus" / f"{victim}.txt"
        httpx.post(site.url + "/documents/upload", files={"file": (sample.name, sample.read_bytes(), "text/plain")}, timeout=120)


def test_dates_copies_and_the_timeline(page, site, artifacts) -> None:
    """Dates on citations, a reprint folded under its story, and a latest-state answer on a timeline."""
    from tests.test_as_of import ARTICLES as OVER_TIME, LATEST
    from tests.test_copies import ARTICLES as COPIES, QUESTION

    added = [*OVER_TIME, *COPIES]
    for d in added:
        body = {"doc_id": d.id, "title": d.title, "text": d.text, "source": d.source, "published": d.published}
        assert httpx.post(site.url + "/documents", json=body, timeout=120).status_code == 200
    try:
        page.reload()
        turn = ask(page, LATEST)
        assert turn.locator(".answer").inner_text() == "Bob Jones"
        # Dates in the reader's locale, one way everywhere: the day, never an ISO string.
        assert "Jun 1, 2023" in turn.locator(".citation .meta").first.inner_text()
        assert "2023-06-01" not in turn.inner_text() and "T09:30" not in turn.inner_text()
        points = turn.locator(".timeline > li")
        # Oldest first, the undated answer left off the axis, the current one last and marked.
        assert points.count() == 2
        assert points.nth(0).locator("time").get_attribute("datetime") == "2022-01-10"
        assert "Alice Smith" in points.nth(0).inner_text()
        assert points.nth(1).get_attribute("aria-current") == "true" and "Bob Jones" in points.nth(1).inner_text()
        assert "Carol White" in turn.locator(".alternatives").inner_text()  # still listed, with its citation
        page.screenshot(path=str(artifacts / "timeline.png"), full_page=True)

        turn = ask(page, QUESTION)
        assert "Paul Kine" in turn.locator(".answer").inner_text()
        assert "found in 1 source (and 1 copy)" in turn.locator(".confidence").inner_text()
        copy = turn.locator(".copies .copy")
        # Whichever of the two is cited first, the other is its copy, each shown with its date.
        first = turn.locator(".citation").first
        assert copy.count() == 1 and {first.get_attribute("data-doc-id"), copy.get_attribute("data-doc-id")} == {"zorbulon-opens", "wire-reprint"}
        shown = first.inner_text() + copy.inner_text()
        assert "May 4, 2024" in shown and "May 5, 2024" in shown and "river-post" in shown
        assert turn.locator(".timeline").count() == 0  # not a question about the latest state
        assert page.problems == []
    finally:
        for d in added:
            httpx.delete(f"{site.url}/documents/{d.id}", timeout=60)
