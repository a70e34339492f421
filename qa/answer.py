"""Answer assembly: reader spans become one cited, scored answer, stage by stage.

check (`qa.checks`) → group (`qa.group`) → prefer (`qa.prefer`) → score (`qa.score`,
`qa.confidence`) → alternatives (`qa.alternatives`).
"""

from __future__ import annotations

from collections.abc import Sequence

from index.store import StoredDocument
from qa.alternatives import alternatives
from qa.checks import NAMES_AROUND, PLACE_CHECKS, Place, Verdict, check
from qa.confidence import Confidence, Evidence
from qa.group import Group, cite_mentions, group_spans
from qa.normalize import normalize_answer
from qa.prefer import prefer, whole_name
from qa.read import Calibration, Span
from qa.retrieve import Passage
from qa.schema import AskResponse, Dropped
from qa.score import RERANK, evidence_for, top


def _dropped(verdicts: list[tuple[Span, Verdict]], passages: list[Passage], limit: int = 10) -> list[Dropped]:
    """The best candidates the checks refused, one per answer and article, best first."""
    out: dict[tuple[str, str], Dropped] = {}
    for s, v in sorted(verdicts, key=lambda sv: sv[0].margin, reverse=True):
        key = (normalize_answer(s.text), passages[s.passage].doc_id)
        if v.kept or key in out:
            continue
        out[key] = Dropped(answer=s.text, doc_id=key[1], score=round(s.score, 4), check=v.check, reason=v.reason)
        if len(out) >= limit:
            break
    return list(out.values())


def _place(p: Passage, documents: dict[str, StoredDocument], earlier: tuple[str, ...] = ()) -> Place:
    """A passage as the checks see it: its text, and the words around it with its article's title."""
    doc = documents.get(p.doc_id)
    around = doc.text[max(0, p.start - NAMES_AROUND) : p.end + NAMES_AROUND] + "\n" + doc.title if doc else p.text
    return Place(p.text, 0, 0, around, earlier)


def _at(place: Place, span: Span) -> Place:
    return Place(place.text, span.start, span.end, place.around, place.earlier)


def assemble(
    question: str,
    passages: list[Passage],
    spans: list[Span],
    documents: dict[str, StoredDocument],
    calibration: Calibration,
    *,
    confidence: Confidence | None = None,
    threshold: float | None = None,
    alternative_ratio: float = 0.75,
    max_alternatives: int = 3,
    mentions: Sequence[Span] = (),
    say_otherwise: bool = True,
    explain: bool = False,
    earlier_names: tuple[str, ...] = (),
) -> AskResponse:
    """Reader spans → one cited, scored answer (or none): group, cite, prefer, score, pick alternatives.

    Spans count only when every answer check passes (`qa.checks`): from passages that name what the question names, only
    when their words can be what the question asks for (`answer_type`: "Monday" is no answer
    to "When was X born?", nor is a span of the question's own words), and not from a sentence
    giving another owner's thing than the one asked for (`owner`: Pakistan's advisor is no
    answer to "Who is India's National Security Advisor?").
    Answers are ranked by their best span margin, which is comparable across passages; the
    calibration turns a margin into a span score, and a place is cited when its span score
    clears the span threshold (`Group.citations`). The answer's own score is the `confidence`
    model's probability that it is right, from its margin, its lead over a different answer,
    the question's words around it and its passage's rank (`qa.confidence`); the best
    `RERANK` answers by margin are ordered by that score, so an answer the question's words
    surround in a top passage beats a slightly higher margin elsewhere. Without that model the
    score is the span score. `threshold` (default: the model's) decides abstention on that score;
    0 forces an answer and cites every place. With `explain`, the response also lists the best
    candidates the checks dropped (`qa.checks`), each with its reason. `earlier_names`: a
    follow-up's names from the turn it leans on (`qa.followup`); a passage must name one of them.
    """
    answer_threshold = threshold if threshold is not None else (confidence or calibration).threshold
    span_threshold = min(answer_threshold, calibration.threshold) if confidence else answer_threshold
    places = [_place(p, documents, earlier_names) for p in passages]
    verdicts = [(s, check(question, s.text, _at(places[s.passage], s))) for s in spans]
    groups = group_spans(passages, [s for s, v in verdicts if v.kept], documents, calibration)
    dropped = _dropped(verdicts, passages) if explain else []
    cite_mentions(groups, passages, [m for m in mentions if check(question, m.text, _at(places[m.passage], m), PLACE_CHECKS).kept], documents, calibration)
    ranked = sorted(groups.values(), key=lambda g: g.margin, reverse=True)

    judged: dict[str, tuple[Evidence, float]] = {}  # by answer key: ordering, choosing and alternatives ask again

    def judge(g: Group) -> tuple[Evidence, float]:
        if g.key not in judged:
            found = evidence_for(question, ranked, g, top(g))
            judged[g.key] = (found, confidence(found) if confidence else calibration(g.margin))
        return judged[g.key]

    def score(g: Group) -> float:
        return judge(g)[1]

    if not ranked:
        return AskResponse(question=question, answer=None, score=0.0, citations=[], threshold=answer_threshold, dropped=dropped)
    if confidence:
        ranked = sorted(ranked[:RERANK], key=score, reverse=True) + ranked[RERANK:]
    best = whole_name(prefer(ranked, span_threshold, calibration), ranked, span_threshold, calibration)
    best_evidence, value = judge(best)
    if value < answer_threshold:
        return AskResponse(question=question, answer=None, score=round(value, 4), citations=[], threshold=answer_threshold, dropped=dropped)
    # Never empty: the best place is listed even when the answer's score, not its span's, cleared the bar.
    citations = best.citations(min(span_threshold, calibration(best.margin)))
    first = citations[0]
    response = AskResponse(
        question=question,
        answer=documents[first.doc_id].text[first.answer_start : first.answer_end],
        score=round(value, 4),
        citations=citations,
        alternatives=alternatives(question, ranked, best, value, first, documents, score, answer_threshold, span_threshold, alternative_ratio, max_alternatives, say_otherwise, citations),
        articles=len({c.doc_id for c in citations}),  # the articles listed, not every weak mention
        sources=len({c.group for c in citations}),  # copies of one story are one source
        threshold=answer_threshold,
        dropped=dropped,
    )
    response._evidence = best_evidence
    return response
