"""The chat page in Debian's chromium, driven by Playwright."""

from __future__ import annotations

import shutil
from pathlib import Path

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
    context = browser.new_context(viewport={"width": 1200, "height": 900})
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
    assert {"002_f4d9ea0e48462951", "003_86bc19b1e0a8f9ad"} <= cited
    marks = turn.locator(".citation mark")
    assert marks.count() >= 2 and all(marks.nth(i).inner_text() == "September" for i in range(marks.count()))
    assert "found in" in turn.locator(".confidence").inner_text()

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
