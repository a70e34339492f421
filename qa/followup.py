"""Follow-up questions: whether a question leans on an earlier turn, and what it is retrieved and checked with then."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from qa.names import CALENDAR, name_spans, name_words

# Words that point back at something said before. "there" and "then" count too: "How many were
# there?", "Who was president then?". A pronoun after a name of the question points at that name
# ("Where did Pence speak when he quit?"), so only one before any name makes the question lean.
REFERRING = re.compile(r"\b(?:he|she|him|her|his|hers|it|its|they|them|their|theirs|there|then)\b", re.IGNORECASE)
# A question without a name of its own leans on the conversation when it is short, as people's
# follow-ups are ("How much will the deal cost?", "Who chaired the judging panel?"); a longer one
# says what it is about in its own words ("Which college sport set a world record for attendance?").
MAX_NAMELESS_WORDS = 5
MAX_NAMES = 8  # names carried along a chain of follow-ups, the most recent first
_WORD = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?")
# Words that say nothing about a topic: question words, auxiliaries, pronouns, small words.
STOP = frozenset(
    """a an the and or but of to in on at by for from with about into over under after before during since until
    as than then there here this that these those who whom whose what which when where why how whether if
    is are was were be been being am do does did done doing has have had having will would shall should can
    could may might must not no yes so too very also just only still yet again ever
    he she him her his hers it its they them their theirs we us our you your i me my mine one ones
    many much more most some any all each other another such same own
    say said says tell told know known called name named make made get got take took give gave go went
    new recently week year years day days time times last first next""".split()
)


class Turn(Protocol):
    """An earlier turn as the request gives it."""

    question: str
    answer: str | None


@dataclass(frozen=True)
class Context:
    """What a turn is about: the names it was asked and answered with, and its topic words."""

    names: tuple[str, ...] = ()
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class FollowUp:
    """A question that leans on history[`follows`]: retrieve with `query`; an answer's passage must name one of `names`."""

    follows: int
    query: str
    names: tuple[str, ...]


def content_words(text: str) -> list[str]:
    """The words of `text` that can say what it is about (no question words, pronouns or small words)."""
    return [w for w in _WORD.findall(text) if w.casefold() not in STOP and (len(w) >= 3 or w[:1].isdigit())]


def leans(question: str) -> bool:
    """Whether `question` can't be read without an earlier turn: a pronoun ("he", "it", "there",
    "then") before any name of its own, or no name at all in a short question."""
    spans = name_spans(question)
    first_name = spans[0][0] if spans else len(question)
    if any(m.start() < first_name for m in REFERRING.finditer(question)):
        return True
    return not spans and len(content_words(question)) <= MAX_NAMELESS_WORDS


def _answer_name(answer: str | None) -> list[str]:
    """An answer that is a name ("Nasir Khan Janjua", "Florida") is one of the names talked about; a month or a day ("September") is not."""
    words = (answer or "").split()
    if not words or not name_words(words) or all(w.casefold().strip(".,") in CALENDAR for w in words):
        return []
    return [" ".join(words)]


def _unique(items: Sequence[str], limit: int | None = None) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    out = tuple(seen.values())
    return out[:limit] if limit else out


def contexts(history: Sequence[Turn]) -> list[Context]:
    """Each turn's context, in order: its own names and topic words, and a follow-up's also those of
    the turn it leaned on (names only, so a chain of follow-ups keeps its subject, not every word)."""
    out: list[Context] = []
    for turn in history:
        own = [turn.question[a:b] for a, b in name_spans(turn.question)] + _answer_name(turn.answer)
        inherited = out[-1].names if out and leans(turn.question) else ()
        out.append(Context(_unique([*own, *inherited], MAX_NAMES), _unique(content_words(turn.question))))
    return out


def follow_up(question: str, history: Sequence[Turn] | None) -> FollowUp | None:
    """The earlier turn `question` leans on (the latest one) and what it is retrieved and checked
    with; None when it stands alone or there is no history."""
    if not history or not leans(question):
        return None
    last = len(history) - 1
    context = contexts(history)[last]
    answer = (history[last].answer or "").strip()
    # The question first; then what the earlier turn was about and what it was answered.
    extra = [w for w in _unique([*context.words, *context.names]) if w.casefold() not in question.casefold()]
    query = " ".join([question, *extra, *([answer] if answer and answer.casefold() not in " ".join(extra).casefold() else [])])
    return FollowUp(last, query, context.names)
