"""The answer's score (qa.confidence): the model, its fit, and how assembly uses it."""

from __future__ import annotations

import json
import math
import random

import numpy as np

from qa.answer import assemble
from qa.confidence import Confidence, Evidence
from qa.read import PACKAGED_READER, Calibration
from tests.test_answer import CAL, _pick, _setup
from training.calibrate import fit_logistic
from training.confidence import fit

WEIGHTS = {"margin": 0.3, "lead": 0.2, "about": 1.5, "rank": -0.4}


def test_the_model_is_a_logistic_function_of_the_evidence() -> None:
    model = Confidence(WEIGHTS, -2.0, 0.4)
    ev = Evidence(margin=8.0, lead=1.0, about=0.5, rank=2.0)
    z = -2.0 + 0.3 * 8 + 0.2 * 1 + 1.5 * 0.5 - 0.4 * 2
    assert math.isclose(model(ev), 1 / (1 + math.exp(-z)))
    assert model(Evidence(9.0, 1.0, 0.5, 2.0)) > model(ev) > model(Evidence(8.0, 1.0, 0.5, 3.0))


def test_it_loads_from_the_readers_calibration_or_is_absent(tmp_path) -> None:
    (tmp_path / "calibration.json").write_text(json.dumps({"slope": 1, "intercept": 0, "threshold": 0.5}))
    assert Confidence.load(tmp_path) is None
    (tmp_path / "calibration.json").write_text(json.dumps({"slope": 1, "intercept": 0, "threshold": 0.5, "answer": {"weights": WEIGHTS, "intercept": -2, "threshold": 0.4}}))
    assert Confidence.load(tmp_path) == Confidence(WEIGHTS, -2.0, 0.4)
    shipped = Confidence.load(PACKAGED_READER)
    assert shipped is not None and shipped.weights["margin"] > 0 and 0 < shipped.threshold < 1


def test_the_fit_recovers_known_weights() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(20000, 2)) * [2.0, 0.5]
    p = 1 / (1 + np.exp(-(0.8 * x[:, 0] - 1.5 * x[:, 1] + 0.3)))
    y = (rng.random(len(p)) < p).astype(float)
    w, b = fit_logistic(x, y)
    assert np.allclose(w, [0.8, -1.5], atol=0.08) and abs(b - 0.3) < 0.08


def test_the_threshold_gives_no_more_wrong_answers_than_the_span_threshold() -> None:
    rng = random.Random(1)
    rows = []
    for k in range(600):
        present = k % 2 == 0
        margin = rng.gauss(8 if present else 2, 3)
        right = present and rng.random() < 1 / (1 + math.exp(-(margin - 6)))
        rows.append({"set": "abc"[k % 3], "present": present, "right": right,
                     "evidence": {"margin": margin, "lead": rng.uniform(0, 5), "about": rng.random(), "rank": rng.randrange(5)}})
    span = Calibration(slope=0.35, intercept=-2.3, threshold=0.46)
    block = fit(rows, span, span.threshold)
    model = Confidence(block["weights"], block["intercept"], block["threshold"])
    wrong = [r for r in rows if not r["right"]]
    wrong_before = sum(span(r["evidence"]["margin"]) >= span.threshold for r in wrong)
    wrong_now = sum(model(Evidence(**r["evidence"])) >= model.threshold for r in wrong)
    assert wrong_now <= wrong_before
    assert sum(model(Evidence(**r["evidence"])) >= model.threshold - 0.01 for r in wrong) > wrong_before  # the lowest such threshold
    assert block["weights"]["margin"] > 0


def _september():
    texts = {
        "a": "The first joint exercise was held in September near Cherat.",
        "b": "An exercise of another kind was held in December.",
    }
    return _setup(texts, [_pick(texts, "a", "September", 6.0), _pick(texts, "b", "December", 5.0)])


def test_the_answers_score_is_the_models_and_decides_abstention() -> None:
    docs, passages, spans = _september()
    question = "When was the first joint exercise held?"
    model = Confidence(WEIGHTS, -2.0, 0.5)
    r = assemble(question, passages, spans, docs, CAL, confidence=model)
    assert r.answer == "September" and r.threshold == 0.5
    assert math.isclose(r.score, model(r._evidence), abs_tol=1e-4)
    assert r._evidence.margin == 6.0 and r._evidence.lead == 1.0 and r._evidence.rank == 0
    # The span clears its own threshold (CAL: 0.5), but the answer's score decides: not found.
    strict = Confidence(WEIGHTS, -2.0, 0.99)
    r = assemble(question, passages, spans, docs, CAL, confidence=strict)
    assert r.answer is None and r.citations == [] and r.score < 0.99


def test_an_answer_the_model_keeps_is_cited_even_below_the_span_threshold() -> None:
    docs, passages, spans = _september()
    lenient = Confidence(WEIGHTS, 2.0, 0.5)
    r = assemble("When was the first joint exercise held?", passages, spans, docs, Calibration(1.0, -7.0, 0.5), confidence=lenient)
    assert r.answer == "September" and r.score >= 0.5
    assert [c.doc_id for c in r.citations] == ["a"]
