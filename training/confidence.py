"""Fit the answer's score (`qa.confidence`) end to end on held-out training questions: `qa calibrate-answers`.

The span calibration (`qa calibrate`) maps one span's margin to a score, fitted on a question
read against five passages. The service's answer is more than one span: it was chosen among
the answers of many retrieved passages. This tool asks held-out questions (never trained on)
through the whole pipeline, over a store of their paragraphs, and fits P(the forced answer is
right) on what `assemble` saw (`Evidence`).

The store: the held-out paragraphs of the three SQuADShifts sets, half of them as they are and
half with the answer sentences of one of their questions removed (on topic, but it doesn't
say), beside 500 trained-on paragraphs of each set as distractors. A paragraph whose answer
sentences can't be removed cleanly is left out (its questions have no answer in the store).

The threshold gives no more wrong answers than the span threshold it replaces: it is the lowest
score at which the held-out questions get no more wrong answers (a wrong span, or any answer
where the store has none) than under the span threshold, so what changes is which answers are
kept, and a wrong answer, which looks proven, is never traded for a right one.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from index.documents import Document
from qa.confidence import Evidence
from qa.normalize import best_over_golds, normalize_answer
from qa.pipeline import Pipeline
from qa.read import PACKAGED_READER
from qa.schema import AskRequest
from qa.settings import Settings
from training.calibrate import fit_logistic
from training.config import existing
from training.data import CORE_SETS, is_holdout, load_set
from training.negatives import removed_sentence_negatives

HOLDOUT_FRACTION = 0.04  # training.config's default: the contexts no reader run trained on
DISTRACTORS = 500  # trained-on paragraphs of each set, beside the held-out ones


def _removed_half(doc_id: str) -> bool:
    return int(hashlib.sha1(("s2" + doc_id).encode()).hexdigest()[:8], 16) % 2 == 1


def cases(root: Path, seed: int = 5) -> tuple[list[Document], list[dict]]:
    """The store's documents and the held-out questions, each with its set and whether its answer is in the store."""
    rng = random.Random(seed)
    documents: list[Document] = []
    questions: list[dict] = []
    for name in CORE_SETS:
        docs, qs = load_set(root, name)
        held = sorted(k for k in docs if is_holdout(k, HOLDOUT_FRACTION))
        others = sorted(set(docs) - set(held))
        held_set = set(held)
        for k in sorted(rng.sample(others, min(DISTRACTORS, len(others)))):
            documents.append(Document(id=k, title="", text=docs[k]["text"], source=k))
        by_context: dict[str, list[dict]] = {}
        for q in qs:
            if q["doc_id"] in held_set:
                by_context.setdefault(q["doc_id"], []).append(q)
        for k in held:
            text: str | None = docs[k]["text"]
            if _removed_half(k):
                removed, _ = removed_sentence_negatives({k: docs[k]}, by_context.get(k, []), 1, random.Random(0))
                text = removed[0].context if removed else None
            if text is not None:
                documents.append(Document(id=k, title="", text=text, source=k))
            stored = " " + normalize_answer(text or "") + " "
            for q in by_context.get(k, []):
                present = any(normalize_answer(a) and f" {normalize_answer(a)} " in stored for a in q["answers"])
                questions.append({**q, "set": name, "present": present})
    return documents, questions


def collect(pipe: Pipeline, questions: list[dict]) -> list[dict]:
    """Each question's forced answer through `Pipeline.ask`: its evidence and whether it is right (F1 ≥ 0.5)."""
    rows, started = [], time.time()
    for i, q in enumerate(questions):
        r = pipe.ask(AskRequest(question=q["question"]), threshold=0.0)
        f1 = best_over_golds(r.answer or "", q["answers"])[1]
        rows.append({"set": q["set"], "present": q["present"], "evidence": r._evidence.as_dict() if r._evidence else None, "right": f1 >= 0.5})
        if (i + 1) % 100 == 0 or i + 1 == len(questions):
            print(f"asked {i + 1}/{len(questions)} ({time.time() - started:.0f} s)", flush=True)
    return [r for r in rows if r["evidence"] is not None]


def _matrix(rows: list[dict], names: list[str]) -> np.ndarray:
    return np.array([[r["evidence"][n] for n in names] for r in rows], dtype=float)


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def _predict(x: np.ndarray, weights: np.ndarray, intercept: float) -> np.ndarray:
    return 1 / (1 + np.exp(-(x @ weights + intercept)))


def left_out_log_loss(rows: list[dict], names: list[str]) -> float:
    """Mean log loss on each set when fitted on the other two: how well the fit carries to a domain it never saw."""
    losses = []
    for held in sorted({r["set"] for r in rows}):
        train = [r for r in rows if r["set"] != held]
        test = [r for r in rows if r["set"] == held]
        w, b = fit_logistic(_matrix(train, names), np.array([r["right"] for r in train], dtype=float))
        losses.append(_log_loss(_predict(_matrix(test, names), w, b), np.array([r["right"] for r in test], dtype=float)))
    return float(np.mean(losses))


def fit(rows: list[dict], span_score, span_threshold: float) -> dict:
    """The `answer` block of calibration.json: weights, intercept, threshold and how they were reached."""
    names = list(Evidence.__dataclass_fields__)
    y = np.array([r["right"] for r in rows], dtype=float)
    weights, intercept = fit_logistic(_matrix(rows, names), y)
    scores = _predict(_matrix(rows, names), weights, intercept)
    margins = _matrix(rows, ["margin"])[:, 0]
    absent = np.array([not r["present"] for r in rows])
    spans = np.array([span_score(m) for m in margins])
    wrong_before = int(((spans >= span_threshold) & (y == 0)).sum())
    threshold = next(t for t in np.round(np.arange(0.01, 1.0, 0.01), 2) if ((scores >= t) & (y == 0)).sum() <= wrong_before)
    return {
        "weights": {n: round(float(w), 5) for n, w in zip(names, weights)},
        "intercept": round(intercept, 5),
        "threshold": float(threshold),
        "fitted_on": f"{len(rows)} held-out SQuADShifts questions asked end to end, {int(absent.sum())} of them with no answer in the store",
        "rule": f"the lowest score giving no more wrong answers ({wrong_before}) than the span threshold {span_threshold} gave",
        "answerless_rejected": {"span score": round(float((spans[absent] < span_threshold).mean()), 3), "answer score": round(float((scores[absent] < threshold).mean()), 3)},
        "log_loss": {"span score": round(_log_loss(spans, y), 4), "answer score": round(_log_loss(scores, y), 4)},
        "left_out_log_loss": {"margin only": round(left_out_log_loss(rows, ["margin"]), 4), "these features": round(left_out_log_loss(rows, names), 4)},
        "answered_right_at_threshold": {"span score": int(((spans >= span_threshold) & (y == 1)).sum()), "answer score": int(((scores >= threshold) & (y == 1)).sum())},
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="qa calibrate-answers", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=existing, default=PACKAGED_READER)
    parser.add_argument("--train-data", type=existing, default="../shared/train-data")
    parser.add_argument("--store", type=Path, default=None, help="build the store here and reuse it (default: a temporary folder)")
    parser.add_argument("--rows", type=Path, default=None, help="also write each question's evidence here (JSON lines)")
    args = parser.parse_args(argv)
    lacking = [n for n in CORE_SETS if not all((args.train_data / n / f).is_file() for f in ("documents.jsonl", "questions.jsonl"))]
    if lacking:
        parser.error(f"argument --train-data: {args.train_data} has no {', '.join(lacking)} (documents.jsonl and questions.jsonl)")
    if not all((args.model / f).is_file() for f in ("config.json", "calibration.json")):
        parser.error(f"argument --model: {args.model} is not a calibrated reader (config.json and calibration.json; run qa calibrate first)")
    documents, questions = cases(args.train_data)
    folder = args.store or Path(tempfile.mkdtemp(prefix="qa-confidence-"))
    pipe = Pipeline(Settings(data_dir=folder, reader_path=args.model, sample_corpus=False))
    pipe.warm_up()
    if pipe.store.count()[0] == 0:
        print(f"indexing {len(documents)} paragraphs into {folder}", flush=True)
        pipe.add_documents(documents)
    rows = collect(pipe, questions)
    if args.rows:
        args.rows.write_text("".join(json.dumps(r) + "\n" for r in rows))
    calibration = pipe.reader.calibration
    block = fit(rows, calibration, calibration.threshold)
    path = args.model / "calibration.json"
    data = json.loads(path.read_text())
    data["answer"] = block
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(block, indent=1))


if __name__ == "__main__":
    main()
