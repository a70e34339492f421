"""The benchmarks' ranking metrics (`eval.ir`, ir_measures) against values worked out by hand."""

from __future__ import annotations

import math
import random

import pytest

from eval.ir import RR, R, Success, mean, nDCG, per_query

QRELS = {"a": {"d1": 1, "d4": 1}, "b": {"d2": 3, "d5": 1}, "c": {"d9": 1}, "d": {"d3": 1}}
RANKINGS = {
    "a": ["d1", "d2", "d3", "d4"],  # relevant at ranks 1 and 4
    "b": ["d5", "d2"],  # the lesser one first
    "c": ["d1", "d2"],  # nothing relevant
    "d": [],  # nothing retrieved
}


def _ndcg_at_10(ranked: list[str], relevant: dict[str, int]) -> float:
    """The benchmarks' own nDCG@10 before ir_measures replaced it."""
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:10]))
    ideal = sum(r / math.log2(i + 2) for i, r in enumerate(sorted(relevant.values(), reverse=True)[:10]))
    return dcg / ideal if ideal else 0.0


def test_metrics_match_hand_computed_values() -> None:
    ideal_a = 1 + 1 / math.log2(3)
    ideal_b = 3 + 1 / math.log2(3)
    assert per_query(nDCG @ 10, RANKINGS, QRELS) == pytest.approx(
        [(1 + 1 / math.log2(5)) / ideal_a, (1 + 3 / math.log2(3)) / ideal_b, 0.0, 0.0], abs=1e-12
    )
    assert per_query(R @ 1, RANKINGS, QRELS) == [0.5, 0.5, 0.0, 0.0]
    assert per_query(R @ 4, RANKINGS, QRELS) == [1.0, 1.0, 0.0, 0.0]
    assert per_query(Success @ 1, RANKINGS, QRELS) == [1.0, 1.0, 0.0, 0.0]
    assert per_query(RR, RANKINGS, QRELS) == [1.0, 1.0, 0.0, 0.0]
    assert mean(R @ 1, RANKINGS, QRELS) == 0.25
    # The order given is the ranking, whatever the document ids.
    assert per_query(RR, {"a": ["d9", "d8", "d4"]}, QRELS) == [pytest.approx(1 / 3)]


def test_ndcg_is_the_one_the_benchmarks_computed_before() -> None:
    rng = random.Random(0)
    docs = [f"d{i}" for i in range(60)]
    rankings = {f"q{i}": rng.sample(docs, rng.randrange(0, 40)) for i in range(200)}
    qrels = {q: {d: rng.choice([1, 1, 2, 3]) for d in rng.sample(docs, rng.randrange(1, 15))} for q in rankings}
    assert per_query(nDCG @ 10, rankings, qrels) == [_ndcg_at_10(rankings[q], qrels[q]) for q in rankings]
    recall = [len(set(rankings[q][:20]) & set(qrels[q])) / len(qrels[q]) for q in rankings]
    assert per_query(R @ 20, rankings, qrels) == recall
