"""The embedder's backends side by side: dense retrieval quality and throughput in one run."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from eval.common import Section, dataset, sample
from eval.ir import R, mean, nDCG
from eval.retrieval import scifact_qrels
from index.embed import BACKENDS, Embedder

# The fp32 ONNX graph is the reference the int8 one must stay within 0.01 of.
REFERENCE = "onnx"
TOLERANCE = 0.01


def _ranked(queries: np.ndarray, corpus: np.ndarray, ids: list[str], k: int) -> list[list[str]]:
    scores = queries @ corpus.T
    top = np.argsort(-scores, axis=1)[:, :k]
    return [[ids[j] for j in row] for row in top]


def _embed(embedder: Embedder, texts: list[str]) -> tuple[np.ndarray, float]:
    embedder.warm_up()
    embedder(texts[:4])  # a first call allocates; not part of the rate
    started = time.perf_counter()
    vectors = embedder(texts)
    return vectors, len(texts) / (time.perf_counter() - started)


def run(quick: bool, squad_questions: int | None = 2000) -> Section:
    """SciFact nDCG@10 and SQuAD v1.1 paragraph recall@5, dense only, whole texts (truncated at 256 word pieces)."""
    sci_docs, sci_qs = dataset("beir-scifact", quick)
    qrels = scifact_qrels(quick)
    sci_qs = [q for q in sci_qs if q["id"] in qrels]
    sci_ids = list(sci_docs)
    sci_texts = [f"{d.get('title', '')}\n\n{d['text']}".strip() for d in sci_docs.values()]
    sq_docs, sq_qs = dataset("squad-v1.1-dev", quick)
    sq_qs = sample([q for q in sq_qs if q["doc_id"] in sq_docs], None if quick else squad_questions, seed=7)
    sq_ids = list(sq_docs)
    sq_texts = [d["text"] for d in sq_docs.values()]
    corpus = sci_texts + sq_texts

    figures: dict[str, float] = {}
    rows: list[tuple[str, float, float, float]] = []
    with tempfile.TemporaryDirectory(prefix="qa-embedder-") as cache:
        for backend in BACKENDS:
            embedder = Embedder(backend=backend, cache_dir=Path(cache))
            vectors, rate = _embed(embedder, corpus)
            sci_vectors, sq_vectors = vectors[: len(sci_texts)], vectors[len(sci_texts) :]
            sci_ranked = _ranked(embedder([q["question"] for q in sci_qs]), sci_vectors, sci_ids, 10)
            ndcg = mean(nDCG @ 10, {q["id"]: r for r, q in zip(sci_ranked, sci_qs)}, qrels)
            sq_ranked = _ranked(embedder([q["question"] for q in sq_qs]), sq_vectors, sq_ids, 5)
            recall = mean(R @ 5, {q["id"]: r for r, q in zip(sq_ranked, sq_qs)}, {q["id"]: {q["doc_id"]: 1} for q in sq_qs})
            key = backend.replace("-", "_")
            figures |= {f"embedder_{key}_scifact_ndcg10": ndcg, f"embedder_{key}_squad_r5": recall, f"embedder_{key}_texts_per_s": rate}
            rows.append((backend, ndcg, recall, rate))

    ref = next(r for r in rows if r[0] == REFERENCE)
    base = next(r for r in rows if r[0] == "torch")
    lines = [
        f"Dense retrieval alone, each text embedded whole: {len(sci_qs)} SciFact test claims against {len(sci_texts)} abstracts, "
        f"{len(sq_qs)} SQuAD v1.1 dev questions against {len(sq_texts)} paragraphs. Rate: texts per second embedding all "
        f"{len(corpus)} texts (mean {np.mean([len(t) for t in corpus]):.0f} characters). `torch` is sentence-transformers, the previous default.",
        "",
        "| backend | SciFact nDCG@10 | SQuAD recall@5 | texts/s | × torch |",
        "|---|---|---|---|---|",
        *(f"| {b} | {n:.3f} | {r:.3f} | {rate:.1f} | {rate / base[3]:.2f} |" for b, n, r, rate in rows),
        "",
    ]
    for b, n, r, _ in rows:
        if b != REFERENCE:
            held = abs(n - ref[1]) <= TOLERANCE and abs(r - ref[2]) <= TOLERANCE
            lines.append(f"- {b} against fp32 ONNX: nDCG@10 {n - ref[1]:+.3f}, recall@5 {r - ref[2]:+.3f}: "
                         + ("within" if held else "OUTSIDE") + f" ±{TOLERANCE}.")
    return Section("Embedder backends", lines, figures)
