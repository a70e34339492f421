"""Span decoding: the best answer spans of one window from its start/end logits."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# Where one piece of text ends and the next begins; an answer never runs across one. A blank line
# ends a paragraph (a single newline may only wrap a line of plain text). A news dateline ends at
# its dash: "WASHINGTON – President Donald Trump" was an answer, "SAN FRANCISCO (AP) — The ..." is
# the same form (a capitalised place opening a line, its first word in capitals, a state or an
# agency after it).
SEGMENT_BREAK = re.compile(
    r"\n[ \t\r]*\n"
    r"|^[ \t]*[A-Z][A-Z.'’-]{2,}(?:[ ,]+[A-Z][\w.'’-]*){0,4}(?: \([A-Za-z]+\))? ?(?:--?|[–—]{1,2}) ",
    re.MULTILINE,
)
# Spans kept per window: enough that the shorter readings inside the best one ("September" in
# "the month of September") are candidates for `qa.prefer.prefer`; 3 often left them out.
TOP_SPANS = 5


@dataclass(frozen=True)
class WindowSpan:
    """A candidate span inside one window, in token indices, with its logit margin."""

    start_token: int
    end_token: int
    margin: float  # (start + end logit) - (CLS start + CLS end logit): comparable across windows


def decode_window(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    context_mask: np.ndarray,
    *,
    max_answer_tokens: int = 30,
    n_best: int = 20,
    top_spans: int = TOP_SPANS,
    segments: np.ndarray | None = None,
) -> tuple[list[WindowSpan], float]:
    """Best spans inside the context tokens of one window and the window's null score.

    Returns the top spans by margin over the null ([CLS]) score, and that null score. With
    `segments` (each token's segment number, `SEGMENT_BREAK`), a span never runs from one
    segment into the next: words across a blank line are a list or a headline and its story, and
    words across a dateline's dash are a place and the story's first words, not an answer.
    """
    null = float(start_logits[0] + end_logits[0])
    s = np.where(context_mask, start_logits, -np.inf)
    e = np.where(context_mask, end_logits, -np.inf)
    k = min(n_best, int(context_mask.sum()))
    if k == 0:
        return [], null
    starts = np.argsort(-s)[:k]
    ends = np.argsort(-e)[:k]
    cands: list[WindowSpan] = []
    for i in starts:
        for j in ends:
            if j < i or j - i + 1 > max_answer_tokens or (segments is not None and segments[i] != segments[j]):
                continue
            cands.append(WindowSpan(int(i), int(j), float(s[i] + e[j]) - null))
    cands.sort(key=lambda c: c.margin, reverse=True)
    return cands[:top_spans], null
