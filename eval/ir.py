"""Ranking metrics of ranked document lists, from `ir_measures` (trec_eval's definitions)."""

from __future__ import annotations

import ir_measures
from ir_measures import RR, R, Success, nDCG

__all__ = ["RR", "R", "Success", "nDCG", "mean", "per_query"]

Rankings = dict[str, list[str]]  # query id -> document ids, best first
Qrels = dict[str, dict[str, int]]  # query id -> {document id: relevance}


def per_query(measure, rankings: Rankings, qrels: Qrels) -> list[float]:
    """`measure` (e.g. `nDCG@10`, `R@5`) of each ranking, in the order of `rankings`."""
    # Scores that fall with the rank, so trec_eval's sort by score keeps the given order.
    run = {q: {doc: float(len(ranked) - i) for i, doc in enumerate(ranked)} for q, ranked in rankings.items() if ranked}
    # trec_eval leaves out a query that retrieved nothing: it scores 0, as it would at any cutoff.
    scores = dict.fromkeys(rankings, 0.0)
    scores.update({m.query_id: m.value for m in ir_measures.iter_calc([measure], qrels, run) if m.query_id in scores})
    return list(scores.values())


def mean(measure, rankings: Rankings, qrels: Qrels) -> float:
    """`measure` averaged over the queries of `rankings`."""
    scores = per_query(measure, rankings, qrels)
    return sum(scores) / len(scores) if scores else 0.0
