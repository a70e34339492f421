"""Questions about the latest state: the most recent article's answer wins, earlier ones are shown dated."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from index.dates import normalize
from qa.schema import Alternative, AskResponse, Citation

# Words that ask for the state of things now rather than at some point the articles cover.
LATEST = re.compile(
    r"\b(?:latest|current|currently|now|nowadays|today|at present|presently|"
    r"this (?:week|month|year)|most recent(?:ly)?|as of (?:now|today))\b",
    re.IGNORECASE,
)
# Words placing the question in time relative to when it is asked ("... this week?"): they name
# no topic, and news articles say "this week" about everything, so retrieval leaves them out.
# "The last week of the season" is a topic, not the time of asking.
RELATIVE_TIME = re.compile(r"\b(?:(?:this|last|past|next) (?:week|weekend|month|year)(?! of)|recently|this morning)\b", re.IGNORECASE)
MAX_EARLIER = 3  # earlier answers shown: as many as the alternatives of any answer
CANDIDATES = 10  # different answers assembled for such a question, before the newest is picked


def asks_for_latest(question: str) -> bool:
    return LATEST.search(question) is not None


def topical(question: str) -> str:
    """The question less its words of relative time, what retrieval looks for (the whole question if nothing else is left)."""
    rest = " ".join(RELATIVE_TIME.sub(" ", question).split())
    return rest if any(ch.isalnum() for ch in rest) else question


@dataclass(frozen=True)
class Candidate:
    """One answer and the publication date of the newest article that gives it (None: undated)."""

    answer: str
    published: str | None


def _key(published: str | None) -> str:
    # ISO strings of any precision sort by time; undated ("") sorts before every date.
    return (normalize(published) or "") if published else ""


def preferred(question: str, candidates: Sequence[Candidate]) -> int:
    """The index of the answer to give: the most recent one for a question about the latest state.

    `candidates` come best-scored first; the first stays preferred for any other question,
    when no candidate is dated, and among candidates of the same newest date.
    """
    if not candidates or not asks_for_latest(question):
        return 0
    keys = [_key(c.published) for c in candidates]
    newest = max(keys)
    return keys.index(newest) if newest else 0


def newest_date(citations: Sequence[Citation]) -> str | None:
    dated = [c.published for c in citations if _key(c.published)]
    return max(dated, key=_key) if dated else None


def prefer_recent(response: AskResponse, alternative_ratio: float) -> AskResponse:
    """The response with the most recent answer first when the question asks for the latest state.

    `response` must carry every different answer above the threshold as an alternative
    (assembled with no score ratio): which one is most recent is decided over all of them.
    When the articles' answers don't differ in date, the ordinary alternatives are kept:
    those scoring at least `alternative_ratio` of the answer.
    """
    if response.answer is None:
        return response
    answers = [(response.answer, response.score, response.citations)] + [(a.answer, a.score, a.citations) for a in response.alternatives]
    dated = [newest_date(cites) for _, _, cites in answers]
    distinct_dates = {_key(d) for d in dated if d}
    if not asks_for_latest(response.question) or len(answers) < 2 or len(distinct_dates) < 2:
        kept = [a for a in response.alternatives if a.score >= alternative_ratio * response.score][:MAX_EARLIER]
        return response.model_copy(update={"alternatives": kept})
    best = preferred(response.question, [Candidate(a, d) for (a, _, _), d in zip(answers, dated)])
    answer, score, citations = answers[best]
    own = {c.doc_id for c in citations}  # an earlier answer is what other articles said
    earlier = [
        (Alternative(answer=a, score=s, citations=[x for x in c if x.doc_id not in own]), d)
        for i, ((a, s, c), d) in enumerate(zip(answers, dated))
        if i != best and any(x.doc_id not in own for x in c)
    ]
    earlier.sort(key=lambda pair: _key(pair[1]), reverse=True)  # stable: equal dates keep their score order
    return response.model_copy(
        update={
            "answer": answer,
            "score": score,
            "citations": citations,
            "articles": len({c.doc_id for c in citations}),
            "alternatives": [alt for alt, _ in earlier[:MAX_EARLIER]],
            "most_recent": True,
        }
    )
