"""Sentence-aware chunking under the embedder's word-piece limit, with exact offsets."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from index.documents import Chunk, Document

_WORD = re.compile(r"\S+")
# Text counts as at least one word piece per this many characters. The tokenizer reads a word
# of over 100 characters as one [UNK]: a megabyte without spaces was one "3-token" chunk.
CHARS_PER_PIECE = 10


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def sentence_spans(text: str) -> list[Span]:
    """Sentence boundaries as character spans of `text` (sentencex, located exactly).

    sentencex (Wikimedia's segmenter, Rust) replaced pysbd: on 150 news articles it split
    170x faster (0.03 s against 5.1 s) and kept datelines ("CEDAR KEY, Fla. − ...") and
    "2 p.m. ET" whole, where pysbd cut them.
    """
    from sentencex import segment

    spans: list[Span] = []
    for paragraph in re.finditer(r"[^\n]+", text):
        para = paragraph.group(0)
        if not para.strip():
            continue
        base = paragraph.start()
        local = 0
        first = len(spans)
        for sent in segment("en", para):
            stripped = sent.strip()
            if not stripped:
                continue
            idx = para.find(stripped, local)
            if idx < 0:  # the segmenter altered the text: fall back to the rest of the paragraph
                rest = para[local:]
                lead = len(rest) - len(rest.lstrip())
                spans.append(Span(base + local + lead, base + len(para.rstrip())))
                local = len(para)
                break
            spans.append(Span(base + idx, base + idx + len(stripped)))
            local = idx + len(stripped)
        _cover(text, spans, first, base + len(para) - len(para.lstrip()), base + len(para.rstrip()))
    return spans


def _cover(text: str, spans: list[Span], first: int, start: int, end: int) -> None:
    """Stretch one paragraph's sentences (spans[first:]) over all its visible text.

    A segmenter may leave out characters it can't place (pysbd gave no sentence at all for
    a lone 'ȸ'), and a chunk must never lose text: what falls between sentences joins the one before it.
    """
    if first == len(spans):
        spans.append(Span(start, end))
        return
    spans[first] = Span(min(start, spans[first].start), spans[first].end)
    for i in range(first, len(spans)):
        stop = spans[i + 1].start if i + 1 < len(spans) else end
        gap = text[spans[i].end : stop]
        if gap.strip():
            spans[i] = Span(spans[i].start, spans[i].end + len(gap.rstrip()))


def _sizes(count: Counter, texts: list[str]) -> list[int]:
    """Word pieces of each text with [CLS]/[SEP], and never fewer than its characters allow (`CHARS_PER_PIECE`)."""
    return [max(n, -(-len(t) // CHARS_PER_PIECE) + 2) for n, t in zip(count(texts), texts)] if texts else []


def _split_long(text: str, span: Span, count: Counter, limit: int) -> list[Span]:
    """A sentence over the limit becomes word-aligned pieces under it."""
    words = [(m.start() + span.start, m.end() + span.start) for m in _WORD.finditer(text[span.start : span.end])]
    sizes = [n - 2 for n in _sizes(count, [text[a:b] for a, b in words])]
    pieces: list[Span] = []
    i = 0
    while i < len(words):
        if sizes[i] + 2 > limit:
            # One enormous "word" (a URL, a hash): cut it by characters.
            s, e = words[i]
            step = max(1, limit)
            pieces.extend(Span(k, min(e, k + step)) for k in range(s, e, step))
            i += 1
            continue
        j, total = i + 1, sizes[i]
        while j < len(words) and total + sizes[j] + 2 <= limit:
            total += sizes[j]
            j += 1
        pieces.append(Span(words[i][0], words[j - 1][1]))
        i = j
    return pieces


Counter = Callable[[list[str]], list[int]]


def indexed_text(title: str, text: str) -> str:
    """What a chunk is found by (embedded and keyword-indexed): its text, headed by the article's
    title unless it already starts with it. A chunk from the middle of an article often never
    names what the article is about; the title does. The stored text and offsets stay exact."""
    title = " ".join(title.split())
    return f"{title}\n{text}" if title and not text.lstrip().startswith(title) else text


class Chunker:
    """Packs whole sentences into chunks of at most `max_tokens` word pieces.

    Consecutive chunks share one sentence, so an answer that sits on a chunk boundary
    is still whole in one of them.
    """

    def __init__(self, count_tokens: Counter, max_tokens: int = 200, overlap_sentences: int = 1):
        self.count = count_tokens
        self.max_tokens = max_tokens
        self.overlap = overlap_sentences

    def __call__(self, doc: Document) -> list[Chunk]:
        text = doc.text
        units: list[Span] = []
        sizes: list[int] = []  # word pieces of each unit without [CLS]/[SEP]
        spans = sentence_spans(text)
        for span, n in zip(spans, _sizes(self.count, [text[s.start : s.end] for s in spans])):
            if n > self.max_tokens:
                pieces = _split_long(text, span, self.count, self.max_tokens)
                units.extend(pieces)
                sizes.extend(m - 2 for m in _sizes(self.count, [text[u.start : u.end] for u in pieces]))
            else:
                units.append(span)
                sizes.append(n - 2)
        # A chunk's count is the sum of its units' wherever they meet at a space or punctuation,
        # so packing by the sums and checking every chunk in one call is exact; only a document
        # where a check fails (a long word cut mid-way) is packed again, checking as it goes.
        # Few calls: one count per chunk was most of the ingest thread's own time.
        chunks = self._pack(doc, units, sizes, check=False)
        if max(self.count([c.text for c in chunks]), default=0) > self.max_tokens:
            chunks = self._pack(doc, units, sizes, check=True)
        return chunks

    def _pack(self, doc: Document, units: list[Span], sizes: list[int], check: bool) -> list[Chunk]:
        text = doc.text
        chunks: list[Chunk] = []
        i = 0
        while i < len(units):
            j, total = i + 1, sizes[i]
            while j < len(units) and total + sizes[j] + 2 <= self.max_tokens:
                total += sizes[j]
                j += 1
            while check and j > i + 1 and self.count([text[units[i].start : units[j - 1].end]])[0] > self.max_tokens:
                j -= 1
            start, end = units[i].start, units[j - 1].end
            chunks.append(Chunk(doc.id, f"{doc.id}::{len(chunks):04d}", text[start:end], start, end))
            if j >= len(units):
                break
            i = max(i + 1, j - self.overlap)
        return chunks
