"""How a question's characters are read, once, before anything looks at its words."""

from __future__ import annotations

import unicodedata


def as_read(question: str) -> str:
    """Compatibility forms as their plain letters, invisible format characters left out, controls as spaces."""
    # A fullwidth "Ｗｈｅｎ" is "When": the reader's vocabulary has no fullwidth forms (it answered
    # "Pakistan and Russia", not "September"). A direction mark or a zero-width joiner inside a word
    # ("India\u200f's") is invisible on the page but split the word for every rule that reads names,
    # possessives and question words: "Who is India\u200f's National Security Advisor?" got Pakistan's.
    text = unicodedata.normalize("NFKC", question)
    kept = (" " if unicodedata.category(ch) == "Cc" else ch for ch in text if unicodedata.category(ch) != "Cf")
    return " ".join("".join(kept).split())
