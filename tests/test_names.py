"""The names a question asks about, and whether a passage mentions them ("not in these articles")."""

from __future__ import annotations

import pytest

from qa.names import mentioned, names, unmentioned


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Who is China's defence minister?", ["China"]),  # the possessive's name alone
        ("When did Narendra Modi visit Islamabad?", ["Narendra Modi", "Islamabad"]),
        ("Which Chinese general visited Moscow?", ["Chinese", "Moscow"]),  # a sentence's first word dropped, not its run
        ("Turkey is the centerpiece of Thanksgiving dinner. Which US state raises the most turkeys?", ["Thanksgiving"]),
        ("The wildfire devastated Hawaii in August. Which island was hit on Monday, Feb 3?", ["Hawaii"]),  # dates aren't names
        ('Who said "Barbie" was great?', ["Barbie"]),
        ("Who lives in the Élysée Palace, and who is Сhina's leader?", ["Élysée Palace", "Сhina"]),  # any script's capitals
        # "Army" after "U.S." reads as a sentence's first word: dropped, which errs towards answering.
        ("What did the U.S. Army and Russia-Pakistan talks do in 2018?", ["U.S", "Russia-Pakistan"]),
        ("when was the first joint exercise?", []),
        ("\u202e“When was the first joint exercise?", []),  # a direction mark and a quote still open the sentence
    ],
)
def test_names_are_the_capitalised_runs_that_dont_open_a_sentence(question: str, expected: list[str]) -> None:
    assert names(question) == expected


def test_a_name_is_there_inflected_spelt_differently_accented_or_as_its_initials() -> None:
    text = "Lovrov met Asif and the Russian envoy in Zürich; a Public-Private Partnering deal with Iraq followed."
    assert unmentioned(["Lavrov", "Khawaja Asif", "Russia", "Zurich", "PPP"], text) == []
    # Close in letters is not the same name: Iran is not Iraq, Austria not Australia, and
    # initials count only for an acronym.
    assert unmentioned(["Iran", "Austria", "Ppp", "Narendra Modi"], text + " Australia") == ["Iran", "Austria", "Ppp", "Narendra Modi"]


def test_a_passage_is_about_the_question_when_it_names_what_the_question_names() -> None:
    passage = "Pakistan's defence minister Khurram Dastgir met the Kansas City Chiefs fans in Islamabad."
    assert not mentioned(["China"], passage)  # a name on its own must be there
    assert not mentioned(["Narendra Modi", "Islamabad"], passage)  # so must every name of two words or more
    assert mentioned(["American", "Kansas City Chiefs"], passage)  # one of several one-word names may be a people
    assert not mentioned(["American", "European"], passage)  # but not all of them
    assert mentioned([], passage)
