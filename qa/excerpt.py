"""The words shown around an answer: its sentence, trimmed to a readable length."""

from __future__ import annotations

from dataclasses import dataclass

from index.chunk import sentence_spans


@dataclass(frozen=True)
class Excerpt:
    """`text[start:end]` holds the answer at `text[answer_start:answer_end]`."""

    start: int
    end: int


def excerpt(text: str, answer_start: int, answer_end: int, limit: int = 300) -> Excerpt:
    """The sentence holding the answer; a sentence over `limit` characters is cut at word
    boundaries around the answer (text without punctuation is one long "sentence")."""
    a, b = answer_start, answer_end
    s, e = 0, len(text)
    for span in sentence_spans(text):
        if span.start <= a < span.end or span.start < b <= span.end:
            s, e = min(span.start, a), max(span.end, b)
            break
    if e - s <= limit:
        return Excerpt(s, e)
    room = max(0, limit - (b - a))
    before = min(a - s, room // 2)
    after = min(e - b, room - before)
    before = min(a - s, room - after)  # room the end did not use goes to the start
    cs, ce = a - before, b + after
    if cs > s:
        space = text.find(" ", cs, a)
        cs = space + 1 if space != -1 else cs
    if ce < e:
        space = text.rfind(" ", b, ce)
        ce = space if space != -1 else ce
    return Excerpt(cs, ce)
