"""The news benchmark (realtimeqa-2023-dev) through the product's pipeline, each wrong answer put down to retrieval, reading or selection.

Every article is ingested as a user would drop it in (title first line, `published` kept);
each answerable quiz question is asked through `Pipeline.ask` (answer forced, so the
reader's choice is scored, and once more with abstention). A wrong forced answer is put in
one of three bins:
- retrieval: no passage read holds the answer's words;
- reading: a passage read holds them, but no span the reader proposed is the answer;
- selection: the reader proposed the answer, but another span won.
Recall@k is of any answering article among the first k distinct articles of the hybrid ranking.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

from eval.common import (
    EVAL_DATA,
    RELIABILITY_HEAD,
    Section,
    read_jsonl,
    reliability_rows,
)
from eval.ir import Success, mean
from eval.retrieval import ranked_docs
from index.documents import Document
from qa.normalize import best_over_golds, normalize_answer
from qa.pipeline import Pipeline
from qa.schema import AskRequest
from qa.settings import Settings

NAME = "realtimeqa-2023-dev"
KS = (1, 5, 20, 50)


def documents(folder: Path) -> list[Document]:
    return [
        Document(id=d["id"], title=d.get("title", ""), text=f"{d['title']}\n\n{d['text']}" if d.get("title") else d["text"],
                 source=d.get("url", d["id"]), published=d.get("published"))
        for d in read_jsonl(folder / "documents.jsonl")
    ]


def as_of_effect(pipe: Pipeline, qs: list[dict]) -> dict[str, float]:
    """EM of forced answers with each question's date as `as_of` (articles published by then), and without."""
    em = {"with": 0.0, "without": 0.0}
    for q in qs:
        for key, as_of in (("with", q.get("question_date")), ("without", None)):
            r = pipe.ask(AskRequest(question=q["question"], as_of=as_of), threshold=0.0)
            em[key] += best_over_golds(r.answer or "", q["answers"])[0]
    return {f"em_{k}_as_of": 100 * v / len(qs) for k, v in em.items()}


def diagnose(pipe: Pipeline, qs: list[dict]) -> dict[str, float]:
    k_read = pipe.settings.top_k
    rankings: dict[str, list[str]] = {}
    bins = {"right": 0, "retrieval": 0, "reading": 0, "selection": 0}
    em = f1 = cited = abstained_right = abstained_wrong = 0.0
    gold_read = 0
    answered = []  # (score, right) of each answer given with abstention
    for q in qs:
        gold = set(q["gold_doc_ids"])
        rankings[q["id"]] = ranked_docs(pipe, q["question"], max(KS), "hybrid", depth=4)
        forced = pipe.ask(AskRequest(question=q["question"]), threshold=0.0)
        e, f = best_over_golds(forced.answer or "", q["answers"])
        em, f1 = em + e, f1 + f
        cited += bool(gold & {c.doc_id for c in forced.citations})
        passages = pipe.retriever(q["question"], k_read)
        gold_read += bool(gold & {p.doc_id for p in passages})
        if e == 1.0:
            bins["right"] += 1
        else:
            golds = {normalize_answer(a) for a in q["answers"]}
            in_read = any(g and g in normalize_answer(p.text) for p in passages for g in golds)
            reading = pipe.reader.read(q["question"], [p.text for p in passages], top_spans=20)
            proposed = any(best_over_golds(passages[s.passage].text[s.start : s.end], q["answers"])[0] == 1.0 for s in reading.spans)
            bins["selection" if proposed else "reading" if in_read else "retrieval"] += 1
        free = pipe.ask(AskRequest(question=q["question"]))
        if free.answer is not None:
            answered.append((free.score, best_over_golds(free.answer, q["answers"])[0]))
        if free.answer is None:
            if e == 1.0:
                abstained_right += 1
            else:
                abstained_wrong += 1
    n = len(qs)
    out = {"questions": n, "em": 100 * em / n, "f1": 100 * f1 / n, "cited_gold": 100 * cited / n, "gold_read": gold_read / n,
           "abstained_right": abstained_right, "abstained_wrong": abstained_wrong, "answered": answered}
    qrels = {q["id"]: dict.fromkeys(q["gold_doc_ids"], 1) for q in qs}
    out |= {f"r{k}": mean(Success @ k, rankings, qrels) for k in KS}  # any answering article in the first k
    out |= {f"bin_{b}": v for b, v in bins.items()}
    return out


def run(work: Path, reader_path: Path | None, questions: int | None = None) -> Section:
    folder = EVAL_DATA / NAME
    docs = documents(folder)
    qs = read_jsonl(folder / "questions.jsonl")
    if questions is not None and questions < len(qs):
        qs = random.Random(0).sample(qs, questions)
    pipe = Pipeline(Settings(data_dir=work / "news", reader_path=reader_path, sample_corpus=False))
    pipe.warm_up()
    t = time.perf_counter()
    report = pipe.add_documents(docs)
    ingest_s = time.perf_counter() - t
    r = diagnose(pipe, qs) | as_of_effect(pipe, qs)
    wrong = r["questions"] - r["bin_right"]
    lines = [
        f"{r['questions']} answerable quiz questions against all {len(docs)} articles ({report.chunks} chunks, title first, dates kept); "
        f"top_k {pipe.settings.top_k}. Development set: figures here guide the work, the held-out news sets judge it.",
        "",
        f"- End to end, answer forced: EM {r['em']:.1f}, F1 {r['f1']:.1f}; an answering article cited for {r['cited_gold']:.0f}% of questions.",
        f"- With abstention: {r['abstained_wrong']:.0f} of the {wrong} wrong answers become \"not found\", and {r['abstained_right']:.0f} of the {r['bin_right']} right ones do.",
        "- Recall of an answering article: " + ", ".join(f"@{k} {r[f'r{k}']:.2f}" for k in KS) + f"; among the {pipe.settings.top_k} passages read: {r['gold_read']:.2f}.",
        "",
        "| outcome (forced answer) | questions | share |",
        "|---|---|---|",
        *(f"| {label} | {r[f'bin_{b}']} | {100 * r[f'bin_{b}'] / r['questions']:.0f}% |" for b, label in (
            ("right", "right"), ("retrieval", "retrieval: the answer's words in no passage read"),
            ("reading", "reading: read, but the reader never proposed the answer"), ("selection", "selection: proposed, another span won"))),
        f"- Time: with each question's date as `as_of` (only articles published by then), EM {r['em_with_as_of']:.1f}; "
        f"without, {r['em_without_as_of']:.1f} (same run, forced answers).",
        "",
        f"Reliability of the score shown with each of the {len(r['answered'])} answers given with abstention (right: EM with the quiz's answer):",
        "",
        *RELIABILITY_HEAD,
        *reliability_rows(r["answered"]),
        "",
        f"Ingest of the archive: {report.chunks / ingest_s:.1f} chunks/s, {len(docs) / ingest_s:.2f} articles/s ({ingest_s / 60:.1f} min).",
    ]
    figures = {f"news_{k}": v for k, v in r.items() if isinstance(v, (int, float))} | {"news_ingest_chunks_per_s": report.chunks / ingest_s}
    return Section(f"News ({NAME}): answers and where the errors come from", lines, figures)
