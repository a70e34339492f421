"""How a question and a passage become the reader's windows: one rule for serving and training."""

from __future__ import annotations

from collections.abc import Sequence

MAX_LEN = 256  # word pieces per window: special tokens, question and passage
STRIDE = 64  # word pieces of passage that consecutive windows share
MAX_QUESTION_TOKENS = 64  # a longer question is read as its first word pieces
TRUNCATION = "only_second"  # only the passage is cut into windows, never the question


def question_limit(max_question_tokens: int = MAX_QUESTION_TOKENS, max_len: int = MAX_LEN, stride: int = STRIDE) -> int:
    """How many word pieces of a question are read."""
    # A window must keep room for the passage beyond its stride, or the tokenizer refuses the pair.
    return min(max_question_tokens, max_len - stride - 8)


def fit_question(question: str, pieces: Sequence[tuple[int, int]], limit: int) -> str:
    """The question cut after its first `limit` word pieces, whose character offsets (special
    tokens excluded) are `pieces`; the text itself, not pieces joined back, so that serving
    and training tokenize the same characters."""
    if len(pieces) <= limit:
        return question
    return question[: pieces[limit - 1][1]]
