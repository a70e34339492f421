"""The answer checks: each one rule, run in order, the first refusal giving its reason."""

from __future__ import annotations

from qa.checks import CHECKS, KEPT, PLACE_CHECKS, Place, check

PASSAGE = "Pakistan's National Security Advisor Nasir Khan Janjua met the delegation on Monday in Islamabad."


def _at(answer: str, text: str = PASSAGE, around: str | None = None) -> Place:
    start = text.index(answer)
    return Place(text, start, start + len(answer), around if around is not None else text)


def test_each_check_refuses_with_its_own_reason() -> None:
    verdict = check("Who is China's defence minister?", "Nasir Khan Janjua", _at("Nasir Khan Janjua"))
    assert (verdict.kept, verdict.check, verdict.reason) == (False, "names", "its passage never names China")
    verdict = check("When was Nasir Khan Janjua born?", "Monday", _at("Monday"))
    assert (verdict.kept, verdict.check) == (False, "kind") and "year" in verdict.reason
    verdict = check("Who met the delegation in Islamabad?", "Islamabad", _at("Islamabad"))
    assert (verdict.kept, verdict.check) == (False, "echo")
    verdict = check("Who is India's National Security Advisor?", "Nasir Khan Janjua", _at("Nasir Khan Janjua", around=PASSAGE + " India"))
    assert (verdict.kept, verdict.check) == (False, "owner") and "India" in verdict.reason
    assert check("Who is Pakistan's National Security Advisor?", "Nasir Khan Janjua", _at("Nasir Khan Janjua")) is KEPT


def test_the_checks_run_in_order_and_a_mention_passes_only_the_passage_checks() -> None:
    # Fails the names check and the kind check: the first in the list gives the reason.
    assert [c.__name__ for c in CHECKS] == ["names_mentioned", "kind_fits", "not_the_question", "same_owner"]
    assert check("When was Wang Yi born?", "Monday", _at("Monday")).check == "names"
    # Another mention of words already proposed is judged by where it stands, not by its words again.
    assert check("When was Nasir Khan Janjua born?", "Monday", _at("Monday"), PLACE_CHECKS) is KEPT
    # The question's name in the title or the text around the passage is enough.
    assert check("Who is China's defence minister?", "Nasir Khan Janjua", _at("Nasir Khan Janjua", around=PASSAGE + "\nChina talks")).kept
