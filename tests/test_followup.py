"""The follow-up rule: which questions lean on an earlier turn, what they are retrieved and checked with, and the request's limits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qa.checks import Place, names_mentioned, not_the_question
from qa.followup import follow_up, leans
from qa.schema import MAX_ANSWER_CHARS, MAX_HISTORY_TURNS, AskRequest, HistoryTurn


@pytest.mark.parametrize(
    "question",
    [
        "When did he arrive?",
        "How many were there?",
        "Who was president then?",
        "What category was it when it came ashore?",
        "Which character did he play on Grey's Anatomy?",  # the pronoun comes before the name
        "How much will the deal cost?",  # no name, short
        "Who chaired the judging panel?",
        "And the second one?",
        "Who made that trip?",
    ],
)
def test_questions_that_lean_on_an_earlier_turn(question: str) -> None:
    assert leans(question)


@pytest.mark.parametrize(
    "question",
    [
        "Who is Pakistan's National Security Advisor?",
        "Who is the CEO of Alaska Airlines?",
        "Where did Pence speak when he quit?",  # "he" is Pence
        "The convicted murderer who escaped from a Pennsylvania prison was captured Wednesday. How many days was he free?",
        "Which college sport set a world record for attendance this week?",  # no name, but says what it is about
        "What is the capital of France?",
    ],
)
def test_questions_that_stand_alone(question: str) -> None:
    assert not leans(question)


def test_a_follow_up_is_retrieved_with_the_earlier_turns_names_topic_and_answer() -> None:
    history = [HistoryTurn(question="Who led the Russian delegation?", answer="Israkov Sergi Yuryevich")]
    f = follow_up("When did he arrive?", history)
    assert f is not None and f.follows == 0
    assert f.query.startswith("When did he arrive?")
    assert "Russian" in f.query and "delegation" in f.query and "Israkov Sergi Yuryevich" in f.query
    assert "Who" not in f.query.split()  # question words say nothing about the topic
    assert set(f.names) == {"Russian", "Israkov Sergi Yuryevich"}


def test_the_latest_turn_is_followed_and_a_chain_keeps_its_subject() -> None:
    history = [
        HistoryTurn(question="Who won this year's Nobel Peace Prize?", answer="Narges Mohammadi"),
        HistoryTurn(question="How old is she?", answer="51"),
    ]
    f = follow_up("How long is the sentence she is serving?", history)
    assert f is not None and f.follows == 1
    assert "Narges Mohammadi" in f.names and "Narges Mohammadi" in f.query
    assert "51" in f.query  # the latest answer, though not a name


def test_an_answer_that_is_not_a_name_is_not_a_name_to_check() -> None:
    f = follow_up("Where was it held?", [HistoryTurn(question="When was the first joint exercise?", answer="September")])
    assert f is not None and f.names == ()  # "September" is no name; "first joint exercise" no name either
    assert "joint" in f.query and "exercise" in f.query and "September" in f.query


def test_standalone_or_no_history_is_asked_as_today() -> None:
    history = [HistoryTurn(question="Who led the Russian delegation?", answer="Israkov Sergi Yuryevich")]
    assert follow_up("Who is Pakistan's National Security Advisor?", history) is None
    assert follow_up("When did he arrive?", []) is None
    assert follow_up("When did he arrive?", None) is None
    # A "not found" earlier turn still gives its topic.
    f = follow_up("When did he arrive?", [HistoryTurn(question="Who led the Russian delegation?", answer=None)])
    assert f is not None and f.query == "When did he arrive? led Russian delegation"


def test_a_follow_ups_passage_must_name_one_of_the_earlier_names() -> None:
    about = "Narges Mohammadi, 51, is serving a 10-year sentence."
    other = "Maria Ressa, 60, spoke in Manila on Friday."
    earlier = ("Nobel Peace Prize", "Narges Mohammadi")
    assert names_mentioned("How old is she?", "51", Place(about, 18, 20, about, earlier)).kept
    verdict = names_mentioned("How old is she?", "60", Place(other, 13, 15, other, earlier))
    assert not verdict.kept and verdict.check == "names" and "Narges Mohammadi" in verdict.reason
    assert names_mentioned("How old is she?", "60", Place(other, 13, 15, other)).kept  # no history: as before


def test_a_follow_ups_answer_is_not_the_name_it_points_back_at() -> None:
    text = "Simone Biles' husband, Jonathan Owens, plays for the Packers."
    earlier = ("Simone Biles",)
    verdict = not_the_question("Who is her husband?", "Simone Biles", Place(text, 0, 12, text, earlier))
    assert not verdict.kept and verdict.check == "echo"
    assert not_the_question("Who is her husband?", "Jonathan Owens", Place(text, 23, 37, text, earlier)).kept
    assert not_the_question("Who is her husband?", "Simone Biles", Place(text, 0, 12, text)).kept  # no history: as before


def test_history_limits_are_clear_422_messages() -> None:
    turn = {"question": "Who led the Russian delegation?", "answer": "Israkov Sergi Yuryevich"}
    AskRequest(question="When did he arrive?", history=[turn] * MAX_HISTORY_TURNS)
    with pytest.raises(ValidationError, match=f"history holds at most {MAX_HISTORY_TURNS} turns"):
        AskRequest(question="When did he arrive?", history=[turn] * (MAX_HISTORY_TURNS + 1))
    with pytest.raises(ValidationError, match=f"at most {MAX_ANSWER_CHARS} characters"):
        AskRequest(question="When did he arrive?", history=[{"question": "Who?", "answer": "x" * (MAX_ANSWER_CHARS + 1)}])
    with pytest.raises(ValidationError):
        AskRequest(question="When did he arrive?", history=[{"question": "  "}])
    with pytest.raises(ValidationError, match="Extra inputs"):
        AskRequest(question="When did he arrive?", history=[{"question": "Who?", "doc": 1}])
    assert AskRequest(question="When did he arrive?").history == []


def test_history_limits_over_http(tmp_path) -> None:
    """The 422s of `history` on /ask, without loading a model: the app's lifespan is not run and
    the pipeline stands ready in name only (a valid request would then fail, so none is sent)."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.deps import get_ready_pipeline
    from qa.settings import Settings

    app = create_app(Settings(data_dir=tmp_path / "data", sample_corpus=False))
    app.dependency_overrides[get_ready_pipeline] = lambda: None
    client = TestClient(app)
    turn = {"question": "Who led the Russian delegation?", "answer": "Israkov Sergi Yuryevich"}
    r = client.post("/ask", json={"question": "When did he arrive?", "history": [turn] * (MAX_HISTORY_TURNS + 1)})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "history"]
    assert f"history holds at most {MAX_HISTORY_TURNS} turns" in r.json()["detail"][0]["msg"]
    r = client.post("/ask", json={"question": "When did he arrive?", "history": [{"question": "Who?", "answer": "x" * (MAX_ANSWER_CHARS + 1)}]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "history", 0, "answer"]
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert "history" in schema["AskRequest"]["properties"] and "follows" in schema["AskResponse"]["properties"]
