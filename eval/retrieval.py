"""Retrieval benchmarks on the product's own store and retriever: SQuAD-as-corpus, BEIR SciFact, HotpotQA."""

from __future__ import annotations

import time
from pathlib import Path

from eval.common import Section, data_root, dataset
from eval.ir import RR, R, mean, nDCG, per_query
from index.documents import Document
from qa.pipeline import Pipeline
from qa.retrieve import Mode
from qa.settings import Settings

MODES: tuple[Mode, ...] = ("dense", "bm25", "hybrid")


def as_document(d: dict, *, title_line: bool) -> Document:
    """A benchmark record as a document; with `title_line`, as a user would drop it in (the title first)."""
    title = d.get("title", "")
    text = f"{title}\n\n{d['text']}" if title and title_line else d["text"]
    return Document(id=d["id"], title=title, text=text, source=d["id"])


def build(data_dir: Path, docs: list[dict], reader_path: Path | None, *, titled: bool = False) -> tuple[Pipeline, dict[str, float]]:
    """Index a corpus with the product's ingestion; returns the pipeline and its throughput."""
    pipe = Pipeline(Settings(data_dir=data_dir, reader_path=reader_path, sample_corpus=False))
    pipe.warm_up()
    records = [as_document(d, title_line=titled) for d in docs]
    t = time.perf_counter()
    report = pipe.add_documents(records)
    seconds = time.perf_counter() - t
    return pipe, {"docs": len(docs), "chunks": report.chunks, "seconds": seconds, "docs_per_s": len(docs) / seconds, "chunks_per_s": report.chunks / seconds}


def ranked_docs(pipe: Pipeline, question: str, k: int, mode: Mode, depth: int = 3) -> list[str]:
    """The first `k` distinct documents behind the retriever's first `k * depth` chunks."""
    out: list[str] = []
    for cid, _ in pipe.retriever.ranked_ids(question, k * depth, mode=mode):
        doc = cid.split("::")[0]
        if doc not in out:
            out.append(doc)
    return out[:k]


def squad(pipe: Pipeline, qs: list[dict]) -> dict[str, dict[str, float]]:
    """Paragraph-level recall@1/5/20 and MRR of the gold paragraph."""
    qrels = {q["id"]: {q["doc_id"]: 1} for q in qs}
    results = {}
    for mode in MODES:
        rankings = {q["id"]: ranked_docs(pipe, q["question"], 20, mode) for q in qs}
        results[mode] = {"r1": mean(R @ 1, rankings, qrels), "r5": mean(R @ 5, rankings, qrels), "r20": mean(R @ 20, rankings, qrels),
                         "mrr": mean(RR, rankings, qrels)}
    return results


def scifact_qrels(quick: bool = False) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    lines = (data_root(quick) / "beir-scifact" / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    for line in lines[1:]:  # header: query-id, corpus-id, score
        if line.strip():
            qid, doc, score = line.split("\t")
            qrels.setdefault(qid, {})[doc] = int(score)
    return qrels


def scifact(work: Path, reader_path: Path | None, quick: bool) -> Section:
    """BEIR SciFact test queries: nDCG@10 and recall@100 from `qrels/test.tsv`."""
    # quick: the shipped subset, whole: 40 seeded claims, their relevant abstracts and 150 seeded distractors.
    docs, qs = dataset("beir-scifact", quick)
    qrels = scifact_qrels(quick)
    qs = [q for q in qs if q["id"] in qrels]
    doc_list = list(docs.values())
    pipe, ingest = build(work / "scifact", doc_list, reader_path, titled=True)
    lines = [f"{len(qs)} test claims against {len(doc_list)} abstracts ({ingest['chunks']} chunks, title as first line); qrels from `qrels/test.tsv`; document-level.", "",
             "| retriever | nDCG@10 | recall@100 |", "|---|---|---|"]
    figures: dict[str, float] = {}
    for mode in MODES:
        rankings = {q["id"]: ranked_docs(pipe, q["question"], 100, mode) for q in qs}
        ndcg, recall = mean(nDCG @ 10, rankings, qrels), mean(R @ 100, rankings, qrels)
        figures[f"scifact_{mode}_ndcg10"], figures[f"scifact_{mode}_r100"] = ndcg, recall
        lines.append(f"| {mode} | {ndcg:.3f} | {recall:.3f} |")
    lines += ["", f"Ingestion: {ingest['docs_per_s']:.1f} abstracts/s, {ingest['chunks_per_s']:.1f} chunks/s ({ingest['seconds']:.0f} s, embedding included).",
              "Reference points measured here before on whole abstracts (DESIGN.md): nDCG@10 dense 0.645, BM25 stemmed 0.686, hybrid 0.716."]
    return Section("Retrieval (BEIR SciFact, test split)", lines, figures)


def hotpotqa(work: Path, reader_path: Path | None, quick: bool) -> Section:
    """HotpotQA (500 dev questions, the union of their paragraphs): recall@k of the two supporting paragraphs."""
    # quick: the shipped subset, whole: 30 seeded questions and only their own context paragraphs.
    docs, qs = dataset("hotpotqa-dev-ircot500", quick)
    doc_list = list(docs.values())
    pipe, ingest = build(work / "hotpotqa", doc_list, reader_path, titled=True)
    ks = (2, 5, 10, 20)
    lines = [f"{len(qs)} questions against {len(doc_list)} Wikipedia paragraphs ({ingest['chunks']} chunks, title as first line). "
             "recall@k: share of the 2 supporting paragraphs in the top k; both@k: questions with both in the top k.", "",
             "| retriever | " + " | ".join(f"recall@{k}" for k in ks) + " | both@10 |", "|---" * (len(ks) + 2) + "|"]
    figures: dict[str, float] = {}
    qrels = {q["id"]: dict.fromkeys(q["supporting_doc_ids"], 1) for q in qs}
    for mode in MODES:
        rankings = {q["id"]: ranked_docs(pipe, q["question"], max(ks), mode) for q in qs}
        recall = {k: mean(R @ k, rankings, qrels) for k in ks}
        both10 = sum(r == 1.0 for r in per_query(R @ 10, rankings, qrels)) / len(qs)
        for k in ks:
            figures[f"hotpotqa_{mode}_r{k}"] = recall[k]
        figures[f"hotpotqa_{mode}_both10"] = both10
        lines.append(f"| {mode} | " + " | ".join(f"{recall[k]:.3f}" for k in ks) + f" | {both10:.3f} |")
    return Section("Retrieval (HotpotQA dev, multi-hop: IRCoT's 500 questions)", lines, figures)


def run(work: Path, reader_path: Path | None, quick: bool) -> list[Section]:
    return [scifact(work, reader_path, quick), hotpotqa(work, reader_path, quick)]
