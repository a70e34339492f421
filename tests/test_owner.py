"""Whose thing a question asks about, and sentences that give another owner's (on-topic questions)."""

from __future__ import annotations

import pytest

from qa.owner import another_owners, owned


@pytest.mark.parametrize(
    ("question", "owner"),
    [
        ("Who is India's National Security Advisor?", "India"),
        ("What is Merriam-Webster’s word of the year for 2023?", "Merriam-Webster"),
        ("How much of Europe's population was Jewish?", "Europe"),
        ("Which country’s soccer team won?", None),  # a question word owns nothing
        ("Who is the president of India?", None),
        ("Who won?", None),
    ],
)
def test_the_owner_a_question_names(question: str, owner: str | None) -> None:
    found = owned(question)
    assert (found.owner if found else None) == owner


def _at(text: str, answer: str) -> tuple[str, int, int]:
    return text, text.index(answer), text.index(answer) + len(answer)


def test_a_sentence_about_another_owners_thing_is_not_an_answer() -> None:
    q = "Who is India's National Security Advisor?"
    text = "India fought three wars. Pakistan’s National Security Advisor Nasir Khan Janjua met his Russian counterpart."
    assert another_owners(q, *_at(text, "Nasir Khan Janjua"))
    # Upper or lower case, the same thing is owned.
    assert another_owners("Who is India's national security advisor?", *_at(text, "Nasir Khan Janjua"))


def test_the_owner_asked_for_or_an_unowned_thing_keeps_the_span() -> None:
    q = "Who is India's National Security Advisor?"
    assert not another_owners(q, *_at("India's National Security Advisor Ajit Doval met Pakistan's.", "Ajit Doval"))
    assert not another_owners(q, *_at("The National Security Advisor of India, Ajit Doval, spoke.", "Ajit Doval"))
    # A sentence naming the owner asked about and another's thing is not ruled out: it may compare them.
    assert not another_owners(q, *_at("Unlike India, Pakistan's National Security Advisor Janjua spoke.", "Janjua"))
    # Only the sentence holding the span counts: another owner in the sentence before is no matter.
    text = "Pakistan's National Security Advisor Janjua spoke first. India's advisor, Ajit Doval, replied."
    assert not another_owners(q, *_at(text, "Ajit Doval"))
    # A question without an owner keeps every span.
    assert not another_owners("Who spoke first?", *_at(text, "Janjua"))


def test_an_owner_in_lower_case_is_no_owner() -> None:
    # "the men's World Cup" names no owner: "men" is not a name.
    text = "Spain won the women's tournament after the men's World Cup final drew crowds in Qatar."
    assert not another_owners("Where was Women’s World Cup final played?", *_at(text, "Qatar"))


def test_an_on_topic_question_about_another_country_is_not_found(pipeline) -> None:
    """The sample articles name Pakistan's and Russia's advisors and mention India: "Who is India's
    National Security Advisor?" was answered with Pakistan's (0.46) before (real models)."""
    from qa.schema import AskRequest

    r = pipeline.ask(AskRequest(question="Who is India's National Security Advisor?"))
    assert r.answer is None and r.citations == [], (r.answer, r.score)
    forced = pipeline.ask(AskRequest(question="Who is India's National Security Advisor?"), threshold=0.0)
    assert forced.answer is None or "Janjua" not in forced.answer, forced.answer
    # The advisor the articles do name is answered as before.
    r = pipeline.ask(AskRequest(question="Who is Pakistan's National Security Advisor?"))
    assert r.answer == "Nasir Khan Janjua", r.answer


@pytest.mark.parametrize("mark", ["\u200f", "\u200b", "\u200d", "\u2060", "\u00ad"])
def test_an_invisible_mark_inside_the_possessive_changes_nothing(pipeline, mark: str) -> None:
    """A probe over HTTP: "India\u200f's" (a direction mark, invisible on the page) split the owner's
    word, and the question got Pakistan's advisor again at 0.46 (real models)."""
    from qa.schema import AskRequest

    r = pipeline.ask(AskRequest(question=f"Who is India{mark}'s National Security Advisor?"))
    assert r.answer is None, (r.answer, r.score)
