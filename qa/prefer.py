"""Choosing among readings of one answer: a shorter reading the articles agree on, a name kept whole."""

from __future__ import annotations

from qa.group import Group
from qa.names import name_words
from qa.normalize import normalize_answer
from qa.read import Calibration

NESTED_MARGIN = 1.5  # logits: how much lower a shorter reading may score and still be preferred (`prefer`)


def _part_of_a_name(longer: str, shorter_key: str) -> bool:
    """Whether a shorter reading cuts a name: one word of a capitalised name ("Kevin" of "Kevin McCarthy"),
    or a name cut before its end ("Lt. Gen. Nazir Ahmed" of "Lt. Gen. Nazir Ahmed Butt").

    A title before a name may still go: "Sergey Shoigu" is preferred to "Russian Defense Minister
    Sergey Shoigu", whose dropped words are capitalised too, but come before the name.
    """
    kept = shorter_key.split()
    words = [(w, normalize_answer(w)) for w in longer.split()]
    words = [(w, n) for w, n in words if n]
    for i in range(len(words) - len(kept) + 1):
        if [n for _, n in words[i : i + len(kept)]] == kept:
            before, inside, after = words[:i], words[i : i + len(kept)], words[i + len(kept) :]
            if len(kept) == 1 and (before or after) and name_words([w for w, _ in before + after]):
                return True
            return bool(after) and name_words([inside[-1][0], after[0][0]])
    return False


def _owner_dropped(longer: str, shorter_key: str) -> bool:
    """Whether a shorter reading only drops a leading owner's name: "Lt. Gen. Nazir Ahmed Butt" of "Pakistan’s Lt. Gen. ...".

    The owner answers another question (whose general?); the reader proposing the rest is enough to prefer it.
    """
    first, _, rest = longer.partition(" ")
    return first[:1].isupper() and first.endswith(("'s", "’s")) and rest[:1].isupper() and normalize_answer(rest) == shorter_key


def prefer(ranked: list[Group], threshold: float, calibration: Calibration) -> Group:
    """The best answer, or a shorter reading inside it the articles agree on as much.

    "September" in "Last year in the month of September" is preferred when the reader scores
    it almost as high and at least as many articles give it: the extra words add nothing the
    articles agree on. Each step compares with the reading before it ("month of September",
    then "September"), so a reading nested twice is reached in two close steps. A name is
    kept whole ("Kevin McCarthy", not "McCarthy"): its other words say who; an owner's name before
    it may go however the reader scores the rest (`_owner_dropped`). The shorter
    reading must clear the threshold itself, or the answer would be given with no citation
    at or above it.
    """
    best = ranked[0]
    while True:
        nested = [
            g for g in ranked
            if g is not best
            and f" {g.key} " in f" {best.key} "
            and not _part_of_a_name(best.text, g.key)
            and (best.margin - g.margin <= NESTED_MARGIN or _owner_dropped(best.text, g.key))
            and len(g.article_margin) >= len(best.article_margin)
            and calibration(g.margin) >= threshold
        ]
        if not nested:
            return best
        best = max(nested, key=lambda g: (len(g.article_margin), g.support))


def whole_name(best: Group, ranked: list[Group], threshold: float, calibration: Calibration) -> Group:
    """A surname alone gives way to the whole name the reader also proposed in one of its articles ("Biles" → "Simone Biles").

    News names a person in full once and by surname after, so the reader often scores the
    surname higher; the whole name says who, whatever the margin between them.
    """
    if len(best.key.split()) != 1 or not name_words(best.text.split()):
        return best
    names = [
        g for g in ranked
        if g is not best
        and len(g.text.split()) > 1
        and name_words(g.text.split())  # not "Taylor County, Florida": a place within, not a whole name
        and g.key.split()[-1] == best.key
        and g.docs & best.docs
        and calibration(g.margin) >= threshold
    ]
    return max(names, key=lambda g: g.margin) if names else best
