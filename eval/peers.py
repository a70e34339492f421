"""Peers on the same questions and corpus: Haystack and txtai, each in its best documented
configuration for the job, with the same models.

All three get the same embedder (all-MiniLM-L6-v2 from its package) and this project's reader
weights, loaded from local folders (no hub), and the same SQuAD v1.1 questions and paragraphs.
Each peer gets what this project uses where it offers it: the same candidate counts (30 dense +
30 keyword candidates fused by reciprocal rank, the best 5 passages read), Okapi BM25, passages
read in 256-token windows with a 64-token stride, answers of at most 30 word pieces, the answer
always forced (no no-answer, no end before the start), and its own int8 runtime where it has one.
What still differs is listed in the section (`FAIRNESS`). Install them with `pip install .[peers]`.
"""

from __future__ import annotations

import importlib.metadata
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.common import CORES, Section, dataset, pct, sample
from index.embed import model_path as embedder_path
from qa.normalize import best_over_golds
from qa.read import PACKAGED_READER, Reader
from qa.schema import AskRequest
from qa.settings import Settings
from qa.spans import decode_window

N_PARAGRAPHS = 300
N_QUESTIONS = 200
# Our defaults, given to every peer (qa/settings.py, qa/read.py).
CANDIDATES = Settings.model_fields["candidates"].default  # per retriever, before fusion
TOP_K = Settings.model_fields["top_k"].default  # passages read
_READER_DEFAULTS = Reader()
MAX_LEN, STRIDE, MAX_ANSWER_TOKENS = _READER_DEFAULTS.max_len, _READER_DEFAULTS.stride, _READER_DEFAULTS.max_answer_tokens
PACKAGES = ("haystack-ai", "transformers-haystack", "txtai", "torch", "transformers", "onnxruntime")

# What still differs after each peer got its best documented configuration, and why.
FAIRNESS = [
    "**Fairness note: what still differs, and why.**",
    "",
    f"- Same for all three: questions, paragraphs, embedder weights, reader weights, {CANDIDATES} dense + {CANDIDATES} keyword "
    f"candidates fused by reciprocal rank for Haystack and ours, {TOP_K} passages read, {MAX_LEN}-token windows with a {STRIDE}-token "
    f"stride, answers capped at {MAX_ANSWER_TOKENS} word pieces, the answer always forced, {CORES} cores, in-process.",
    "- Stemming: ours indexes Snowball stems without English stop words. Neither peer offers stemming: Haystack's "
    "InMemoryBM25Retriever only takes a tokenisation regex (lower-cased words), txtai's tokenizer lower-cases and can drop "
    "stop words (on here) but has no stemmer. Both run Okapi BM25 (k1 1.2, b 0.75) as ours does.",
    "- Runtime: ours reads with its int8 ONNX graph. txtai has its own (HFOnnx export with int8 dynamic quantisation, run by "
    "onnxruntime) and uses it here for the reader and the query embedder. Haystack has none for its extractive reader (its "
    "ONNX integration covers embedders only): it reads in fp32 PyTorch, whose forward pass is most of its time per question. Its query embedding "
    "is this project's int8 ONNX embedder, as its retrievers take a vector from any embedder.",
    f"- Answer-length cap: Haystack's reader has no such setting; the harness asks it for its 20 best spans (no de-duplication) "
    f"and keeps the best one of at most {MAX_ANSWER_TOKENS} word pieces (the count of questions where that changed the answer is "
    "in the row's notes).",
    "- Forcing and windowing in txtai: its Questions pipeline joins the passages into one context, cuts it at 512 tokens and "
    "takes the arg-max start and end independently (a [CLS] or an end before the start gives no answer), with no option to "
    "change that. The harness keeps txtai's retrieval, fusion, passage joining and ONNX model, and replaces that one decoding "
    f"step (a documented extension point: the Extractor takes any Questions pipeline) with {MAX_LEN}/{STRIDE} windows over the "
    "joined context and the best valid span by logit margin, as ours decodes.",
    f"- Candidates in txtai: its hybrid search fixes the candidates at 10 × the passages asked for ({10 * TOP_K} dense + "
    f"{10 * TOP_K} keyword for {TOP_K}) and fuses them by a convex combination of normalised scores (its default for BM25); "
    "neither is a setting. More candidates than ours, not fewer.",
    "- Passages: ours indexes paragraphs cut into chunks of at most 200 word pieces (one sentence of overlap), the peers whole "
    "paragraphs (the chunk count is in our row's notes): a long paragraph is one passage for a peer, several for ours.",
    "- Answer choice: ours groups equal answers across passages, cites their other mentions, and prefers a shorter answer nested in the best one when it scores within 1.5 logits and as many articles give it (qa/answer.py); "
    "the peers take their single best span.",
]


def versions() -> dict[str, str]:
    out = {}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


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
    empty = sum(1 for a in answers if not (a or "").strip())
    return {"em": 100 * em / len(qs), "f1": 100 * f1 / len(qs), "p50_ms": pct(latencies, 50), "p95_ms": pct(latencies, 95), "empty": empty}


def run_ours(paragraphs, qs, work: Path, reader_path: Path | None) -> dict[str, float]:
    from eval.answering import build

    pipe, ingest = build(work / "peers-ours", paragraphs, reader_path)
    answers, lat = [], []
    for q in qs:
        t = time.perf_counter()
        # Peers always answer: compare like with like (threshold 0).
        answers.append(pipe.ask(AskRequest(question=q["question"]), threshold=0.0).answer)
        lat.append(1000 * (time.perf_counter() - t))
    return {**_score(answers, lat, qs), "note": f"{ingest['chunks']} chunks of the {len(paragraphs)} paragraphs; int8 ONNX reader"}


def best_span(start: np.ndarray, end: np.ndarray, sequence_ids: list, offsets: list) -> tuple[float, int, int] | None:
    """The best span of one window's context (start <= end, at most MAX_ANSWER_TOKENS word pieces) as
    (margin over the window's [CLS], first char, end char), decoded as our reader decodes."""
    ctx = np.array([s == 1 for s in sequence_ids] + [False] * (len(start) - len(sequence_ids)))
    found, _ = decode_window(start, end, ctx, max_answer_tokens=MAX_ANSWER_TOKENS, top_spans=1)
    if not found:
        return None
    sp = found[0]
    return sp.margin, offsets[sp.start_token][0], offsets[sp.end_token][1]


def run_haystack(paragraphs, qs, reader_dir: Path) -> dict[str, float]:
    from haystack import Document, Pipeline
    from haystack.components.joiners import DocumentJoiner
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore
    from haystack_integrations.components.readers.transformers import TransformersExtractiveReader

    from index.embed import Embedder

    embedder = Embedder()
    vectors = embedder([p["text"] for p in paragraphs])
    store = InMemoryDocumentStore(bm25_algorithm="BM25Okapi", bm25_parameters={"k1": 1.2, "b": 0.75}, embedding_similarity_function="cosine")
    store.write_documents([Document(id=p["id"], content=p["text"], embedding=v.tolist()) for p, v in zip(paragraphs, vectors)])
    pipe = Pipeline()
    pipe.add_component("bm25", InMemoryBM25Retriever(store, top_k=CANDIDATES))
    pipe.add_component("dense", InMemoryEmbeddingRetriever(store, top_k=CANDIDATES))
    pipe.add_component("join", DocumentJoiner(join_mode="reciprocal_rank_fusion", top_k=TOP_K))
    # No answer-length setting: its 20 best spans, kept whole (no overlap de-duplication), then the cap below.
    reader = TransformersExtractiveReader(model=str(reader_dir), top_k=20, no_answer=False, max_seq_length=MAX_LEN, stride=STRIDE, overlap_threshold=None)
    pipe.add_component("reader", reader)
    pipe.connect("bm25", "join")
    pipe.connect("dense", "join")
    pipe.connect("join", "reader")
    pipe.warm_up()
    answers, lat, capped = [], [], 0
    for q in qs:
        t = time.perf_counter()
        # The query embedding is part of the measured time, as in our pipeline.
        vec = embedder([q["question"]])[0].tolist()
        out = pipe.run({"bm25": {"query": q["question"]}, "dense": {"query_embedding": vec}, "reader": {"query": q["question"]}})
        found = [a for a in out["reader"]["answers"] if a.data]
        fits = [a for a in found if len(reader.tokenizer(a.data, add_special_tokens=False).input_ids) <= MAX_ANSWER_TOKENS]
        lat.append(1000 * (time.perf_counter() - t))
        capped += bool(found and fits and fits[0] is not found[0])
        answers.append((fits or found)[0].data if found else "")
    return {**_score(answers, lat, qs), "note": f"fp32 PyTorch reader; the {MAX_ANSWER_TOKENS}-piece cap changed {capped} answers"}


def run_txtai(paragraphs, qs, reader_dir: Path) -> dict[str, float]:
    import torch
    from txtai import Embeddings
    from txtai.pipeline import Extractor, HFOnnx, Questions

    class ForcedQuestions(Questions):
        """txtai's Questions pipeline on txtai's ONNX model, decoding the joined context in windows
        and always returning the best valid span (txtai's own decoding can return none)."""

        windows = 0

        def __call__(self, questions, contexts, **kwargs):
            answers = []
            for question, context in zip(questions, contexts):
                enc = self.tokenizer(question, context, truncation="only_second", max_length=MAX_LEN, stride=STRIDE, padding=True,
                                     return_overflowing_tokens=True, return_offsets_mapping=True, return_tensors="pt")
                feeds = {k: enc[k] for k in ("input_ids", "attention_mask", "token_type_ids")}
                with torch.no_grad():
                    outputs = self.model(**feeds)
                start, end = (outputs.start_logits, outputs.end_logits) if hasattr(outputs, "start_logits") else outputs
                spans = [best_span(start[w].numpy(), end[w].numpy(), enc.sequence_ids(w), enc["offset_mapping"][w].tolist()) for w in range(len(feeds["input_ids"]))]
                spans = [s for s in spans if s]
                ForcedQuestions.windows += len(feeds["input_ids"])
                answers.append(context[max(spans)[1]:max(spans)[2]] if spans else None)
            return answers

    with tempfile.TemporaryDirectory(prefix="peers-txtai-") as tmp:
        # txtai's own export; both graphs are in their sessions once the index is built, and the folder goes.
        work = Path(tmp)
        onnx = HFOnnx()
        (work / "reader.onnx").write_bytes(onnx(str(reader_dir), task="question-answering", quantize=True))
        (work / "embedder.onnx").write_bytes(onnx(embedder_path(), task="pooling", quantize=True))
        embeddings, questions = _txtai_models(work, reader_dir, Embeddings, ForcedQuestions)
        embeddings.index([(p["id"], p["text"], None) for p in paragraphs])
    extractor = Extractor(embeddings, questions, context=TOP_K)
    answers, lat = [], []
    for q in qs:
        t = time.perf_counter()
        result = extractor([{"name": "a", "query": q["question"], "question": q["question"], "snippet": False}])
        answers.append(result[0]["answer"] if isinstance(result[0], dict) else result[0][1])
        lat.append(1000 * (time.perf_counter() - t))
    return {**_score(answers, lat, qs), "note": f"int8 ONNX (txtai HFOnnx) reader and embedder; {ForcedQuestions.windows / len(qs):.1f} windows a question"}


def _txtai_models(work: Path, reader_dir: Path, Embeddings, ForcedQuestions):
    """txtai's hybrid Embeddings and the Questions pipeline, on the ONNX graphs exported into `work`."""
    embeddings = Embeddings(path=str(work / "embedder.onnx"), tokenizer=str(Path(embedder_path()) / "tokenizer.json"), maxlength=256, content=True, hybrid=True,
                            scoring={"method": "bm25", "terms": True, "normalize": True, "k1": 1.2, "b": 0.75, "tokenizer": {"stopwords": True}})
    questions = ForcedQuestions((str(work / "reader.onnx"), str(reader_dir)), gpu=False)
    return embeddings, questions


def run(work: Path, reader_path: Path | None, sections: list[Section]) -> Section:
    reader_dir = reader_path or PACKAGED_READER
    paragraphs, qs = _corpus()
    installed = versions()
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
        f"{len(qs)} SQuAD v1.1 dev questions against {len(paragraphs)} paragraphs (seeded), hybrid retrieval "
        f"({CANDIDATES} + {CANDIDATES} candidates, {TOP_K} passages read), the same embedder and reader weights everywhere, "
        f"answer forced, {CORES} cores, in-process (no HTTP).",
        "",
        "Installed: " + ", ".join(f"{k} {v}" for k, v in installed.items()) + ".",
        "",
        "| system | EM | F1 | p50 ms | p95 ms | EM ratio (ours / peer) | latency ratio (ours / peer) | empty answers | notes |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    figures = {}
    for name, r in results.items():
        ratio_em = ours["em"] / r["em"] if r["em"] else float("nan")
        ratio_lat = ours["p50_ms"] / r["p50_ms"] if r["p50_ms"] else float("nan")
        lines.append(f"| {name} | {r['em']:.1f} | {r['f1']:.1f} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {ratio_em:.2f} | {ratio_lat:.2f} | {r['empty']} | {r['note']} |")
        figures[f"peer_{name}_em"] = r["em"]
        figures[f"peer_{name}_f1"] = r["f1"]
        figures[f"peer_{name}_p50_ms"] = r["p50_ms"]
    for name, why in errors.items():
        lines.append(f"| {name} | — | — | — | — | {why} | | | |")
    lines += ["", *FAIRNESS]
    title = f"Peers side by side (haystack-ai {installed['haystack-ai']}, txtai {installed['txtai']})"
    return Section(title, lines, figures)
