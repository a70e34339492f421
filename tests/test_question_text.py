"""How a question's characters are read: once, in the request, before any rule reads its words."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from qa.question_text import as_read
from qa.schema import AskRequest


@pytest.mark.parametrize(
    ("raw", "read"),
    [
        ("  Ｗｈｅｎ was the ﬁrst joint exercise？ ", "When was the first joint exercise?"),
        ("Who is India\u200f's advisor?", "Who is India's advisor?"),  # a direction mark inside the word
        ("Wh\u200den was it?", "When was it?"),  # a zero-width joiner
        ("\u202e\u2066When?\u2069", "When?"),  # bidirectional overrides and isolates
        ("so\u00adcial media?", "social media?"),  # a soft hyphen
        ("\x00\x01 Who\x07won?", "Who won?"),  # controls are spaces
        ("Who\n\twon\u00a0the cup?", "Who won the cup?"),  # line breaks, tabs, no-break spaces
        ("Отчёт 2024: 日本 naïve café?", "Отчёт 2024: 日本 naïve café?"),  # letters of any script kept
    ],
)
def test_a_question_is_read_in_its_visible_plain_letters(raw: str, read: str) -> None:
    assert as_read(raw) == read
    assert AskRequest(question=raw).question == read


@pytest.mark.parametrize("raw", ["\u200b", " \u200f\u200d ", "\x00"])
def test_a_question_of_invisible_characters_only_is_refused(raw: str) -> None:
    with pytest.raises(ValidationError, match="question is empty"):
        AskRequest(question=raw)


def test_an_empty_and_a_blank_question_get_one_message() -> None:
    from qa.schema import AskRequest, SearchRequest

    for model in (AskRequest, SearchRequest):
        for question in ("", "   ", "\u200b\t"):
            with pytest.raises(ValidationError) as info:
                model(question=question)
            assert [e["msg"] for e in info.value.errors()] == ["Value error, question is empty"]
