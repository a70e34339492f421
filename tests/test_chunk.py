"""Chunking: exact offsets, full coverage in order, every chunk under the token limit."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.chunk import Chunker
from index.documents import Document
from index.embed import Embedder

LIMIT = 60


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(Embedder().count_tokens, max_tokens=LIMIT)


words = st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1, max_size=25)
sentence = st.tuples(st.lists(words, min_size=1, max_size=30), st.sampled_from([".", "!", "?", ""])).map(lambda t: " ".join(t[0]) + t[1])
separator = st.sampled_from([" ", "  ", "\n", "\n\n", " \n "])
texts = st.lists(st.tuples(sentence, separator), min_size=1, max_size=25).map(lambda parts: "".join(s + sep for s, sep in parts))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=texts)
def test_chunk_properties(chunker: Chunker, text: str) -> None:
    doc = Document(id="d", title="t", text=text, source="d.txt")
    chunks = chunker(doc)
    assert chunks, "a non-empty text gives at least one chunk"
    covered = [False] * len(text)
    previous_start = -1
    for c in chunks:
        assert text[c.start : c.end] == c.text  # offsets slice the text exactly
        assert c.start > previous_start  # in order
        previous_start = c.start
        assert chunker.count([c.text])[0] <= LIMIT  # under the limit, special tokens included
        for i in range(c.start, c.end):
            covered[i] = True
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and not covered[i]]
    assert not missing, f"uncovered characters: {text[missing[0]:missing[0] + 20]!r}"


def test_long_sentence_and_long_word_are_split(chunker: Chunker) -> None:
    text = "word " * 300 + "x" * 2000 + " end."
    chunks = chunker(Document(id="d", title="t", text=text, source="d.txt"))
    assert len(chunks) > 3
    assert all(chunker.count([c.text])[0] <= LIMIT and text[c.start : c.end] == c.text for c in chunks)


def test_text_the_tokenizer_reads_as_one_unknown_piece_is_still_cut_to_size(chunker: Chunker) -> None:
    from index.chunk import CHARS_PER_PIECE

    # Over 100 characters without a space is one [UNK] to the tokenizer: by its count alone, a
    # megabyte of it fitted in one chunk, cited and shown whole.
    text = "x" * 200_000 + " The ferry sails at nine."
    chunks = chunker(Document(id="d", title="t", text=text, source="d.txt"))
    assert max(len(c.text) for c in chunks) <= LIMIT * CHARS_PER_PIECE
    assert "".join(c.text for c in chunks if c.text.startswith("x")).count("x") >= 200_000  # nothing lost
    assert chunks[-1].text.endswith("The ferry sails at nine.")


def test_consecutive_chunks_overlap_by_a_sentence(chunker: Chunker) -> None:
    text = " ".join(f"Sentence number {i} talks about topic {i} at some length here." for i in range(40))
    chunks = chunker(Document(id="d", title="t", text=text, source="d.txt"))
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        assert b.start < a.end, "neighbouring chunks share their boundary sentence"


@pytest.mark.parametrize("text", ["ȸ. ", "ȸ ", " ȸ\n\nȸ a. b ȸ ", "x ȸ. y"])
def test_text_the_sentence_splitter_drops_is_still_chunked(chunker: Chunker, text: str) -> None:
    """A segmenter may leave out characters (pysbd did, found by hypothesis in CI): no chunk may lose them."""
    chunks = chunker(Document(id="d", title="t", text=text, source="d.txt"))
    covered = "".join(text[c.start : c.end] for c in chunks)
    assert "".join(covered.split()) == "".join(text.split())
