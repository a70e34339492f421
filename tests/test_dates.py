"""Publication dates read at ingest from every format, normalised to ISO 8601."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from index import dates
from index.load import from_bytes
from index.store import published_number

ROOT = Path(__file__).resolve().parents[1]
BODY = "<p>" + "The harbour of Port Elling reopened after a storm closed it for nine days. " * 4 + "</p>"


def _html(head: str = "", body: str = BODY) -> bytes:
    return f"<html><head><title>Harbour reopens</title>{head}</head><body><article><h1>Harbour reopens</h1>{body}<p>Copyright 2019 Example News</p></article></body></html>".encode()


def _one(name: str, data: bytes):
    (doc,) = from_bytes(name, data)
    return doc


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("March 5, 2024", "2024-03-05"),
        ("5 March 2024", "2024-03-05"),
        ("Tue, 05 Mar 2024 10:30:00 GMT", "2024-03-05T10:30:00+00:00"),
        ("2024-03-05T10:30:00+01:00", "2024-03-05T10:30:00+01:00"),
        ("2024-03-05 00:00:00", "2024-03-05"),  # midnight with no zone: a day, not a time
        ("March 2024", "2024-03"),
        ("2024", "2024"),
        (datetime(2024, 3, 5, 10, 30, tzinfo=timezone(timedelta(hours=1))), "2024-03-05T10:30:00+01:00"),
        ("March 5", None),  # no year: it would take this year's
        ("2024-02-30", None),
        ("soon", None),
        ("", None),
        (True, None),
    ],
)
def test_normalize(value, iso) -> None:
    assert dates.normalize(value) == iso


# -- HTML ------------------------------------------------------------------------------------
def test_html_meta_with_a_time() -> None:
    doc = _one("a.html", _html('<meta property="article:published_time" content="2024-03-05T10:30:00+01:00">'))
    assert doc.published == "2024-03-05T10:30:00+01:00"
    assert published_number(doc.published) == 20240305


def test_html_meta_date_and_json_ld() -> None:
    assert _one("a.html", _html('<meta name="date" content="March 5, 2024">')).published == "2024-03-05"
    ld = '<script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2023-11-02T08:00:00Z"}</script>'
    assert _one("a.html", _html(ld)).published == "2023-11-02T08:00:00+00:00"


def test_html_without_a_date_is_not_guessed_from_a_copyright_year() -> None:
    assert _one("a.html", _html()).published is None
    assert _one("article.html", (ROOT / "tests" / "data" / "article.html").read_bytes()).published is None


def test_html_dateline_in_the_text() -> None:
    doc = _one("a.html", _html(body="<p>PORT ELLING, 12 January 2022 — The harbour reopened.</p>" + BODY))
    assert doc.published == "2022-01-12"


def test_html_byline_element_that_extraction_drops() -> None:
    """CNN's timestamp element: not metadata, and left out of the extracted text with the rest of the chrome."""
    byline = "<div class='timestamp'>Updated 9:02 AM EDT, Thu August 31, 2023 Published 8:34 AM EDT, Wed August 30, 2023</div>"
    assert _one("a.html", _html(body=byline + BODY * 6)).published == "2023-08-30"


def test_html_dates_of_related_stories_are_not_the_articles() -> None:
    """Dated links beside or after the article (an aside, a footer, a byline-like element below the text) date nothing."""
    related = "<aside class='related'><ul><li>Storm season ends <span class='date'>Published March 1, 2022</span></li></ul></aside>"
    below = "<div class='comment-date'>Posted March 2, 2022</div>"
    assert _one("a.html", _html(body=BODY * 6 + below + related)).published is None
    footer = "<footer><time class='date' datetime='2022-03-01'>March 1, 2022</time></footer>"
    assert _one("a.html", _html(body=BODY * 6).replace(b"</body>", footer.encode() + b"</body>")).published is None


# -- JSONL -----------------------------------------------------------------------------------
def test_jsonl_published_and_date_fields() -> None:
    lines = [
        {"id": "a", "title": "A", "text": "Alpha.", "published": "2024-03-05T10:30:00Z"},
        {"id": "b", "title": "B", "text": "Beta.", "date": "5 March 2024", "url": "https://example.org/b"},
        {"id": "c", "title": "C", "text": "Gamma.", "date": "not a date"},
        {"id": "d", "title": "D", "text": "Delta."},
    ]
    docs = from_bytes("news.jsonl", "\n".join(json.dumps(x) for x in lines).encode())
    assert [d.published for d in docs] == ["2024-03-05T10:30:00+00:00", "2024-03-05", None, None]
    assert docs[1].metadata == {"url": "https://example.org/b"}  # the date is not metadata twice


# -- plain text ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("Harbour reopens\n\nPublished: Tuesday, 5 March 2024 | Updated: 6 March 2024\n\nThe harbour reopened.", "2024-03-05"),
        ("Harbour reopens\nPosted on 2024-03-05 10:30\nThe harbour reopened.", "2024-03-05T10:30:00"),
        ("Harbour reopens\n\nPORT ELLING, March 5, 2024 — The harbour reopened on Friday.", "2024-03-05"),
        ("Harbour reopens\n\nLONDON (Reuters), 5 March 2024 - The harbour reopened.", "2024-03-05"),
        ("Harbour reopens\n\nMarch 5, 2024\n\nThe harbour reopened.", "2024-03-05"),
        ("Harbour reopens\n\nThe harbour reopened on Friday, as planned in March 5, 2024 plans.", None),  # a date in prose
        ("Harbour reopens\n\nMoscow/Islamabad: The talks ended.", None),
        # CNN's byline: the time of day first, and the update before the publication
        ("Harbour reopens\n\nPublished 8:34 AM EDT, Wed August 30, 2023\n\nThe harbour reopened.", "2023-08-30"),
        ("Harbour reopens\n\nUpdated 9:02 AM EDT, Thu August 31, 2023 Published 8:34 AM EDT, Wed August 30, 2023\n\nIt reopened.", "2023-08-30"),
        ("Harbour reopens\n\nUpdated 9:02 AM EDT, Thu August 31, 2023\n\nIt reopened.", None),  # an update is not the publication
    ],
)
def test_text_dateline(text: str, iso: str | None) -> None:
    assert _one("a.txt", text.encode()).published == iso


def test_a_date_deep_in_the_text_is_an_event_not_the_publication() -> None:
    text = "Title\n" + "\n".join(f"Paragraph {i}." for i in range(10)) + "\nMarch 5, 2024\n"
    assert _one("a.txt", text.encode()).published is None


def test_sample_articles_stay_undated() -> None:
    for path in sorted((ROOT / "qa" / "sample_corpus").glob("*.txt")):
        assert _one(path.name, path.read_bytes()).published is None, path.name


# -- Markdown front matter -------------------------------------------------------------------
def test_markdown_front_matter() -> None:
    md = "---\ntitle: Harbour reopens\ndate: 2024-03-05\ntags: [port]\n---\n\n# Harbour reopens after storm\n\nThe harbour reopened.\n"
    doc = _one("a.md", md.encode())
    assert doc.published == "2024-03-05"
    assert doc.title == "Harbour reopens"
    assert doc.text.startswith("\n# Harbour reopens after storm")  # front matter is not article text
    quoted = "---\npublished: \"2024-03-05T10:30:00+01:00\"\n---\nHarbour\n\nText.\n"
    assert _one("b.md", quoted.encode()).published == "2024-03-05T10:30:00+01:00"


def test_a_rule_line_is_not_front_matter() -> None:
    md = "---\nJust a line: with a colon\n: nonsense [\n---\nText."
    doc = _one("a.md", md.encode())
    assert doc.published is None and doc.text.startswith("---")


# -- PDF -------------------------------------------------------------------------------------
def _pdf(metadata: dict[str, str]) -> bytes:
    """A one-page PDF with a text layer and the given document information."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"), NameObject("/Subtype"): NameObject("/Type1"), NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})})
    content = DecodedStreamObject()
    content.set_data(b"BT /F1 12 Tf 72 720 Td (The harbour reopened after the storm.) Tj ET")
    page[NameObject("/Contents")] = writer._add_object(content)
    writer.add_metadata(metadata)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_pdf_creation_date() -> None:
    doc = _one("a.pdf", _pdf({"/Title": "Harbour reopens", "/CreationDate": "D:20240305103000+01'00'"}))
    assert "harbour reopened" in doc.text
    assert doc.published == "2024-03-05T10:30:00+01:00"


def test_pdf_without_or_with_a_broken_date() -> None:
    assert _one("a.pdf", _pdf({"/Title": "Harbour reopens"})).published is None
    assert _one("a.pdf", _pdf({"/Title": "Harbour reopens", "/CreationDate": "yesterday"})).published is None


def test_partial_dates_filter_as_periods() -> None:
    from qa.retrieve import Filters

    assert published_number("2024-03") == 20240301 and published_number("2024-03", end=True) == 20240331
    assert published_number("2024") == 20240101 and published_number("2024", end=True) == 20241231
    year = Filters(published_from="2024", published_to="2024")
    assert year.accepts({"published": 20241215}) and not year.accepts({"published": 20250101})
    assert Filters(published_to="2024-03").accepts({"published": 20240331})


# -- dates in the future ------------------------------------------------------------------------
def test_a_publication_date_more_than_a_day_ahead_is_refused() -> None:
    now = datetime(2026, 12, 2, 13, 0, tzinfo=timezone.utc)
    assert dates.future_refusal("2999-01-01", now) == "published 2999-01-01 is more than a day in the future"
    assert dates.future_refusal("2999", now) and dates.future_refusal("2026-12-04", now)
    assert dates.future_refusal("2026-12-05T09:00:00+00:00", now)
    for fine in ("2026-12-03", "2026-12", "2026-12-03T12:00:00+00:00", "2026-12-03T10:00:00-03:00", "1999", None):
        assert dates.future_refusal(fine, now) is None, fine


def test_future_dates_are_refused_over_http_from_files_and_from_pages(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from api.app import create_app
    from index.documents import Document
    from index.load import LoadError
    from qa.pipeline import Pipeline
    from qa.settings import Settings
    from tests.conftest import qa_env, run_qa

    ahead = (datetime.now(timezone.utc) + timedelta(days=3)).date().isoformat()
    # No lifespan: a refused request needs no models.
    client = TestClient(create_app(Settings(data_dir=tmp_path / "served", sample_corpus=False)))
    for published in ("2999-01-01", ahead):
        r = client.post("/documents", json={"title": "Ahead", "text": "An article from the future.", "published": published})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == "published", r.text
        assert "is more than a day in the future" in r.json()["detail"][0]["msg"]
    record = json.dumps({"id": "ahead", "title": "Ahead", "text": "An article from the future.", "published": "2999-01-01"}).encode()
    with pytest.raises(LoadError, match="record 'ahead': published 2999-01-01 is more than a day in the future"):
        from_bytes("news.jsonl", record)
    r = client.post("/documents/upload", files={"file": ("news.jsonl", record)})
    assert r.status_code == 422 and "more than a day in the future" in r.json()["detail"]

    # A page's or a feed's own date: that article is not stored, the others are.
    pipe = Pipeline(Settings(data_dir=tmp_path / "pages", sample_corpus=False))
    report = pipe.add_documents([Document("ahead", "Ahead", "An article from the future.", "https://example.org/a", published="2999-01-01")])
    assert report.added == [] and [(f.source, f.reason) for f in report.failed] == [("https://example.org/a", "published 2999-01-01 is more than a day in the future")]

    (tmp_path / "news.jsonl").write_bytes(record)
    r = run_qa("ingest", str(tmp_path / "news.jsonl"), env=qa_env(tmp_path / "cli", QA_SAMPLE_CORPUS="false"), timeout=120)
    assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
    assert f"skipped: {tmp_path / 'news.jsonl'}: record 'ahead': published 2999-01-01 is more than a day in the future" in r.stderr, r.stderr
