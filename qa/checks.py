"""The answer checks: whether a reader's span can be the answer, each one rule that says why not.

A check is `check(question, span, place) -> Verdict`: `span` the span's words, `place` where they
stand (its passage, the offsets, the text around it). `CHECKS` lists them in the order the
pipeline runs them; the first that drops a span gives its reason, which `qa ask --explain`
shows, so a user can see why a candidate answer was refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from qa.answer_type import echoes, expected, fits
from qa.names import names, unmentioned
from qa.owner import another_owners, owned

# A passage is one chunk: the question's name is often in the sentence just before it. Wider
# (800 characters, the whole article) answered "Who is China's defence minister?" again.
NAMES_AROUND = 400


@dataclass(frozen=True)
class Verdict:
    kept: bool
    check: str = ""  # the check that dropped the span
    reason: str = ""


KEPT = Verdict(True)


@dataclass(frozen=True)
class Place:
    """Where a span stands: its passage's text, the span's offsets in it, and the passage with
    `NAMES_AROUND` characters either side and its article's title (what names are looked for in)."""

    text: str
    start: int
    end: int
    around: str
    earlier: tuple[str, ...] = ()  # a follow-up's names from the turn it leans on (`qa.followup`)


@lru_cache(maxsize=1024)
def _missing(question: str, around: str) -> tuple[str, ...]:
    """The question's names `around` lacks, when that means the passage is about something else.

    Every name of two words or more must be there; of the one-word names, which are often a
    people or a title ("Which American football team ..."), one is enough. Cached: a question's
    spans share a few passages.
    """
    asked = names(question)
    missing = unmentioned(asked, around) if asked else []
    if not missing or (len(missing) < len(asked) and all(" " not in n for n in missing)):
        return ()
    return tuple(missing)


def names_mentioned(question: str, span: str, place: Place) -> Verdict:
    """A span counts only from a passage that names what the question names: "Who is China's
    defence minister?" is not answered from a passage about Pakistan's. A follow-up's passage must
    also name one of the names of the turn it leans on: "How old is she?" after "Who won the Nobel
    Peace Prize?" is not answered from a passage about someone else."""
    missing = _missing(question, place.around)
    if missing:
        return Verdict(False, "names", f"its passage never names {', '.join(missing)}")
    if place.earlier and _none_of(place.earlier, place.around):
        return Verdict(False, "names", f"its passage names none of the earlier turn's {', '.join(place.earlier)}")
    return KEPT


@lru_cache(maxsize=1024)
def _none_of(earlier: tuple[str, ...], around: str) -> bool:
    return len(unmentioned(list(earlier), around)) == len(earlier)


def kind_fits(question: str, span: str, place: Place) -> Verdict:
    """A span's words must be able to be what the question asks for: a number for "How many",
    a year for "When was X born?", no bare date or time of day for "Who" or "Where"."""
    kind = expected(question)
    return KEPT if fits(kind, span) else Verdict(False, "kind", f"not a possible {kind.value} answer" if kind else "")


def not_the_question(question: str, span: str, place: Place) -> Verdict:
    """An answer is never only the question's own words, nor, for a follow-up, only the names of
    the turn it leans on: "Who is her husband?" after "... Simone Biles" is not "Simone Biles"."""
    if echoes(question, span):
        return Verdict(False, "echo", "only repeats the question's words")
    if place.earlier and echoes(" ".join(place.earlier), span):
        return Verdict(False, "echo", "only repeats the names of the earlier turn it follows")
    return KEPT


def same_owner(question: str, span: str, place: Place) -> Verdict:
    """A span whose sentence gives another owner's thing answers nothing about the question's
    owner: "Pakistan's National Security Advisor ..." for "Who is India's ...?"."""
    if another_owners(question, place.text, place.start, place.end):
        asked = owned(question)
        return Verdict(False, "owner", f"its sentence is about another owner's thing than {asked.owner}'s" if asked else "")
    return KEPT


Check = Callable[[str, str, Place], Verdict]
CHECKS: tuple[Check, ...] = (names_mentioned, kind_fits, not_the_question, same_owner)
# Another mention of words already proposed: its words passed the word checks with the proposal.
PLACE_CHECKS: tuple[Check, ...] = (names_mentioned, same_owner)


def check(question: str, span: str, place: Place, checks: tuple[Check, ...] = CHECKS) -> Verdict:
    """The first check that drops the span, or `KEPT`."""
    for c in checks:
        verdict = c(question, span, place)
        if not verdict.kept:
            return verdict
    return KEPT
