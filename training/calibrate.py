"""Fit the reader's score calibration and no-answer threshold in the product's setting.

Held-out training questions (never trained on) are read the way the service reads: the
question against five passages. Answerable cases have the gold passage among four BM25
distractors. Unanswerable cases are of two kinds, half each: the hard kind has the gold
passage with every sentence holding the answer removed (the article is on topic and
retrieved, but doesn't say), among four distractors; the easy kind has only the distractors.
A logistic fit maps the best span margin to P(correct), and the threshold maximises
SQuAD-v2-style F1 on these cases.
"""

from __future__ import annotations

import argparse
import json
import random

import numpy as np

from index.keyword import tokenize
from qa.normalize import best_over_golds
from qa.read import PACKAGED_READER, Reader
from training.config import existing
from training.negatives import removed_sentence_negatives


def fit_logistic(x: np.ndarray, y: np.ndarray, iters: int = 50, l2: float = 1e-6) -> tuple[np.ndarray, float]:
    """Newton's method for a logistic regression: (weights, intercept) for features `x` (n, d).

    Kept by hand on purpose: neither scipy nor scikit-learn is a dependency of the project
    (they arrive only through sentence-transformers, which answering no longer needs), and
    a fit of a few parameters is these few lines. Features are standardised inside, so `l2`
    (a small ridge, for features that barely vary) means the same for each.
    """
    mu, sd = x.mean(axis=0), x.std(axis=0) + 1e-9
    X = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(X.shape[1])
    for _ in range(iters):
        p = 1 / (1 + np.exp(-(X @ w)))
        grad = X.T @ (p - y) + l2 * np.r_[w[:-1], 0.0]
        hess = (X * (p * (1 - p))[:, None]).T @ X + max(l2, 1e-6) * np.eye(len(w))
        w -= np.linalg.solve(hess, grad)
    weights = w[:-1] / sd
    return weights, float(w[-1] - (w[:-1] * mu / sd).sum())


def build_cases(holdout: list[dict], n: int, seed: int = 0) -> list[tuple[dict, list[str], str]]:
    """(question, five passages or fewer, kind): kind is "answerable", "removed" (hard) or "distractors" (easy)."""
    import bm25s

    contexts = list(dict.fromkeys(q["context"] for q in holdout))
    bm25 = bm25s.BM25()
    bm25.index(tokenize(contexts), show_progress=False)
    rng = random.Random(seed)
    sample = rng.sample(holdout, min(n, len(holdout)))
    tokens = tokenize([q["question"] for q in sample])
    found, _ = bm25.retrieve(tokens, k=min(12, len(contexts)), show_progress=False, n_threads=1)
    docs = {q["doc_id"]: {"id": q["doc_id"], "text": q["context"]} for q in sample}
    removed, _ = removed_sentence_negatives(docs, sample, len(sample), random.Random(seed))
    without_answer = {ex.question: ex.context for ex in removed}
    cases = []
    for k, (q, row) in enumerate(zip(sample, found)):
        golds = [a.lower() for a in q["answers"]]
        distractors = [contexts[int(i)] for i in row if contexts[int(i)] != q["context"] and not any(g in contexts[int(i)].lower() for g in golds)][:5]
        with_gold = distractors[:4] + [q["context"]]
        rng.shuffle(with_gold)
        cases.append((q, with_gold, "answerable"))
        hard = without_answer.get(q["question"])
        if k % 2 == 0 and hard is not None:
            on_topic = distractors[:4] + [hard]
            rng.shuffle(on_topic)
            cases.append((q, on_topic, "removed"))
        else:
            cases.append((q, distractors, "distractors"))
    return cases


def calibrate(reader: Reader, holdout: list[dict], n: int = 600) -> dict:
    margins, correct, f1s, answerable = [], [], [], []
    cases = build_cases(holdout, n)
    hard = sum(kind == "removed" for _, _, kind in cases)
    for q, passages, kind in cases:
        has_answer = kind == "answerable"
        spans, _ = reader(q["question"], passages, top_spans=1)
        margin = spans[0].margin if spans else -20.0
        f1 = best_over_golds(spans[0].text, q["answers"])[1] if (spans and has_answer) else 0.0
        margins.append(margin)
        f1s.append(f1)
        correct.append(1.0 if f1 >= 0.5 else 0.0)
        answerable.append(has_answer)
    x, y = np.array(margins), np.array(correct)
    weights, intercept = fit_logistic(x[:, None], y)
    slope = float(weights[0])
    scores = 1 / (1 + np.exp(-(slope * x + intercept)))
    f1a, ans = np.array(f1s), np.array(answerable)
    best_t, best_v = 0.5, -1.0
    for t in np.linspace(0.02, 0.98, 97):
        credit = np.where(ans, np.where(scores >= t, f1a, 0.0), (scores < t).astype(float))
        if credit.mean() > best_v:
            best_t, best_v = float(t), float(credit.mean())
    return {
        "slope": slope,
        "intercept": intercept,
        "threshold": round(best_t, 3),
        "fitted_on": f"{len(x)} cases ({int(ans.sum())} with the gold passage among 5, {int((~ans).sum())} without: {hard} with the gold passage's answer sentences removed, the rest 5 distractors) from held-out training questions",
        "f1_at_threshold": round(100 * best_v, 1),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="qa calibrate", description=__doc__)
    parser.add_argument("--model", type=existing, default=PACKAGED_READER)
    parser.add_argument("--holdout", type=existing, default="runs/reader/holdout.jsonl")  # a string: argparse checks it too
    parser.add_argument("--n", type=int, default=600, help="held-out questions (each gives 2 cases)")
    args = parser.parse_args(argv)
    holdout = [json.loads(line) for line in args.holdout.read_text().splitlines() if line.strip()]
    if not holdout:
        parser.error(f"argument --holdout: {args.holdout} holds no questions")
    reader = Reader(args.model)
    result = calibrate(reader, holdout, args.n)
    path = args.model / "calibration.json"
    if path.exists() and "answer" in (previous := json.loads(path.read_text())):
        # The answer's score takes the span margin as a feature: kept, but fitted on the old margins.
        result["answer"] = previous["answer"]
        print("kept the answer score model; refit it on the new margins: qa calibrate-answers")
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
