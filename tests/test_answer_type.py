"""The kind of answer a question asks for, and spans that cannot be of that kind ("Monday" is no birth date)."""

from __future__ import annotations

import pytest

from qa.answer_type import Kind, echoes, expected, fits


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("When was Nikolai Patrushev born?", Kind.YEAR),
        ("In what year did the first SARS epidemic occur?", Kind.YEAR),
        ("Which year of medical school is the practical year?", None),  # "year of": not asking for a year
        ("How many astronauts recently arrived at the International Space Station?", Kind.NUMBER),
        ("Abortion rates in Scotland increased by how much between 2021 and 2022?", Kind.NUMBER),
        ("What percentage of people in the US have some immunity to Covid-19?", Kind.NUMBER),
        ("When was the first joint exercise?", None),  # "when" is answered by events as often as by dates
        ("In 2017, when was Lavrov born?", Kind.YEAR),
        ("\u202e“When was Nikolai Patrushev born?", Kind.YEAR),  # a direction mark and a quote before it
        ("Wh\u200den was Nikolai Patrushev born?", Kind.YEAR),  # a zero-width joiner inside the question word
        ("Who briefed the Russian military delegation?", Kind.AGENT),
        ("Where did Lavrov meet Khawaja Asif?", Kind.AGENT),
        # "when" and "how much" inside the question are conjunctions, or the question is asked after the comma.
        ("What is released when nylon flags are burned?", None),
        ("When rain falls in short bursts, what is it called?", None),
        ("Deciding how much centralization is hard from what point of view?", None),
        ("Which airline received a massive fine?", None),  # "which X" says a kind the words can't check
        ("", None),
    ],
)
def test_the_kind_is_read_from_the_question_word(question: str, kind: Kind | None) -> None:
    assert expected(question) is kind


@pytest.mark.parametrize(
    ("kind", "answer", "ok"),
    [
        (Kind.YEAR, "Monday", False),
        (Kind.YEAR, "1953", True),
        (Kind.YEAR, "26", False),  # an age, not a year of birth
        (Kind.YEAR, "the 1990s", True),
        (Kind.YEAR, "'98", True),
        (Kind.YEAR, "the 19th century", True),
        (Kind.YEAR, "two years ago", True),
        (Kind.NUMBER, "Pakistan and China", False),
        (Kind.NUMBER, "4", True),
        (Kind.NUMBER, "three", True),
        (Kind.NUMBER, "A fifth", True),
        (Kind.NUMBER, "several hundred", True),
        (Kind.AGENT, "Monday, 3 March", False),
        (Kind.AGENT, "1987", False),
        (Kind.AGENT, "Nawaz Sharif", True),
        (Kind.AGENT, "Room 101", True),
        (Kind.AGENT, "Dec. 6 from 7-9 p.m. Central time", False),  # news dev: "Where will the debate take place?"
        (Kind.AGENT, "8 to 10 p.m. ET", False),
        (Kind.AGENT, "10:30am", False),
        (Kind.AGENT, "7-Eleven", True),
        (None, "anything at all", True),
    ],
)
def test_an_answer_is_ruled_out_only_when_its_words_cannot_be_of_that_kind(kind: Kind | None, answer: str, ok: bool) -> None:
    assert fits(kind, answer) is ok


def test_an_answer_of_only_the_questions_own_words_is_none() -> None:
    question = "The latest data shows abortion rates in Scotland increased by how much between 2021 and 2022?"
    assert echoes(question, "how much between 2021 and 2022")
    assert echoes(question, "in SCOTLAND,")  # normalised as the scorer does: punctuation and case aside
    assert not echoes(question, "A fifth") and not echoes(question, "between 2021 and 2022, a fifth")
    assert not echoes(question, "")
    # A question that offers a choice is answered with its own words.
    assert not echoes("Was French sugar cheaper or more expensive than British sugar?", "cheaper")
