"""Alternatives: different answers from other articles that score close to the answer and answer the same question."""

from __future__ import annotations

from collections.abc import Callable

from index.store import StoredDocument
from qa.group import Group
from qa.normalize import normalize_answer
from qa.schema import Alternative, Citation
from qa.score import about, shown, stem_set

# An alternative must be about what the question asks: its sentence must hold at least this
# share of the question's keyword stems that the answer's own sentence holds.
SAME_QUESTION = 0.8


def _also_gives(c: Citation, key: str) -> bool:
    """Whether the words shown around a citation also hold an answer (by its normalised words): that place doesn't say otherwise."""
    return f" {key} " in f" {normalize_answer(shown(c))} "


def alternatives(
    question: str, ranked: list[Group], best: Group, best_score: float, best_citation: Citation, documents: dict[str, StoredDocument],
    score: Callable[[Group], float], threshold: float, span_threshold: float, alternative_ratio: float, max_alternatives: int,
    say_otherwise: bool, cited: list[Citation] | None = None,
) -> list[Alternative]:
    """Different answers from other articles that score close to the best one and answer the same question.

    A span the reader likes in a sentence about something else ("The Ostrand library was opened
    by Paul Kine." for "Who opened the Zorbulon bridge?") is not an article saying otherwise:
    its sentence must hold nearly as many of the question's keywords as the answer's does, and
    must not give the answer too (unless `say_otherwise` is off: a newer article saying "Bob
    Jones replaced Alice Smith" is the latest answer, not agreement). Each is scored as the
    answer is (`score`), and must clear the same threshold. Only other articles say otherwise:
    a place in an article the answer cites (`cited`, the answer's citations) is never listed.
    """
    own = {c.doc_id for c in (cited or [best_citation])}
    terms = stem_set(question)
    needed = SAME_QUESTION * about(terms, best_citation)
    alternatives: list[Alternative] = []
    chosen = [best.key]
    for g in ranked:
        if g is best:
            continue
        if any(g.key in k or k in g.key for k in chosen):
            continue  # a longer or shorter reading of an answer already shown, not a disagreement
        if not g.docs - best.docs:
            continue  # another span of the same articles: a weaker reading, not articles disagreeing
        if max(f.value for f in g.found) < span_threshold:
            continue  # no place to cite (and scoring every weak span would cost time on each question)
        value = score(g)
        if value < threshold or value < alternative_ratio * best_score:
            continue
        # A place whose own sentence also gives the answer ("... a second exercise in December The
        # first-ever joint military exercise was held ... in September") doesn't say otherwise.
        citations = [
            c for c in g.citations(span_threshold)
            if c.doc_id not in own and about(terms, c) >= needed and not (say_otherwise and _also_gives(c, best.key))
        ]
        if not citations:
            continue  # its words answer another question, say the answer too, or stand in the answer's own articles
        chosen.append(g.key)
        first = citations[0]
        alternatives.append(
            Alternative(answer=documents[first.doc_id].text[first.answer_start : first.answer_end], score=round(value, 4), citations=citations)
        )
        if len(alternatives) >= max_alternatives:
            break
    return alternatives
