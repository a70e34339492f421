"""Grouping: spans with the same words become one answer, with every place it was found and its citations."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from index.store import StoredDocument
from qa.excerpt import excerpt
from qa.normalize import normalize_answer
from qa.read import Calibration, Span
from qa.retrieve import Passage
from qa.schema import Citation


@dataclass(frozen=True)
class Found:
    """One place an answer was found, with its unrounded calibrated score.

    The unrounded score decides against the threshold, as the answer's own score does,
    so a citation and its answer are judged alike.
    """

    citation: Citation
    value: float
    passage: int  # retrieval rank of the passage it was found in


def _overlaps(a: Citation, b: Citation) -> bool:
    return a.doc_id == b.doc_id and a.passage_start < b.passage_end and b.passage_start < a.passage_end


@dataclass
class Group:
    key: str
    margin: float  # the best single span: what the calibrated score is made from
    text: str
    found: list[Found] = field(default_factory=list)
    seen: set[tuple[str, int, int]] = field(default_factory=set)
    article_margin: dict[str, float] = field(default_factory=dict)

    @property
    def support(self) -> float:
        """Best margin plus the positive margins of every other article that gives it.

        Articles that agree make an answer stronger (summing margins, which are comparable
        across passages, measured better here than summing per-passage probabilities).
        """
        others = sorted(self.article_margin.values(), reverse=True)[1:]
        return self.margin + sum(m for m in others if m > 0)

    @property
    def docs(self) -> set[str]:
        """Every article the reader found this answer in, cited or not."""
        return {f.citation.doc_id for f in self.found}

    def citations(self, threshold: float) -> list[Citation]:
        """The places to show, best first: each at or above the threshold, one per passage.

        One answer is often found several times in one passage: with and without a leading
        article ("the Pakistani province ..." and "Pakistani province ...", one key once
        normalised), at each mention of a name, or in the two overlapping chunks that share a
        sentence. Each would print the same passage again, so only the best of them is kept;
        passages of one document that overlap count as one passage. A place scoring below
        the threshold is not support for the answer, so it isn't listed at all.
        """
        kept: list[Citation] = []
        for f in sorted(self.found, key=lambda f: f.value, reverse=True):
            if f.value < threshold:
                break
            if not any(_overlaps(f.citation, k) for k in kept):
                kept.append(with_excerpt(f.citation))
        return kept


def with_excerpt(c: Citation) -> Citation:
    """The citation with the words every shell shows around its answer (computed once, here)."""
    ex = excerpt(c.passage, c.answer_start - c.passage_start, c.answer_end - c.passage_start)
    return c.model_copy(update={"excerpt_start": c.passage_start + ex.start, "excerpt_end": c.passage_start + ex.end})


def _cite(group: Group, doc: StoredDocument, passage: Passage, rank: int, a: int, b: int, margin: float, calibration: Calibration) -> None:
    if (doc.doc_id, a, b) in group.seen:
        return  # the same words found again through an overlapping chunk (spans come best first)
    group.seen.add((doc.doc_id, a, b))
    group.article_margin[doc.doc_id] = max(margin, group.article_margin.get(doc.doc_id, -math.inf))
    value = calibration(margin)
    citation = Citation(
        doc_id=doc.doc_id,
        title=doc.title,
        source=doc.source,
        published=doc.published,
        passage=doc.text[passage.start : passage.end],
        passage_start=passage.start,
        passage_end=passage.end,
        answer_start=a,
        answer_end=b,
        score=round(value, 4),
        group=doc.group or doc.doc_id,
    )
    group.found.append(Found(citation, value, rank))


def group_spans(
    passages: list[Passage], spans: list[Span], documents: dict[str, StoredDocument], calibration: Calibration
) -> dict[str, Group]:
    """Spans with the same SQuAD-normalised words become one answer, citing each place."""
    groups: dict[str, Group] = {}
    for span in sorted(spans, key=lambda s: s.margin, reverse=True):
        key = normalize_answer(span.text)
        passage = passages[span.passage]
        doc = documents.get(passage.doc_id)
        if not key or doc is None:
            continue  # punctuation-only spans, or a document deleted since retrieval
        a, b = passage.start + span.start, passage.start + span.end
        group = groups.setdefault(key, Group(key, span.margin, span.text))
        _cite(group, doc, passage, span.passage, a, b, span.margin, calibration)
    return groups


def cite_mentions(groups: dict[str, Group], passages: list[Passage], mentions: Sequence[Span], documents: dict[str, StoredDocument], calibration: Calibration) -> None:
    """Other mentions of a proposed answer's words, scored by the reader: more places for that answer, never a new one."""
    for m in sorted(mentions, key=lambda m: m.margin, reverse=True):
        group = groups.get(normalize_answer(m.text))
        passage = passages[m.passage]
        doc = documents.get(passage.doc_id)
        if group is not None and doc is not None:
            _cite(group, doc, passage, m.passage, passage.start + m.start, passage.start + m.end, m.margin, calibration)


# Capitalised only because they open a sentence or a phrase: never a word of a name ("In Brazil").
