"""What kind of words a question asks for (a number, a year, an agent), and answers that cannot be one: the wrong kind, or the question's own words."""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache

from qa.names import CALENDAR
from qa.normalize import normalize_answer
from qa.question_text import as_read


class Kind(str, Enum):
    """The kinds checked. "When ..." is not one: its answers are as often events ("during the Roman
    Empire", "after dropping to the sea-floor") as dates, and checking it lost right answers on SQuAD."""

    NUMBER = "number"  # "How many ...", "What percentage of ..."
    YEAR = "year"  # "In what year ...", "When was X born?" (not "When did X die?": news says "on Sunday")
    AGENT = "agent"  # "Who ...", "Where ...": never a bare number or date, nor a time of day


_NUMBER_WORDS = {
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "hundred", "hundreds", "thousand", "thousands", "million", "millions", "billion", "billions",
    "trillion", "dozen", "dozens", "score", "half", "halves", "third", "thirds", "quarter", "quarters",
    "twice", "double", "triple", "once", "single", "couple", "few", "several", "many", "no", "none", "all",
    "most", "majority", "minority", "percent", "cent", "various", "multiple", "numerous", "countless",
    "some", "free", "nothing", "entire", "entirety", "whole", "any",
}
_YEAR_WORDS = {"year", "years", "century", "centuries", "decade", "decades", "ago"}

# A question word counts where it opens the question or a clause of it ("In 1990, when ...", "By how
# much ..."); deeper in, "when" and "how much" are mostly conjunctions ("harmful when paired with ...").
_OPEN = (
    r"(?:^|[,;:] )(?:(?:in|on|at|by|to|for|from|since|until|of|during|after|before|and|so|but|then|"
    r"exactly|roughly|approximately|about) )?"
)
_ASKS = [
    (
        Kind.YEAR,
        re.compile(
            _OPEN
            + r"(?:(?:what|which) (?:year|century|decade)(?! of)|when (?:was|were|is) .{1,80}? (?:born|founded)\b)"
            r"|\bin (?:what|which) (?:year|century|decade)\b"
        ),
    ),
    (
        Kind.NUMBER,
        re.compile(
            _OPEN
            + r"(?:how (?:many|much|old)|what (?:percentage|percent|proportion|share|fraction|number) of|what age(?![-\w]))"
            r"|\b(?:by|in|to) how (?:many|much)\b|\bhow many\b"
        ),
    ),
    (Kind.AGENT, re.compile(_OPEN + r"(?:who|whom|where)\b")),
]
_LATER_ASK = re.compile(r"[,.;:] (?=(?:what|which|who|whom|whose|where|why|how)\b)")
_LEADING_MARKS = re.compile(r"^[\W_]+")
_WORDS = re.compile(r"[^\W\d_]+")
_DIGIT = re.compile(r"\d")
# A time of day ("7-9 p.m.", "8 to 10 pm", "10:30am"): never who or where ("Where will the debate
# take place?" was answered "Dec. 6 from 7-9 p.m. Central time"); no who/where answer of SQuAD
# v1.1, v2.0, NQ-open or the news set holds one.
_CLOCK = re.compile(r"\b\d{1,2}(?::\d\d)?(?:\s*(?:-|–|to)\s*\d{1,2}(?::\d\d)?)?\s*[ap]\.?m\b")
# A year or a century in digits: "1953", "the 1990s", "'98", "19th"; not an age ("26").
_YEAR_DIGITS = re.compile(r"(?<!\d)\d{3,4}(?!\d)|\d0s\b|['’]\d\d\b|\d(?:st|nd|rd|th)\b")
# "fifteen", "forty", "a fifth", "tenfold": number words the list above doesn't hold.
_NUMBERISH = re.compile(r"^(?:(?:thir|four|fif|six|seven|eigh|nine)teen|(?:twen|thir|for|fif|six|seven|eigh|nine)ty|(?:four|fif|six|seven|eigh|nin|ten)ths?)$|fold$")


@lru_cache(maxsize=1024)
def expected(question: str) -> Kind | None:
    """The kind of answer the question asks for; None when its words don't say clearly."""
    # Marks before the first word (quotes) don't move where the question opens.
    q = _LEADING_MARKS.sub("", as_read(question).lower())
    # "When X and Y are finite, what is ...?": the question is asked by the clause after the comma.
    q = _LATER_ASK.split(q)[-1] if _LATER_ASK.search(q) else q
    for kind, pattern in _ASKS:
        if pattern.search(q):
            return kind
    return None


def fits(kind: Kind | None, answer: str) -> bool:
    """Whether an answer's words can be of that kind: lenient, it rules out only what cannot be."""
    if kind is None:
        return True
    text = answer.lower()
    words = _WORDS.findall(text)
    if kind is Kind.AGENT:
        return any(w not in CALENDAR for w in words) and not _CLOCK.search(text)
    if kind is Kind.YEAR:
        return bool(_YEAR_DIGITS.search(text)) or any(w in _YEAR_WORDS for w in words)
    if _DIGIT.search(text):
        return True
    return any(w in _NUMBER_WORDS or _NUMBERISH.search(w) for w in words)


def echoes(question: str, answer: str) -> bool:
    """Whether an answer only repeats the question's own words ("how much between 2021 and 2022").

    A question offering a choice ("... the female or the male?") is answered by its own words, so it is exempt.
    """
    asked = normalize_answer(question).split()
    if "or" in asked:
        return False
    words = normalize_answer(answer).split()
    return bool(words) and set(words) <= set(asked)
