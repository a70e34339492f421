"""Answer assembly: reader spans become cited answers, merged, ranked and calibrated."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from index.keyword import stems
from index.store import StoredDocument
from qa.checks import NAMES_AROUND, PLACE_CHECKS, Place, Verdict, check
from qa.confidence import LEAD_CAP, Confidence, Evidence
from qa.excerpt import excerpt
from qa.names import name_words
from qa.normalize import normalize_answer
from qa.read import Calibration, Span
from qa.retrieve import Passage
from qa.schema import Alternative, AskResponse, Citation, Dropped

NESTED_MARGIN = 1.5  # logits; see `assemble`
# The answers with the best margins are ordered by the answer's score instead (news dev: forced
# EM 24.8 → 26.7, as many wrong answers given; 3 of them: 25.5; 30: as 10).
RERANK = 10
# An alternative must be about what the question asks: its sentence must hold at least this
# share of the question's keyword stems that the answer's own sentence holds.
SAME_QUESTION = 0.8


@dataclass(frozen=True)
class _Found:
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
class _Group:
    key: str
    margin: float  # the best single span: what the calibrated score is made from
    text: str
    found: list[_Found] = field(default_factory=list)
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
                kept.append(_with_excerpt(f.citation))
        return kept


def _with_excerpt(c: Citation) -> Citation:
    """The citation with the words every shell shows around its answer (computed once, here)."""
    ex = excerpt(c.passage, c.answer_start - c.passage_start, c.answer_end - c.passage_start)
    return c.model_copy(update={"excerpt_start": c.passage_start + ex.start, "excerpt_end": c.passage_start + ex.end})


def _cite(group: _Group, doc: StoredDocument, passage: Passage, rank: int, a: int, b: int, margin: float, calibration: Calibration) -> None:
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
    group.found.append(_Found(citation, value, rank))


def _group(
    passages: list[Passage], spans: list[Span], documents: dict[str, StoredDocument], calibration: Calibration
) -> dict[str, _Group]:
    """Spans with the same SQuAD-normalised words become one answer, citing each place."""
    groups: dict[str, _Group] = {}
    for span in sorted(spans, key=lambda s: s.margin, reverse=True):
        key = normalize_answer(span.text)
        passage = passages[span.passage]
        doc = documents.get(passage.doc_id)
        if not key or doc is None:
            continue  # punctuation-only spans, or a document deleted since retrieval
        a, b = passage.start + span.start, passage.start + span.end
        group = groups.setdefault(key, _Group(key, span.margin, span.text))
        _cite(group, doc, passage, span.passage, a, b, span.margin, calibration)
    return groups


def _cite_mentions(groups: dict[str, _Group], passages: list[Passage], mentions: Sequence[Span], documents: dict[str, StoredDocument], calibration: Calibration) -> None:
    """Other mentions of a proposed answer's words, scored by the reader: more places for that answer, never a new one."""
    for m in sorted(mentions, key=lambda m: m.margin, reverse=True):
        group = groups.get(normalize_answer(m.text))
        passage = passages[m.passage]
        doc = documents.get(passage.doc_id)
        if group is not None and doc is not None:
            _cite(group, doc, passage, m.passage, passage.start + m.start, passage.start + m.end, m.margin, calibration)


# Capitalised only because they open a sentence or a phrase: never a word of a name ("In Brazil").
def _part_of_a_name(longer: str, shorter_key: str) -> bool:
    """Whether a shorter reading cuts a name: one word of a capitalised name ("Kevin" of "Kevin McCarthy"),
    or a name cut before its end ("Lt. Gen. Nazir Ahmed" of "Lt. Gen. Nazir Ahmed Butt").

    A title before a name may still go: "Sergey Shoigu" is preferred to "Russian Defense Minister
    Sergey Shoigu", whose dropped words are capitalised too, but come before the name.
    """
    kept = shorter_key.split()
    words = [(w, normalize_answer(w)) for w in longer.split()]
    words = [(w, n) for w, n in words if n]
    for i in range(len(words) - len(kept) + 1):
        if [n for _, n in words[i : i + len(kept)]] == kept:
            before, inside, after = words[:i], words[i : i + len(kept)], words[i + len(kept) :]
            if len(kept) == 1 and (before or after) and name_words([w for w, _ in before + after]):
                return True
            return bool(after) and name_words([inside[-1][0], after[0][0]])
    return False


def _owner_dropped(longer: str, shorter_key: str) -> bool:
    """Whether a shorter reading only drops a leading owner's name: "Lt. Gen. Nazir Ahmed Butt" of "Pakistan’s Lt. Gen. ...".

    The owner answers another question (whose general?); the reader proposing the rest is enough to prefer it.
    """
    first, _, rest = longer.partition(" ")
    return first[:1].isupper() and first.endswith(("'s", "’s")) and rest[:1].isupper() and normalize_answer(rest) == shorter_key


def _prefer(ranked: list[_Group], threshold: float, calibration: Calibration) -> _Group:
    """The best answer, or a shorter reading inside it the articles agree on as much.

    "September" in "Last year in the month of September" is preferred when the reader scores
    it almost as high and at least as many articles give it: the extra words add nothing the
    articles agree on. Each step compares with the reading before it ("month of September",
    then "September"), so a reading nested twice is reached in two close steps. A name is
    kept whole ("Kevin McCarthy", not "McCarthy"): its other words say who; an owner's name before
    it may go however the reader scores the rest (`_owner_dropped`). The shorter
    reading must clear the threshold itself, or the answer would be given with no citation
    at or above it.
    """
    best = ranked[0]
    while True:
        nested = [
            g for g in ranked
            if g is not best
            and f" {g.key} " in f" {best.key} "
            and not _part_of_a_name(best.text, g.key)
            and (best.margin - g.margin <= NESTED_MARGIN or _owner_dropped(best.text, g.key))
            and len(g.article_margin) >= len(best.article_margin)
            and calibration(g.margin) >= threshold
        ]
        if not nested:
            return best
        best = max(nested, key=lambda g: (len(g.article_margin), g.support))


def _whole_name(best: _Group, ranked: list[_Group], threshold: float, calibration: Calibration) -> _Group:
    """A surname alone gives way to the whole name the reader also proposed in one of its articles ("Biles" → "Simone Biles").

    News names a person in full once and by surname after, so the reader often scores the
    surname higher; the whole name says who, whatever the margin between them.
    """
    if len(best.key.split()) != 1 or not name_words(best.text.split()):
        return best
    names = [
        g for g in ranked
        if g is not best
        and len(g.text.split()) > 1
        and name_words(g.text.split())  # not "Taylor County, Florida": a place within, not a whole name
        and g.key.split()[-1] == best.key
        and g.docs & best.docs
        and calibration(g.margin) >= threshold
    ]
    return max(names, key=lambda g: g.margin) if names else best


@lru_cache(maxsize=4096)
def _stems(text: str) -> frozenset[str]:
    """A text's keyword stems; cached, as one question's words and answers are stemmed once per answer scored."""
    return frozenset(stems([text])[0].split())


def _shown(c: Citation) -> str:
    """The words shown around a citation's answer (its excerpt)."""
    return c.passage[(c.excerpt_start or c.passage_start) - c.passage_start : (c.excerpt_end or c.passage_end) - c.passage_start]


def _about(terms: frozenset[str], c: Citation) -> int:
    """How many of the question's keyword stems the words shown around a citation hold (not counting its answer's own)."""
    answer = c.passage[c.answer_start - c.passage_start : c.answer_end - c.passage_start]
    return len((terms - _stems(answer)) & _stems(_shown(c)))


def _also_gives(c: Citation, key: str) -> bool:
    """Whether the words shown around a citation also hold an answer (by its normalised words): that place doesn't say otherwise."""
    return f" {key} " in f" {normalize_answer(_shown(c))} "


def _evidence(question: str, ranked: list[_Group], group: _Group, first: Citation) -> Evidence:
    """What supports one answer beyond its best span's margin (see `qa.confidence`)."""
    rivals = [g.margin for g in ranked if g is not group and g.key not in group.key and group.key not in g.key]
    terms = _stems(question) - _stems(group.text)
    return Evidence(
        margin=group.margin,
        lead=min(LEAD_CAP, group.margin - max(rivals)) if rivals else LEAD_CAP,
        about=_about(terms, first) / len(terms) if terms else 1.0,
        rank=min(f.passage for f in group.found),
    )


def _top(group: _Group) -> Citation:
    """The group's best place, with its excerpt (what `_evidence` reads around the answer)."""
    return _with_excerpt(max(group.found, key=lambda f: f.value).citation)


def _alternatives(
    question: str, ranked: list[_Group], best: _Group, best_score: float, best_citation: Citation, documents: dict[str, StoredDocument],
    score: Callable[[_Group], float], threshold: float, span_threshold: float, alternative_ratio: float, max_alternatives: int,
    say_otherwise: bool,
) -> list[Alternative]:
    """Different answers from other articles that score close to the best one and answer the same question.

    A span the reader likes in a sentence about something else ("The Ostrand library was opened
    by Paul Kine." for "Who opened the Zorbulon bridge?") is not an article saying otherwise:
    its sentence must hold nearly as many of the question's keywords as the answer's does, and
    must not give the answer too (unless `say_otherwise` is off: a newer article saying "Bob
    Jones replaced Alice Smith" is the latest answer, not agreement). Each is scored as the
    answer is (`score`), and must clear the same threshold.
    """
    terms = _stems(question)
    needed = SAME_QUESTION * _about(terms, best_citation)
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
        citations = [c for c in g.citations(span_threshold) if _about(terms, c) >= needed and not (say_otherwise and _also_gives(c, best.key))]
        if not citations:
            continue  # its words answer another question, or say the answer too
        chosen.append(g.key)
        first = citations[0]
        alternatives.append(
            Alternative(answer=documents[first.doc_id].text[first.answer_start : first.answer_end], score=round(value, 4), citations=citations)
        )
        if len(alternatives) >= max_alternatives:
            break
    return alternatives


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


def _place(p: Passage, documents: dict[str, StoredDocument]) -> Place:
    """A passage as the checks see it: its text, and the words around it with its article's title."""
    doc = documents.get(p.doc_id)
    around = doc.text[max(0, p.start - NAMES_AROUND) : p.end + NAMES_AROUND] + "\n" + doc.title if doc else p.text
    return Place(p.text, 0, 0, around)


def _at(place: Place, span: Span) -> Place:
    return Place(place.text, span.start, span.end, place.around)


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
    fuller: Sequence[Span] = (),
    say_otherwise: bool = True,
    explain: bool = False,
) -> AskResponse:
    """Reader spans → one cited, scored answer (or none): group, cite, prefer, score, pick alternatives.

    Spans count only when every answer check passes (`qa.checks`): from passages that name what the question names, only
    when their words can be what the question asks for (`answer_type`: "Monday" is no answer
    to "When was X born?", nor is a span of the question's own words), and not from a sentence
    giving another owner's thing than the one asked for (`owner`: Pakistan's advisor is no
    answer to "Who is India's National Security Advisor?"). `fuller` spans are whole names the
    reader scored around a surname it proposed (`Reader._fuller`): candidates like any other.
    Answers are ranked by their best span margin, which is comparable across passages; the
    calibration turns a margin into a span score, and a place is cited when its span score
    clears the span threshold (`_Group.citations`). The answer's own score is the `confidence`
    model's probability that it is right, from its margin, its lead over a different answer,
    the question's words around it and its passage's rank (`qa.confidence`); the best
    `RERANK` answers by margin are ordered by that score, so an answer the question's words
    surround in a top passage beats a slightly higher margin elsewhere. Without that model the
    score is the span score. `threshold` (default: the model's) decides abstention on that score;
    0 forces an answer and cites every place. With `explain`, the response also lists the best
    candidates the checks dropped (`qa.checks`), each with its reason.
    """
    answer_threshold = threshold if threshold is not None else (confidence or calibration).threshold
    span_threshold = min(answer_threshold, calibration.threshold) if confidence else answer_threshold
    places = [_place(p, documents) for p in passages]
    verdicts = [(s, check(question, s.text, _at(places[s.passage], s))) for s in (*spans, *fuller)]
    groups = _group(passages, [s for s, v in verdicts if v.kept], documents, calibration)
    dropped = _dropped(verdicts, passages) if explain else []
    _cite_mentions(groups, passages, [m for m in mentions if check(question, m.text, _at(places[m.passage], m), PLACE_CHECKS).kept], documents, calibration)
    ranked = sorted(groups.values(), key=lambda g: g.margin, reverse=True)

    judged: dict[str, tuple[Evidence, float]] = {}  # by answer key: ordering, choosing and alternatives ask again

    def judge(g: _Group) -> tuple[Evidence, float]:
        if g.key not in judged:
            evidence = _evidence(question, ranked, g, _top(g))
            judged[g.key] = (evidence, confidence(evidence) if confidence else calibration(g.margin))
        return judged[g.key]

    def score(g: _Group) -> float:
        return judge(g)[1]

    if not ranked:
        return AskResponse(question=question, answer=None, score=0.0, citations=[], threshold=answer_threshold, dropped=dropped)
    if confidence:
        ranked = sorted(ranked[:RERANK], key=score, reverse=True) + ranked[RERANK:]
    best = _whole_name(_prefer(ranked, span_threshold, calibration), ranked, span_threshold, calibration)
    evidence, value = judge(best)
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
        alternatives=_alternatives(question, ranked, best, value, first, documents, score, answer_threshold, span_threshold, alternative_ratio, max_alternatives, say_otherwise),
        articles=len({c.doc_id for c in citations}),  # the articles listed, not every weak mention
        sources=len({c.group for c in citations}),  # copies of one story are one source
        threshold=answer_threshold,
        dropped=dropped,
    )
    response._evidence = evidence
    return response
