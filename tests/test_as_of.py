"""`as_of` and questions about the latest state, through the pipeline, the HTTP API and the CLI (real models)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from index.documents import Document
from qa.recency import Candidate, asks_for_latest, preferred
from qa.schema import AskRequest
from tests.conftest import qa_env, run_qa, started, stored

# Three articles that disagree over time.
ARTICLES = [
    Document("acme-2022", "Acme names a chief", "Acme board meeting. The chief executive of Acme is Alice Smith, the board said.", "wire", "2022-01-10"),
    Document("acme-2023", "Acme changes its chief", "Acme board meeting. The chief executive of Acme is Bob Jones, the board said.", "wire", "2023-06-01T09:30:00+00:00"),
    Document("acme-undated", "Acme profile", "Acme board meeting. The chief executive of Acme is Carol White, the board said.", "blog", None),
]
NAMES = {"Alice Smith", "Bob Jones", "Carol White"}
LATEST = "Who is the current chief executive of Acme?"
PLAIN = "Who is the chief executive of Acme?"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return stored(tmp_path_factory.mktemp("as_of"), ARTICLES)


@pytest.fixture(scope="module")
def pipe(data_dir):
    return started(data_dir)


@pytest.fixture(scope="module")
def client(data_dir) -> Iterator[TestClient]:
    from api.app import create_app
    from qa.settings import Settings

    with TestClient(create_app(Settings(data_dir=data_dir, sample_corpus=False))) as c:
        for _ in range(300):
            if c.get("/health").json()["status"] == "ok":
                break
            import time

            time.sleep(0.1)
        yield c


def _dates(body: dict) -> list[str | None]:
    return [c["published"] for c in body["citations"]]


# -- the rule ------------------------------------------------------------------------------
@pytest.mark.parametrize("question", [LATEST, "Who runs Acme now?", "What is the latest figure?", "Who won this week?", "What is the most recent count?", "Who is CURRENTLY in charge?"])
def test_questions_about_the_latest_state(question: str) -> None:
    assert asks_for_latest(question)


@pytest.mark.parametrize("question", [PLAIN, "What did the currency do?", "When was it known?", "Who said it first?"])
def test_other_questions(question: str) -> None:
    assert not asks_for_latest(question)


def test_preferred_is_the_newest_for_latest_questions_only() -> None:
    candidates = [Candidate("Alice", "2022-01-10"), Candidate("Carol", None), Candidate("Bob", "2023-06-01T09:30:00+00:00")]
    assert preferred(LATEST, candidates) == 2
    assert preferred(PLAIN, candidates) == 0
    assert preferred(LATEST, [Candidate("Alice", None), Candidate("Bob", None)]) == 0  # nothing dated: the best score stays
    assert preferred(LATEST, [Candidate("Alice", "2023-06-01"), Candidate("Bob", "2023-06-01")]) == 0  # same day: the best score


# -- through the pipeline ------------------------------------------------------------------
def test_plain_question_keeps_the_best_scored_answer(pipe) -> None:
    r = pipe.ask(AskRequest(question=PLAIN))
    assert r.answer in NAMES and not r.most_recent
    assert all(a.score >= pipe.settings.alternative_ratio * r.score for a in r.alternatives)


def test_latest_question_gives_the_newest_answer_and_dates_the_earlier_ones(pipe) -> None:
    r = pipe.ask(AskRequest(question=LATEST))
    assert r.answer == "Bob Jones" and r.most_recent
    assert r.citations[0].published == "2023-06-01T09:30:00+00:00"
    assert [(a.answer, a.citations[0].published) for a in r.alternatives] == [("Alice Smith", "2022-01-10"), ("Carol White", None)]


def test_as_of_leaves_out_later_and_undated_articles(pipe) -> None:
    r = pipe.ask(AskRequest(question=LATEST, as_of="2022-12-31"))
    assert r.answer == "Alice Smith"
    assert {c.doc_id for c in r.citations} == {"acme-2022"} and r.alternatives == []
    assert pipe.ask(AskRequest(question=LATEST, as_of="2021-12-31")).answer is None  # nothing published yet


def test_as_of_and_published_to_take_the_earlier_bound(pipe) -> None:
    r = pipe.ask(AskRequest(question=LATEST, as_of="2024-01-01", filters={"published_to": "2022-12-31"}))
    assert r.answer == "Alice Smith"
    r = pipe.ask(AskRequest(question=LATEST, as_of="2022-12-31", filters={"published_to": "2024-01-01"}))
    assert r.answer == "Alice Smith"


# -- through HTTP --------------------------------------------------------------------------
def test_as_of_over_http(client: TestClient) -> None:
    latest = client.post("/ask", json={"question": LATEST}).json()
    assert latest["answer"] == "Bob Jones" and latest["most_recent"] is True
    assert [a["citations"][0]["published"] for a in latest["alternatives"]] == ["2022-01-10", None]
    body = client.post("/ask", json={"question": LATEST, "as_of": "2022-12-31"}).json()
    assert body["answer"] == "Alice Smith" and _dates(body) == ["2022-01-10"]


@pytest.mark.parametrize("as_of", ["2022-13-01", "2023-02-29", "yesterday", "2022-1-5", "20221231", 20221231])
def test_malformed_as_of_is_422_with_a_message(client: TestClient, as_of) -> None:
    r = client.post("/ask", json={"question": LATEST, "as_of": as_of})
    assert r.status_code == 422
    error = r.json()["detail"][0]
    assert error["loc"][-1] == "as_of"
    assert "YYYY-MM-DD" in error["msg"] or "string" in error["msg"]


def test_schema_names_as_of(client: TestClient) -> None:
    props = client.get("/openapi.json").json()["components"]["schemas"]["AskRequest"]["properties"]
    assert "as_of" in props and "undated" in json.dumps(props["as_of"])


# -- through the CLI -----------------------------------------------------------------------
@pytest.fixture
def cli(data_dir, pipe):
    env = qa_env(data_dir, QA_SAMPLE_CORPUS="false")
    return lambda *args: run_qa(*args, env=env)


def test_as_of_in_the_cli(cli) -> None:
    r = cli("ask", LATEST, "--as-of", "2022-12-31", "--json")
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert body["answer"] == "Alice Smith" and _dates(body) == ["2022-01-10"]


def test_cli_shows_the_newest_answer_and_dates(cli) -> None:
    r = cli("ask", LATEST)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("Bob Jones\n")
    assert "(2023-06-01 09:30 +00:00) — acme-2023" in r.stdout  # the citation's date, as the page shows it
    assert "earlier articles said" in r.stdout
    assert "Alice Smith (score " in r.stdout and "acme-2022 (2022-01-10))" in r.stdout


def test_malformed_as_of_in_the_cli_is_one_line(cli) -> None:
    r = cli("ask", LATEST, "--as-of", "2022-02-30")
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip().splitlines() == ["error: as_of: must be a date YYYY-MM-DD that exists, not '2022-02-30'"]


def test_cli_help_says_undated_articles_are_left_out(cli) -> None:
    r = cli("ask", "--help")
    assert "--as-of" in r.stdout and "undated" in r.stdout
