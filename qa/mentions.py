"""More places for what the reader proposed: other mentions of its words, and the whole names around a surname."""

from __future__ import annotations

import re

from qa.names import fuller_names
from qa.read import Calibration, Reading, Span


def fuller(reading: Reading, passages: list[str], calibration: Calibration) -> list[Span]:
    """The whole names a proposed one-word name stands for in the passages read ("Simone Biles"
    for "Biles"), each scored by the reader (margin above 0).

    News names a person in full once and by surname after, and the decoder keeps a few spans
    a window: the whole name is often read but not proposed. The reader's own margin for it
    decides whether it competes.
    """
    seen = {(s.passage, s.start, s.end) for s in reading.spans}
    out: list[Span] = []
    for word in dict.fromkeys(s.text for s in reading.spans if " " not in s.text):
        for p, passage in enumerate(passages):
            for a, b in fuller_names(passage, word):
                if (p, a, b) in seen:
                    continue
                seen.add((p, a, b))
                margin = reading.margin_at(p, a, b)
                if margin is not None and margin > 0:
                    out.append(Span(p, a, b, passage[a:b], margin, calibration(margin)))
    return out


def mentions(reading: Reading, passages: list[str], calibration: Calibration) -> list[Span]:
    """Every other whole-word mention of a proposed answer's words that the reader also scores
    as an answer (margin above 0): an answer named twice is found twice."""
    seen = {(s.passage, s.start, s.end) for s in reading.spans}
    out: list[Span] = []
    for text in dict.fromkeys(s.text for s in reading.spans):
        pattern = re.compile(r"(?<!\w)" + re.escape(text) + r"(?!\w)", re.IGNORECASE)
        for p, passage in enumerate(passages):
            for m in pattern.finditer(passage):
                if (p, m.start(), m.end()) in seen:
                    continue
                seen.add((p, m.start(), m.end()))
                margin = reading.margin_at(p, m.start(), m.end())
                if margin is not None and margin > 0:
                    out.append(Span(p, m.start(), m.end(), m.group(0), margin, calibration(margin)))
    return out
