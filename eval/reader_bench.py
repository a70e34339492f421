"""Reader quality and speed: SQuAD v1.1 (gold paragraph), SQuAD v2.0 (abstention), latency."""

from __future__ import annotations

import random
import time

import numpy as np

from eval.common import CORES, Section, dataset, pct, sample
from qa.normalize import best_over_golds
from qa.read import Reader


def squad_v1_gold(reader: Reader, n: int | None, quick: bool = False) -> dict[str, float]:
    docs, qs = dataset("squad-v1.1-dev", quick)
    qs = sample(qs, n)
    em = f1 = 0.0
    for q in qs:
        spans, _ = reader(q["question"], [docs[q["doc_id"]]["text"]], top_spans=1)
        e, f = best_over_golds(spans[0].text if spans else "", q["answers"])
        em += e
        f1 += f
    return {"questions": len(qs), "em": 100 * em / len(qs), "f1": 100 * f1 / len(qs)}


def halves(rows: list, seed: int = 1) -> tuple[list, list]:
    """A seeded split in two: a threshold is chosen on the first half and reported on the second."""
    idx = list(range(len(rows)))
    random.Random(seed).shuffle(idx)
    return [rows[i] for i in idx[: len(idx) // 2]], [rows[i] for i in idx[len(idx) // 2 :]]


def abstention(rows: list[tuple[float, bool, float]], t: float) -> tuple[float, float, float]:
    """Overall F1, HasAns F1 and NoAns accuracy when answers scoring below `t` become "not found".

    Each row: (score or margin of the best answer, whether the question has an answer, that answer's F1).
    """
    has_f1 = [f if m >= t else 0.0 for m, h, f in rows if h]
    no_acc = [1.0 if m < t else 0.0 for m, h, _ in rows if not h]
    overall = (sum(has_f1) + sum(no_acc)) / len(rows)
    return 100 * overall, 100 * np.mean(has_f1) if has_f1 else 0.0, 100 * np.mean(no_acc) if no_acc else 0.0


def tuned_on_first(tune: list, report: list, decimals: int = 2) -> tuple[float, tuple[float, float, float]]:
    """The threshold with the best overall F1 on `tune`, and `abstention` on `report` at it."""
    candidates = sorted({round(m, decimals) for m, _, _ in tune}) or [0.0]
    best = max(candidates, key=lambda t: abstention(tune, t)[0])
    return best, abstention(report, best)


def squad_v2(reader: Reader, n: int | None, quick: bool = False) -> dict[str, float]:
    """Threshold on the span margin tuned on one half (seeded split), reported on the other."""
    docs, qs = dataset("squad-v2.0-dev", quick)
    qs = sample(qs, n)
    rows = []
    for q in qs:
        spans, _ = reader(q["question"], [docs[q["doc_id"]]["text"]], top_spans=1)
        text, margin = (spans[0].text, spans[0].margin) if spans else ("", -99.0)
        has = not q["is_impossible"]
        f1 = best_over_golds(text, q["answers"])[1] if has else 0.0
        rows.append((margin, has, f1))
    tune, report = halves(rows)
    best_t, (overall, has_f1, no_acc) = tuned_on_first(tune, report)
    product_t = _product_margin_threshold(reader)
    p_overall, p_has, p_no = abstention(report, product_t)
    return {
        "questions": len(report),
        "threshold_margin": best_t,
        "overall_f1": overall,
        "hasans_f1": has_f1,
        "noans_acc": no_acc,
        "product_threshold_margin": product_t,
        "product_overall_f1": p_overall,
        "product_hasans_f1": p_has,
        "product_noans_acc": p_no,
    }


def _product_margin_threshold(reader: Reader) -> float:
    """The margin at which the calibrated score crosses the product's threshold."""
    c = reader.calibration
    p = min(max(c.threshold, 1e-6), 1 - 1e-6)
    return (np.log(p / (1 - p)) - c.intercept) / c.slope


def latency(reader: Reader, runs: int = 60, quick: bool = False) -> dict[str, float]:
    """One question against 5 passages of about 200 word pieces."""
    docs, qs = dataset("squad-v1.1-dev", quick)
    texts = list(dict.fromkeys(d["text"] for d in docs.values()))
    paragraphs = [t for t, n in zip(texts, reader.count_tokens(texts)) if 180 <= n <= 220][:50]
    rng = random.Random(0)
    times = []
    for i in range(runs + 5):
        q = qs[i]["question"]
        passages = rng.sample(paragraphs, 5)
        t = time.perf_counter()
        reader(q, passages)
        if i >= 5:  # warm-up calls excluded
            times.append(1000 * (time.perf_counter() - t))
    return {"p50_ms": pct(times, 50), "p95_ms": pct(times, 95), "runs": runs}


def run(reader: Reader, quick: bool, sample_size: int | None = None) -> Section:
    reader.warm_up()
    # quick: 300 seeded questions on the shipped 300 paragraphs; the shipped 400 SQuAD v2.0 questions, whole.
    v1 = squad_v1_gold(reader, 300 if quick else sample_size, quick)
    v2 = squad_v2(reader, None if quick else sample_size, quick)
    lat = latency(reader, 20 if quick else 100, quick)
    weights_mb = sum(f.stat().st_size for f in reader.model_dir.glob("*.safetensors")) / 1e6
    lines = [
        f"Reader: `{reader.model_dir.name}` ({reader.backend}), threads={reader.threads}, cores={CORES}",
        "",
        "| benchmark | questions | figure |",
        "|---|---|---|",
        f"| SQuAD v1.1 dev, gold paragraph | {v1['questions']} | EM {v1['em']:.1f} / F1 {v1['f1']:.1f} |",
        f"| SQuAD v2.0 dev, half B (threshold tuned on half A: margin {v2['threshold_margin']:.2f}) | {v2['questions']} | overall F1 {v2['overall_f1']:.1f}, HasAns F1 {v2['hasans_f1']:.1f}, NoAns acc {v2['noans_acc']:.1f} |",
        f"| SQuAD v2.0 dev, half B, product threshold (margin {v2['product_threshold_margin']:.2f}) | {v2['questions']} | overall F1 {v2['product_overall_f1']:.1f}, HasAns F1 {v2['product_hasans_f1']:.1f}, NoAns acc {v2['product_noans_acc']:.1f} |",
        f"| latency, 1 question × 5 passages of ~200 tokens | {lat['runs']} runs | p50 {lat['p50_ms']:.1f} ms, p95 {lat['p95_ms']:.1f} ms |",
        f"| weights shipped (`{reader.model_dir.name}/*.safetensors`) | | {weights_mb:.1f} MB |",
    ]
    figures = {
        "reader_squad1_em": v1["em"],
        "reader_squad1_f1": v1["f1"],
        "reader_squad2_overall_f1": v2["overall_f1"],
        "reader_squad2_hasans_f1": v2["hasans_f1"],
        "reader_squad2_noans_acc": v2["noans_acc"],
        "reader_latency_p50_ms": lat["p50_ms"],
        "reader_weights_mb": weights_mb,
    }
    return Section("Reader", lines, figures)
