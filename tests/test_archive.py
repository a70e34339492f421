"""A large archive: the article list's search, sorting and pages; the bundled samples; alternatives from other articles only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from index.listing import select
from index.store import StoredDocument
from qa.schema import DocumentQuery


def _doc(doc_id: str, title: str, published: str | None, source: str = "wire") -> StoredDocument:
    return StoredDocument(doc_id, title, source, "", published, "h", 1, {})


DOCS = [
    _doc("a", "Harbour crane painted", "2023-08-30T00:00:00+00:00", "river-post"),
    _doc("b", "Bridge opens", "2024-05-04"),
    _doc("c", "Ferry timetable", None, "harbour.txt"),
    _doc("d", "Zoo giraffe named", "2024-05"),
    _doc("e", "Another harbour story", "2022"),
]


def test_newest_first_by_default_undated_last() -> None:
    total, page = select(DOCS)
    assert total == 5 and [d.doc_id for d in page] == ["b", "d", "a", "e", "c"]  # a month alone sorts as its first day
    assert [d.doc_id for d in select(DOCS, sort="oldest")[1]] == ["e", "a", "d", "b", "c"]
    assert [d.doc_id for d in select(DOCS, sort="title")[1]] == ["e", "b", "c", "a", "d"]
    assert [d.doc_id for d in select(DOCS, sort="id")[1]] == ["a", "b", "c", "d", "e"]


def test_search_title_source_and_dates() -> None:
    assert [d.doc_id for d in select(DOCS, q="HARBOUR")[1]] == ["a", "e"]
    assert [d.doc_id for d in select(DOCS, q="harbour crane")[1]] == ["a"]
    assert select(DOCS, q="crane bridge")[0] == 0
    assert [d.doc_id for d in select(DOCS, source="Post")[1]] == ["a"]
    # A month or a year alone: its first day as a lower bound, its last as an upper one; undated left out.
    assert [d.doc_id for d in select(DOCS, published_from="2024-05")[1]] == ["b", "d"]
    assert [d.doc_id for d in select(DOCS, published_to="2023")[1]] == ["a", "e"]
    assert [d.doc_id for d in select(DOCS, published_from="2023-08-30", published_to="2023-08-30")[1]] == ["a"]


def test_pages() -> None:
    total, page = select(DOCS, offset=1, limit=2)
    assert total == 5 and [d.doc_id for d in page] == ["d", "a"]
    assert select(DOCS, offset=10, limit=2) == (5, [])


def test_the_query_contract() -> None:
    assert DocumentQuery().sort == "newest" and DocumentQuery().limit is None
    for bad in ({"sort": "random"}, {"limit": 0}, {"limit": 501}, {"offset": -1}, {"published_from": "2023-13-01"}):
        with pytest.raises(ValidationError):
            DocumentQuery(**bad)


def test_an_alternative_never_cites_the_answers_own_article() -> None:
    """"Other articles say otherwise" lists other articles: a second reading in the answer's own article is not one."""
    from qa.answer import assemble
    from qa.read import Calibration, Span
    from qa.retrieve import Passage

    cal = Calibration(slope=1.0, intercept=0.0, threshold=0.5)
    texts = {
        "a": "The first joint exercise was held in September near Cherat. A later note said October.",
        "b": "The first joint exercise was held in October, one report said.",
    }
    docs = {k: StoredDocument(k, f"Title {k}", f"{k}.txt", v, None, "h", 1, {}) for k, v in texts.items()}
    picks = [("a", "September", 6.0), ("a", "October", 5.5), ("b", "October", 5.0)]
    passages, spans = [], []
    for n, (doc_id, answer, margin) in enumerate(picks):
        text, start = texts[doc_id], texts[doc_id].index(answer)
        passages.append(Passage(f"{doc_id}::{n}", doc_id, text, 0, len(text), 0.0))
        spans.append(Span(n, start, start + len(answer), answer, margin, cal(margin)))
    r = assemble("When?", passages, spans, docs, cal)
    assert r.answer == "September" and {c.doc_id for c in r.citations} == {"a"}
    [alt] = r.alternatives
    assert alt.answer == "October" and [c.doc_id for c in alt.citations] == ["b"]


# -- through the store, the HTTP API and the CLI (real models) -------------------------------
@pytest.mark.slow
def test_samples_never_reach_an_index_that_starts_with_the_users_own(tmp_path: Path) -> None:
    """The sample articles are for an empty index: a user's document that comes first (here while
    the models would load) keeps them out for good."""
    from index.documents import Document
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    pipe = Pipeline(Settings(data_dir=tmp_path / "data"))
    pipe.open_store()  # empty when opened: the samples are due
    pipe.add_documents([Document("mine", "My own article", "The ferry to Lunde leaves at seven.", "mine.txt")])
    assert pipe.ensure_sample_corpus() is False
    assert pipe.sample_ids() == [] and [d.doc_id for d in pipe.list_documents()] == ["mine"]


@pytest.mark.slow
def test_list_pages_and_the_samples_over_http(tmp_path: Path) -> None:
    import time

    from fastapi.testclient import TestClient

    from api.app import create_app
    from qa.pipeline import SAMPLE_IDS
    from qa.settings import Settings

    with TestClient(create_app(Settings(data_dir=tmp_path / "data"))) as c:
        for _ in range(600):
            if c.get("/health").json()["status"] == "ok":
                break
            time.sleep(0.1)
        assert c.get("/samples").json() == {"doc_ids": list(SAMPLE_IDS)}
        for n in range(12):
            body = {"title": f"Harbour note {n}", "text": f"Harbour note number {n} says the crane was painted.", "published": f"2024-01-{n + 1:02d}", "source": "river-post"}
            assert c.post("/documents", json=body).status_code == 200
        r = c.get("/documents", params={"limit": 5})
        assert r.headers["x-total-count"] == "17" and [d["title"] for d in r.json()] == [f"Harbour note {n}" for n in (11, 10, 9, 8, 7)]
        r = c.get("/documents", params={"limit": 5, "offset": 10, "sort": "newest"})
        assert [d["title"] for d in r.json()][:2] == ["Harbour note 1", "Harbour note 0"] and len(r.json()) == 5  # then the undated samples
        r = c.get("/documents", params={"q": "note 7", "source": "RIVER"})
        assert r.headers["x-total-count"] == "1" and r.json()[0]["title"] == "Harbour note 7"
        r = c.get("/documents", params={"published_from": "2024-01-03", "published_to": "2024-01-04", "sort": "oldest"})
        assert [d["title"] for d in r.json()] == ["Harbour note 2", "Harbour note 3"]
        assert c.get("/documents", params={"sort": "random"}).status_code == 422
        assert c.get("/documents", params={"limit": 501}).status_code == 422
        assert len(c.get("/documents").json()) == 17  # no limit: all of them, as before

        assert c.delete("/samples").json() == {"doc_ids": list(SAMPLE_IDS)}
        assert c.get("/samples").json() == {"doc_ids": []}
        assert c.delete("/samples").json() == {"doc_ids": []}
        assert c.get("/documents").headers["x-total-count"] == "12"


@pytest.mark.slow
def test_cli_says_when_the_samples_remain_and_removes_them(tmp_path: Path) -> None:
    from tests.conftest import qa_env, run_qa

    env = qa_env(tmp_path / "data")
    first = run_qa("docs", "list", env=env)  # opening the store alone seeds nothing
    assert first.returncode == 0 and "0 documents" in first.stderr
    ask = run_qa("ask", "When was the first joint exercise?", env=env)
    assert "qa docs delete --samples" in ask.stderr
    (tmp_path / "mine.txt").write_text("Ferry news\n\nThe ferry to Lunde leaves at seven.\n")
    ingest = run_qa("ingest", str(tmp_path / "mine.txt"), env=env)
    assert ingest.returncode == 0 and "still holds the 5 bundled sample articles" in ingest.stderr and "qa docs delete --samples" in ingest.stderr
    listed = run_qa("docs", "list", "--search", "ferry", "--json", env=env)
    assert [d["doc_id"] for d in json.loads(listed.stdout)] == ["mine"]
    page = run_qa("docs", "list", "--limit", "2", env=env)
    assert len(page.stdout.splitlines()) == 2 and "2 of 6 documents" in page.stderr
    assert run_qa("docs", "list", "--sort", "random", env=env).returncode == 2
    gone = run_qa("docs", "delete", "--samples", env=env)
    assert gone.returncode == 0 and "deleted 5 sample articles" in gone.stdout
    again = run_qa("ingest", str(tmp_path / "mine.txt"), env=env)
    assert "sample" not in again.stderr
    assert run_qa("docs", "delete", env=env).returncode == 2
