"""Retrieval and end-to-end answering on real corpora, through the product's own pipeline."""

from __future__ import annotations

import statistics
from pathlib import Path

from eval.common import (
    CORES,
    ON_TOPIC,
    RELIABILITY_HEAD,
    SEED_DEV,
    Section,
    dataset,
    read_jsonl,
    reliability_rows,
    sample,
)
from eval.retrieval import build
from eval.retrieval import squad as retrieval_squad
from qa.normalize import best_over_golds
from qa.pipeline import Pipeline
from qa.schema import AskRequest, AskResponse
from qa.settings import Settings


def answer_squad(pipe: Pipeline, qs: list[dict]) -> dict[str, float]:
    """Open-corpus SQuAD: the answer is forced (threshold 0) and abstentions counted apart."""
    threshold = (pipe.reader.confidence or pipe.reader.calibration).threshold
    em = f1 = abstained = 0.0
    retrieve_ms, read_ms = [], []
    for q in qs:
        r = pipe.ask(AskRequest(question=q["question"]), threshold=0.0)
        e, f = best_over_golds(r.answer or "", q["answers"])
        em, f1 = em + e, f1 + f
        abstained += r.score < threshold
        retrieve_ms.append(r.timings_ms["retrieve"])
        read_ms.append(r.timings_ms["read"])
    n = len(qs)
    return {"questions": n, "em": 100 * em / n, "f1": 100 * f1 / n, "would_abstain": 100 * abstained / n, "retrieve_ms": sum(retrieve_ms) / n, "read_ms": sum(read_ms) / n}


def answer_squad_v2(pipe: Pipeline, qs: list[dict]) -> dict[str, float]:
    """SQuAD v2.0 scoring with the product's own abstention: "not found" is the empty answer."""
    has_em, has_f1, no_acc = [], [], []
    answered = []  # (score, right): what a user is shown, and how often it is right (F1 >= 0.5)
    for q in qs:
        r = pipe.ask(AskRequest(question=q["question"]))
        if q["is_impossible"]:
            no_acc.append(1.0 if r.answer is None else 0.0)
        else:
            em, f1 = best_over_golds(r.answer, q["answers"]) if r.answer is not None else (0.0, 0.0)
            has_em.append(em)
            has_f1.append(f1)
        if r.answer is not None:
            answered.append((r.score, 0.0 if q["is_impossible"] else float(f1 >= 0.5)))
    n = len(has_f1) + len(no_acc)
    return {"questions": n, "overall_em": 100 * (sum(has_em) + sum(no_acc)) / n, "overall_f1": 100 * (sum(has_f1) + sum(no_acc)) / n,
            "hasans_em": 100 * sum(has_em) / max(1, len(has_em)), "hasans_f1": 100 * sum(has_f1) / max(1, len(has_f1)), "noans_acc": 100 * sum(no_acc) / max(1, len(no_acc)), "answered": answered}


def seed_dev(pipe: Pipeline) -> tuple[dict[str, float], list[str]]:
    right = rejected = answerable = 0
    lines = []
    for q in read_jsonl(SEED_DEV):
        r = pipe.ask(AskRequest(question=q["question"]))
        if q["answerable"]:
            answerable += 1
            ok = r.answer is not None and best_over_golds(r.answer, q["answers"])[0] == 1.0
            right += ok
        else:
            ok = r.answer is None
            rejected += ok
        cites = ", ".join(dict.fromkeys(c.doc_id[:3] for c in r.citations))
        lines.append(f"| {q['id']} | {q['question']} | {r.answer if r.answer is not None else '— (not found)'} | {r.score:.2f} | {cites} | {'✓' if ok else '✗'} |")
    total = len(lines)
    return {"answerable_right": right, "answerable": answerable, "unanswerable_rejected": rejected, "unanswerable": total - answerable}, lines


def on_topic(pipe: Pipeline) -> tuple[dict[str, float], list[tuple[dict, AskResponse]]]:
    """The on-topic questions the sample articles don't answer: how many get "not found", what the others got, and the median `ask` time."""
    qs = read_jsonl(ON_TOPIC)
    answered, times = [], []
    for q in qs:
        r = pipe.ask(AskRequest(question=q["question"]))
        times.append(r.timings_ms["total"])
        if r.answer is not None:
            answered.append((q, r))
    return {"on_topic_rejected": len(qs) - len(answered), "on_topic": len(qs), "ask_p50_ms": statistics.median(times)}, answered


def run(work: Path, reader_path: Path | None, quick: bool, e2e_questions: int | None = None, v2_questions: int | None = 2000) -> list[Section]:
    """`e2e_questions`/`v2_questions`: seeded samples for the full run (None: every question)."""
    from qa.pipeline import SAMPLE_CORPUS

    sections = []
    # seed_dev: the five sample articles, exactly as `qa ask` sees them.
    pipe = Pipeline(Settings(data_dir=work / "seed", reader_path=reader_path, sample_corpus=False))
    pipe.warm_up()
    pipe.ingest_paths([SAMPLE_CORPUS])
    seed, seed_lines = seed_dev(pipe)
    topic, answered = on_topic(pipe)
    topic_lines = [f"| {q['id']} | {q['question']} | {r.answer} | {r.score:.2f} | {q['why']} |" for q, r in answered]
    sections.append(Section(
        "seed_dev (16 questions over the 5 sample articles, through the /ask pipeline)",
        [f"**{seed['answerable_right']} of {seed['answerable']} answerable right (EM), {seed['unanswerable_rejected']} of {seed['unanswerable']} unanswerable rejected.**", "",
         "| id | question | answer | score | cited | ok |", "|---|---|---|---|---|---|", *seed_lines, "",
         f"On-topic questions the articles don't answer (`eval/data/on_topic_unanswerable.jsonl`): **{topic['on_topic_rejected']} of {topic['on_topic']} \"not found\"**"
         + ("; answered anyway:" if topic_lines else "."), *(["", "| id | question | answer | score | why it is not in the articles |", "|---|---|---|---|---|", *topic_lines] if topic_lines else [])],
        {"seed_right": seed["answerable_right"], "seed_rejected": seed["unanswerable_rejected"], "on_topic_rejected": topic["on_topic_rejected"], "on_topic": topic["on_topic"]},
    ))

    # quick: the shipped slice (eval/data/quick), 300 seeded paragraphs and every question on them, whole.
    docs, qs = dataset("squad-v1.1-dev", quick)
    doc_list = list(docs.values())
    squad, ingest = build(work / "squad1", doc_list, reader_path)
    rq = sample(qs, 300 if quick else None, seed=0)
    ret = retrieval_squad(squad, rq)
    lines = [f"Corpus: {len(doc_list)} SQuAD v1.1 dev paragraphs, {ingest['chunks']} chunks; {len(rq)} questions; paragraph-level hits.", "",
             "| retriever | recall@1 | recall@5 | recall@20 | MRR |", "|---|---|---|---|---|"]
    for mode, r in ret.items():
        lines.append(f"| {mode} | {r['r1']:.3f} | {r['r5']:.3f} | {r['r20']:.3f} | {r['mrr']:.3f} |")
    lines += ["", f"Ingestion: {ingest['docs_per_s']:.1f} documents/s, {ingest['chunks_per_s']:.1f} chunks/s ({ingest['docs']} documents in {ingest['seconds']:.0f} s, embedding included)."]
    sections.append(Section("Retrieval (SQuAD v1.1 dev as a corpus)", lines, {
        "retrieval_hybrid_r5": ret["hybrid"]["r5"], "retrieval_hybrid_r20": ret["hybrid"]["r20"], "retrieval_dense_r5": ret["dense"]["r5"], "retrieval_bm25_r5": ret["bm25"]["r5"],
        "ingest_docs_per_s": ingest["docs_per_s"], "ingest_chunks_per_s": ingest["chunks_per_s"]}))

    aq = sample(qs, 150 if quick else e2e_questions, seed=1)
    e2e = answer_squad(squad, aq)
    sections.append(Section("End-to-end answering (SQuAD v1.1 open: question against the whole index)", [
        f"{e2e['questions']} of {len(qs)} questions{' (seeded sample)' if e2e['questions'] < len(qs) else ''} against {len(doc_list)} paragraphs, top-5 hybrid passages, answer forced: "
        f"**EM {e2e['em']:.1f} / F1 {e2e['f1']:.1f}**; the product would abstain on {e2e['would_abstain']:.1f}% of them. "
        f"Mean split: retrieve {e2e['retrieve_ms']:.1f} ms, read {e2e['read_ms']:.1f} ms ({CORES} cores)."],
        {"e2e_squad1_em": e2e["em"], "e2e_squad1_f1": e2e["f1"], "e2e_retrieve_ms": e2e["retrieve_ms"], "e2e_read_ms": e2e["read_ms"]}))

    # quick: the shipped 400 SQuAD v2.0 questions on their 336 paragraphs, whole; they guard abstention's floors.
    docs2, qs2 = dataset("squad-v2.0-dev", quick)
    squad2, _ = build(work / "squad2", list(docs2.values()), reader_path)
    v2 = answer_squad_v2(squad2, sample(qs2, None if quick else v2_questions, seed=2))
    sections.append(Section("End-to-end with abstention (SQuAD v2.0 dev against its paragraphs)", [
        f"{v2['questions']} of {len(qs2)} questions{' (seeded sample)' if v2['questions'] < len(qs2) else ''} against {len(docs2)} paragraphs, top-5 hybrid passages, the product's calibrated threshold deciding \"not found\": "
        f"overall EM {v2['overall_em']:.1f} / F1 {v2['overall_f1']:.1f}; HasAns EM {v2['hasans_em']:.1f} / F1 {v2['hasans_f1']:.1f}; NoAns (correctly not found) {v2['noans_acc']:.1f}.",
        "", f"Reliability of the score shown with each of the {len(v2['answered'])} answers given (right: F1 ≥ 0.5; an answer to an unanswerable question is wrong):",
        "", *RELIABILITY_HEAD, *reliability_rows(v2["answered"])],
        {"e2e_squad2_overall_f1": v2["overall_f1"], "e2e_squad2_hasans_f1": v2["hasans_f1"], "e2e_squad2_noans_acc": v2["noans_acc"]}))
    return sections
