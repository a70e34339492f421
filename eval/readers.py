"""Two readers side by side on the same stores in one run: `python -m eval.readers --candidate PATH`.

Each store is built once (the sample articles, SQuAD v2.0 dev's paragraphs, the news archive)
and every reader answers the same questions through `Pipeline.ask`, so the difference is the
reader's alone. It decides whether a newly trained reader replaces the shipped one.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from eval.answering import on_topic, seed_dev
from eval.common import (
    EVAL_DATA,
    FRESH_ON_TOPIC,
    RELIABILITY_HEAD,
    RESULTS,
    dataset,
    read_jsonl,
    reliability_rows,
    sample,
)
from eval.news import NAME as NEWS
from eval.news import documents as news_documents
from eval.reader_bench import halves, squad_v1_gold, squad_v2, tuned_on_first
from eval.retrieval import as_document
from qa.normalize import best_over_golds
from qa.pipeline import SAMPLE_CORPUS, Pipeline
from qa.read import PACKAGED_READER, Reader
from qa.schema import AskRequest
from qa.settings import Settings, get_settings


def sample_articles(pipe: Pipeline) -> dict[str, float]:
    """seed_dev, the on-topic questions the articles don't answer, and `ask` latency on the five articles."""
    seed, _ = seed_dev(pipe)
    topic, answered = on_topic(pipe)
    fresh = read_jsonl(FRESH_ON_TOPIC)
    fresh_answered = [(q, r) for q in fresh if (r := pipe.ask(AskRequest(question=q["question"]))).answer is not None]
    return seed | topic | {
        "on_topic_answered": "; ".join(f"{q['id']}: {r.answer!r} ({r.score:.2f})" for q, r in answered),
        "fresh_rejected": len(fresh) - len(fresh_answered), "fresh": len(fresh),
        "fresh_answered": "; ".join(f"{q['id']}: {r.answer!r} ({r.score:.2f})" for q, r in fresh_answered),
    }


def squad2_open(pipe: Pipeline, qs: list[dict]) -> dict[str, float]:
    """SQuAD v2.0 end to end: the product's threshold, and a threshold chosen on one half (`halves`) reported on the other."""
    rows = []  # (score, has answer, F1 of the forced answer, "not found" under the product threshold, its answer's F1)
    for q in qs:
        forced = pipe.ask(AskRequest(question=q["question"]), threshold=0.0)
        product = pipe.ask(AskRequest(question=q["question"]))
        has = not q["is_impossible"]
        f1 = best_over_golds(forced.answer or "", q["answers"])[1] if has else 0.0
        p_f1 = best_over_golds(product.answer, q["answers"])[1] if (has and product.answer is not None) else 0.0
        rows.append((forced.score, has, f1, product.answer is None, p_f1))
    a, b = halves(rows)
    best_t, (overall, has_f1, no_acc) = tuned_on_first([r[:3] for r in a], [r[:3] for r in b], decimals=3)
    p_has = [p for _, h, _, _, p in b if h]
    p_no = [1.0 if none else 0.0 for _, h, _, none, _ in b if not h]
    reliability = [(score, 1.0 if has and f1 >= 0.5 else 0.0) for score, has, f1, _, _ in rows]
    return {"reliability": reliability, "questions_b": len(b), "tuned_threshold": best_t, "tuned_overall_f1": overall, "tuned_hasans_f1": has_f1, "tuned_noans": no_acc,
            "product_overall_f1": 100 * (sum(p_has) + sum(p_no)) / len(b), "product_hasans_f1": 100 * statistics.fmean(p_has), "product_noans": 100 * statistics.fmean(p_no)}


def news(pipe: Pipeline, qs: list[dict], unanswerable: list[dict] = ()) -> dict[str, float]:
    """Forced EM/F1 on the news quiz, what abstention does to right and wrong answers, and how
    many of the quiz questions no article answers get "not found" (`unanswerable`)."""
    em = f1 = kept_right = kept_wrong = cited = 0.0
    for q in qs:
        forced = pipe.ask(AskRequest(question=q["question"]), threshold=0.0)
        e, f = best_over_golds(forced.answer or "", q["answers"])
        em, f1 = em + e, f1 + f
        cited += bool(set(q["gold_doc_ids"]) & {c.doc_id for c in forced.citations})
        if pipe.ask(AskRequest(question=q["question"])).answer is not None:
            kept_right, kept_wrong = kept_right + e, kept_wrong + (1 - e)
    n = len(qs)
    refused = sum(pipe.ask(AskRequest(question=q["question"])).answer is None for q in unanswerable)
    return {"em": 100 * em / n, "f1": 100 * f1 / n, "cited": 100 * cited / n, "answered_right": kept_right, "answered_wrong": kept_wrong, "questions": n,
            "unanswerable": len(unanswerable), "unanswerable_refused": refused}


def store(folder: Path, fill) -> Pipeline:
    """A pipeline over the store in `folder`, filled the first time (kept stores are reused as they are)."""
    pipe = Pipeline(Settings(data_dir=folder, sample_corpus=False))
    pipe.warm_up()
    if pipe.store.count()[0] == 0:
        fill(pipe)
    return pipe


def use(pipes: list[Pipeline], path: Path | None) -> Reader:
    settings = get_settings()
    reader = Reader(path, threads=settings.threads, cache_dir=settings.cache_dir)
    reader.warm_up()
    for p in pipes:
        p.reader = reader
    return reader


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--candidate", type=Path, nargs="+", required=True, help="folders of the readers to compare (as `qa export-reader` writes them)")
    parser.add_argument("--baseline", type=Path, default=PACKAGED_READER, help="default: the shipped reader")
    parser.add_argument("--reader-sample", type=int, default=2000, help="SQuAD questions with their gold paragraph")
    parser.add_argument("--v2-questions", type=int, default=2000, help="SQuAD v2.0 questions end to end")
    parser.add_argument("--news-questions", type=int, default=None, help="news quiz questions (default: all)")
    parser.add_argument("--skip-news", action="store_true")
    parser.add_argument("--stores", type=Path, default=None, help="build the stores here and reuse them on the next run (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=RESULTS / "readers.md")
    args = parser.parse_args(argv)
    started = time.time()
    work = args.stores or Path(tempfile.mkdtemp(prefix="qa-readers-"))
    try:
        seed = store(work / "seed", lambda p: p.ingest_paths([SAMPLE_CORPUS]))
        docs2, qs2 = dataset("squad-v2.0-dev")
        squad2 = store(work / "squad2", lambda p: p.add_documents([as_document(d, title_line=False) for d in docs2.values()]))
        pipes = [seed, squad2]
        news_qs: list[dict] = []
        news_none: list[dict] = []
        if not args.skip_news:
            pipes.append(store(work / "news", lambda p: p.add_documents(news_documents(EVAL_DATA / NEWS))))
            news_qs = sample(read_jsonl(EVAL_DATA / NEWS / "questions.jsonl"), args.news_questions)
            unanswerable_file = EVAL_DATA / NEWS / "no_retrieval_questions.jsonl"
            news_none = read_jsonl(unanswerable_file) if unanswerable_file.exists() else []
        v2_qs = sample(qs2, args.v2_questions, seed=2)
        results: dict[str, dict[str, float]] = {}
        for label, path in [("baseline", args.baseline), *((f"candidate {k + 1}", c) for k, c in enumerate(args.candidate))]:
            reader = use(pipes, path)
            r: dict = {"name": f"`{path}` (threshold {reader.calibration.threshold:.2f})"}
            r |= {f"gold_{k}": v for k, v in squad_v1_gold(reader, args.reader_sample).items()}
            r |= {f"v2gold_{k}": v for k, v in squad_v2(reader, args.reader_sample).items()}
            r |= sample_articles(seed)
            r |= {f"v2_{k}": v for k, v in squad2_open(squad2, v2_qs).items()}
            if news_qs:
                r |= {f"news_{k}": v for k, v in news(pipes[2], news_qs, news_none).items()}
            results[label] = r
            print(label, {k: v for k, v in r.items() if k != "v2_reliability"}, flush=True)
    finally:
        if args.stores is None:
            shutil.rmtree(work, ignore_errors=True)
    write(results, args, (time.time() - started) / 60)


def write(results: dict[str, dict], args: argparse.Namespace, minutes: float) -> None:
    rows = [
        ("reader", lambda r: r["name"]),
        (f"SQuAD v1.1 dev, gold paragraph ({args.reader_sample} questions): EM / F1", lambda r: f"{r['gold_em']:.1f} / {r['gold_f1']:.1f}"),
        ("SQuAD v2.0 dev, gold paragraph, margin threshold tuned on half A, half B: overall F1 (HasAns F1, NoAns)",
         lambda r: f"{r['v2gold_overall_f1']:.1f} ({r['v2gold_hasans_f1']:.1f}, {r['v2gold_noans_acc']:.1f}%)"),
        (f"SQuAD v2.0 end to end ({args.v2_questions} questions), half B, the product's threshold: HasAns F1, NoAns",
         lambda r: f"{r['v2_product_hasans_f1']:.1f}, {r['v2_product_noans']:.1f}%"),
        ("… threshold tuned on half A: HasAns F1, NoAns (threshold)",
         lambda r: f"{r['v2_tuned_hasans_f1']:.1f}, {r['v2_tuned_noans']:.1f}% ({r['v2_tuned_threshold']:.2f})"),
        ("seed_dev: answerable right, unanswerable rejected", lambda r: f"{r['answerable_right']} of {r['answerable']}, {r['unanswerable_rejected']} of {r['unanswerable']}"),
        ("on-topic questions the sample articles don't answer, rejected", lambda r: f"{r['on_topic_rejected']} of {r['on_topic']}"),
        ("fresh on-topic questions (`eval/data/fresh_on_topic.jsonl`, never tuned on), rejected", lambda r: f"{r['fresh_rejected']} of {r['fresh']}"),
        ("`ask` p50 on the sample articles, ms", lambda r: f"{r['ask_p50_ms']:.0f}"),
    ]
    if "news_em" in results["baseline"]:
        rows += [
            (f"news ({results['baseline']['news_questions']:.0f} quiz questions), forced: EM / F1, answering article cited",
             lambda r: f"{r['news_em']:.1f} / {r['news_f1']:.1f}, {r['news_cited']:.0f}%"),
            ("news with abstention: answered right, answered wrong", lambda r: f"{r['news_answered_right']:.0f}, {r['news_answered_wrong']:.0f}"),
            ("… answers given that are right; questions answered",
             lambda r: f"{100 * r['news_answered_right'] / max(1, r['news_answered_right'] + r['news_answered_wrong']):.0f}%; "
                       f"{100 * (r['news_answered_right'] + r['news_answered_wrong']) / r['news_questions']:.0f}%"),
            ("news quiz questions no article answers (no_retrieval_questions), \"not found\"",
             lambda r: f"{r['news_unanswerable_refused']} of {r['news_unanswerable']}"),
        ]
    labels = list(results)
    lines = [
        "# Readers side by side",
        "",
        (f"Made by `python -m eval.readers{'' if args.baseline == PACKAGED_READER else f' --baseline {args.baseline}'} --candidate {' '.join(map(str, args.candidate))}` on {time.strftime('%Y-%m-%d %H:%M')} UTC in {minutes:.0f} minutes: "
         "the same stores and questions for every reader, each with its own calibration."),
        "",
        "| measure | " + " | ".join(labels) + " |",
        "|---|" + "---|" * len(labels),
        *(f"| {label} | " + " | ".join(f(results[k]) for k in labels) + " |" for label, f in rows),
        "",
        ("Reliability of the score on held-out questions (SQuAD v2.0 end to end, both halves, the forced answer's score; "
         "right means F1 ≥ 0.5, and any answer to an unanswerable question is wrong):"),
        "",
        *(line for label in labels for line in (
            f"{label}:", "", *RELIABILITY_HEAD, *reliability_rows(results[label]["v2_reliability"]), "")),
        "On-topic questions answered anyway:",
        *(f"- {k}: {results[k]['on_topic_answered'] or 'none'}" for k in labels),
        "",
        "Fresh on-topic questions answered anyway:",
        *(f"- {k}: {results[k]['fresh_answered'] or 'none'}" for k in labels),
        "",
    ]
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
