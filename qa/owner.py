"""Whose thing a question asks about ("India's National Security Advisor"), and answers whose sentence gives another owner's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from bm25s.stopwords import STOPWORDS_EN

from qa.excerpt import excerpt
from qa.names import name_spans

# What follows a possessive name: up to three words, cut at the first stop word
# ("Europe's population was ..." owns "population").
_OWNED = re.compile(r"['’]s\s+((?:[\w-]+\s+){0,2}[\w-]+)")
_STOP = frozenset(STOPWORDS_EN)


@dataclass(frozen=True)
class Owned:
    owner: str  # "India"
    thing: re.Pattern[str]  # "Capitalised's National Security Advisor" in any letter case, the owner captured


@lru_cache(maxsize=1024)
def owned(question: str) -> Owned | None:
    """The first name of the question said to own something, and what it owns; None when there is none."""
    for start, end in name_spans(question):
        m = _OWNED.match(question, end)
        if not m:
            continue
        words = []
        for w in m.group(1).split():
            if w.casefold() in _STOP:
                break
            words.append(re.escape(w))
        if words:
            thing = re.compile(r"\b([A-Z][\w.-]*)['’]s\s+(?i:" + r"\s+".join(words) + r")(?!\w)")
            return Owned(question[start:end], thing)
    return None


def another_owners(question: str, text: str, start: int, end: int) -> bool:
    """True when the sentence around `text[start:end]` gives another owner's thing and never names the question's owner.

    Asked "Who is India's National Security Advisor?", the sentence "Pakistan's National Security
    Advisor Nasir Khan Janjua met ..." holds a span the reader likes, but it is Pakistan's: the
    passage names India elsewhere, so checks on the whole passage pass it.
    """
    asked = owned(question)
    if asked is None:
        return False
    ex = excerpt(text, start, end)
    sentence = text[ex.start : ex.end]
    if re.search(r"(?<!\w)" + re.escape(asked.owner) + r"(?!\w)", sentence, re.IGNORECASE):
        return False
    return any(m.group(1).casefold() != asked.owner.casefold() for m in asked.thing.finditer(sentence))
