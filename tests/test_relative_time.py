"""Retrieval looks for what a question is about, not for when it is asked ("... this week?"), real models."""

from __future__ import annotations

import pytest

from index.documents import Document
from qa.recency import asks_for_latest, topical
from tests.conftest import started, stored


@pytest.mark.parametrize(
    ("question", "looked_for"),
    [
        ("Which major strike in the US ended this week?", "Which major strike in the US ended ?"),
        ("Which animal recently escaped from a circus near Rome?", "Which animal escaped from a circus near Rome?"),
        ("What did the court rule THIS MONTH, and last year?", "What did the court rule , and ?"),
        # The last week of a season is what the question is about, not when it is asked.
        ("Who did the Broncos play in the last week of the regular season?", "Who did the Broncos play in the last week of the regular season?"),
        ("What happened this week?", "What happened ?"),
        ("This week?", "This week?"),  # nothing else to look for: the whole question
    ],
)
def test_words_of_relative_time_are_left_out_of_the_search(question: str, looked_for: str) -> None:
    assert topical(question) == looked_for


def test_the_question_itself_still_asks_for_the_latest_state() -> None:
    # Only retrieval leaves the words out: the answer rule for the latest state still reads them.
    assert asks_for_latest("Who won this week?") and not asks_for_latest(topical("Who won this week?"))


# A round-up says "week" throughout; the article that answers never does.
NEUTRAL = [
    "Parliament passed the budget after a long debate.", "The river flooded two villages in the north.", "A new bridge opened to traffic downtown.",
    "Farmers reported a strong harvest of olives.", "The museum acquired a painting by a local artist.", "Rail workers agreed a new contract.",
]
ARTICLES = [
    Document("circus", "Lion on the loose", "A lion escaped from a travelling circus near Rome and roamed the streets for hours.", "wire", "2023-11-11"),
    Document("roundup", "The week", "This week: the week in review and the week ahead. Which stories mattered this week, week by week.", "blog", "2023-11-10"),
    *(Document(f"n{i}", f"News {i}", text, "wire", "2023-11-01") for i, text in enumerate(NEUTRAL)),
]


@pytest.fixture(scope="module")
def pipe(tmp_path_factory):
    return started(stored(tmp_path_factory.mktemp("relative_time"), ARTICLES))


def test_a_this_week_question_finds_the_article_that_never_says_this_week(pipe) -> None:
    # Keyword search alone put the round-up first, on "week" (checked with the words kept).
    assert [p.doc_id for p in pipe.retriever("Which animal escaped this week?", 1, mode="bm25")] == ["circus"]
    # Both retrievers: the round-up is no longer among the first two passages.
    assert "roundup" not in [p.doc_id for p in pipe.retriever("What escaped this week?", 2)]
