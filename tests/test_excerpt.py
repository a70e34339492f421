"""The excerpt the CLI shows around an answer."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from qa.excerpt import excerpt


def test_short_sentence_is_shown_whole() -> None:
    text = "First sentence here. The exercise was held in September last year. Another one."
    a = text.index("September")
    ex = excerpt(text, a, a + len("September"))
    assert text[ex.start : ex.end] == "The exercise was held in September last year."


def test_unpunctuated_paragraph_is_cut_around_the_answer_at_word_boundaries() -> None:
    words = [f"word{i}" for i in range(200)]
    words[120] = "September"
    text = " ".join(words)
    a = text.index("September")
    ex = excerpt(text, a, a + len("September"), limit=80)
    shown = text[ex.start : ex.end]
    assert "September" in shown and len(shown) <= 80
    assert ex.start > 0 and ex.end < len(text)  # cut on both sides
    assert text[ex.start - 1] == " " and text[ex.end] == " "  # whole words only


def test_answer_at_the_start_gives_the_room_to_the_end() -> None:
    text = "September " + " ".join(["filler"] * 100)
    ex = excerpt(text, 0, len("September"), limit=60)
    assert ex.start == 0 and ex.end < len(text)
    assert ex.end > 50


@given(st.lists(st.sampled_from(["alpha", "beta.", "gamma", "delta,", "x"]), min_size=1, max_size=120), st.data(), st.integers(20, 400))
def test_excerpt_always_contains_the_answer(words: list[str], data: st.DataObject, limit: int) -> None:
    text = " ".join(words)
    i = data.draw(st.integers(0, len(words) - 1))
    a = len(" ".join(words[:i])) + (1 if i else 0)
    b = a + len(words[i])
    ex = excerpt(text, a, b, limit=limit)
    assert ex.start <= a and b <= ex.end
    assert ex.end - ex.start <= max(limit, b - a)
