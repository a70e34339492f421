"""More places for what the reader proposed: the other mentions of its words."""

from __future__ import annotations

import re

from qa.read import Calibration, Reading, Span


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
