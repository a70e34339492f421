"""What supports an answer beyond its margin: the evidence the answer's score is computed from (`qa.confidence`)."""

from __future__ import annotations

from functools import lru_cache

from index.keyword import stems
from qa.confidence import LEAD_CAP, Evidence
from qa.group import Group, with_excerpt
from qa.schema import Citation

# The answers with the best margins are ordered by the answer's score instead (news dev: forced
# EM 24.8 → 26.7, as many wrong answers given; 3 of them: 25.5; 30: as 10).
RERANK = 10


@lru_cache(maxsize=4096)
def stem_set(text: str) -> frozenset[str]:
    """A text's keyword stems; cached, as one question's words and answers are stemmed once per answer scored."""
    return frozenset(stems([text])[0].split())


def shown(c: Citation) -> str:
    """The words shown around a citation's answer (its excerpt)."""
    return c.passage[(c.excerpt_start or c.passage_start) - c.passage_start : (c.excerpt_end or c.passage_end) - c.passage_start]


def about(terms: frozenset[str], c: Citation) -> int:
    """How many of the question's keyword stems the words shown around a citation hold (not counting its answer's own)."""
    answer = c.passage[c.answer_start - c.passage_start : c.answer_end - c.passage_start]
    return len((terms - stem_set(answer)) & stem_set(shown(c)))


def evidence_for(question: str, ranked: list[Group], group: Group, first: Citation) -> Evidence:
    """What supports one answer beyond its best span's margin (see `qa.confidence`)."""
    rivals = [g.margin for g in ranked if g is not group and g.key not in group.key and group.key not in g.key]
    terms = stem_set(question) - stem_set(group.text)
    return Evidence(
        margin=group.margin,
        lead=min(LEAD_CAP, group.margin - max(rivals)) if rivals else LEAD_CAP,
        about=about(terms, first) / len(terms) if terms else 1.0,
        rank=min(f.passage for f in group.found),
    )


def top(group: Group) -> Citation:
    """The group's best place, with its excerpt (what `evidence_for` reads around the answer)."""
    return with_excerpt(max(group.found, key=lambda f: f.value).citation)
