"""Today's code against an earlier commit, in one run on the same files: ingest, cold `qa ask`, ask latency, and answers.

The answers part asks every question of seed_dev, of the on-topic questions the sample articles
don't answer and the first 100 news quiz questions, forced (threshold 0), in both trees, and
reports how many come back identical (answer, score, cited places): a restructuring that should
change nothing shows here that it didn't.

`python -m eval.compare --base 2227051 [--articles 150]` checks the base commit out into a
temporary git worktree and runs the same measurement script in both trees, one after the
other, each in a fresh process with its own data and model cache folders. The base tree runs
with this environment's packages, so any package it needs that today's code dropped (pysbd
for 2227051) must be installed to compare.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from eval.common import CORES, EVAL_DATA, ROOT, RESULTS, pct, read_jsonl

NEWS = "realtimeqa-2023-dev"

# Run inside each tree (cwd = the tree, so its packages win): ingest the articles, then time asks.
_MEASURE = r"""
import json, sys, time
from pathlib import Path
from index.documents import Document
from qa.pipeline import Pipeline
from qa.schema import AskRequest
from qa.settings import Settings
articles, questions, data = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), Path(sys.argv[3])
probes = json.load(open(sys.argv[4]))
pipe = Pipeline(Settings(data_dir=data, sample_corpus=False))
pipe.warm_up()
pipe.add_documents([Document(id=a["id"], title=a.get("title", ""), text=a["text"], source=a["id"]) for a in articles[:2]])
docs = [Document(id=a["id"], title=a.get("title", ""), text=a["text"], source=a["id"]) for a in articles[2:]]
t = time.perf_counter()
report = pipe.add_documents(docs)
seconds = time.perf_counter() - t
pipe.start()
lat = []
for q in questions * 3:
    t = time.perf_counter()
    pipe.ask(AskRequest(question=q))
    lat.append(1000 * (time.perf_counter() - t))
answers = []
for q in probes:
    r = pipe.ask(AskRequest(question=q), threshold=0.0)
    answers.append([q, r.answer, r.score, [[c.doc_id, c.answer_start, c.answer_end, c.score] for c in r.citations]])
import qa
print(json.dumps({"package": qa.__file__, "docs": len(docs), "chunks": report.chunks, "ingest_s": seconds, "ask_ms": lat[len(questions):], "answers": answers}))
"""


def _measure(tree: Path, articles: Path, questions: Path, probes: Path, scratch: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")}
    env |= {"QA_CACHE_DIR": str(scratch / "cache"), "QA_LOG_LEVEL": "WARNING", "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, "-c", _MEASURE, str(articles), str(questions), str(scratch / "data"), str(probes)],
                         cwd=tree, env=env, capture_output=True, text=True, timeout=7200)
    if out.returncode:
        raise RuntimeError(f"measurement failed in {tree}:\n{out.stderr[-3000:]}")
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    if not Path(figures.pop("package")).is_relative_to(tree):
        raise RuntimeError(f"the measurement in {tree} imported another tree's code")
    # Cold `qa ask`: a fresh process on the populated index, derived model files cached.
    colds = []
    for _ in range(3):
        t = time.perf_counter()
        run = subprocess.run([sys.executable, "-m", "cli.main", "ask", "Who is the governor of Florida?"],
                             cwd=tree, env=env | {"QA_DATA_DIR": str(scratch / "data")}, capture_output=True, text=True, timeout=600)
        colds.append(time.perf_counter() - t)
        if run.returncode not in (0, 3):  # 3: not found, still a full answer path
            raise RuntimeError(f"qa ask failed in {tree} ({run.returncode}):\n{run.stderr[-3000:]}")
    figures["cold_ask_s"] = sorted(colds)[1]
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.compare", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base", required=True, help="the commit to compare against")
    parser.add_argument("--articles", type=int, default=150, help=f"first N articles of {NEWS} (default 150)")
    parser.add_argument("--out", type=Path, default=RESULTS / "compare.md")
    args = parser.parse_args(argv)
    source = EVAL_DATA / NEWS
    if not (source / "documents.jsonl").is_file():
        print(f"error: {source / 'documents.jsonl'} not found (set QA_EVAL_DATA)", file=sys.stderr)
        return 4
    scratch = Path(tempfile.mkdtemp(prefix="qa-compare-"))
    base_tree = scratch / "tree-base"
    try:
        subprocess.run(["git", "worktree", "add", "--detach", str(base_tree), args.base], cwd=ROOT, check=True, capture_output=True)
        articles = read_jsonl(source / "documents.jsonl")[: args.articles + 2]
        (scratch / "articles.json").write_text(json.dumps(articles))
        questions = [q["question"] for q in read_jsonl(ROOT / "eval" / "data" / "seed_dev.jsonl")]
        (scratch / "questions.json").write_text(json.dumps(questions))
        on_topic = [q["question"] for q in read_jsonl(ROOT / "eval" / "data" / "on_topic_unanswerable.jsonl")]
        news_qs = [q["question"] for q in read_jsonl(source / "questions.jsonl")[:100]]
        (scratch / "probes.json").write_text(json.dumps(questions + on_topic + news_qs))
        results = {}
        for name, tree in (("base", base_tree), ("today", ROOT)):
            (scratch / name).mkdir()
            print(f"measuring {name} ({tree}) ...", flush=True)
            results[name] = _measure(tree, scratch / "articles.json", scratch / "questions.json", scratch / "probes.json", scratch / name)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_tree)], cwd=ROOT, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)

    def row(label: str, key: str, fmt: str, higher_better: bool) -> str:
        b, t = results["base"][key], results["today"][key]
        ratio = t / b if higher_better else b / t
        return f"| {label} | {fmt.format(b)} | {fmt.format(t)} | {ratio:.2f}× |"

    for r in results.values():
        r["chunks_per_s"] = r["chunks"] / r["ingest_s"]
        r["docs_per_s"] = r["docs"] / r["ingest_s"]
        r["ask_p50_ms"], r["ask_p95_ms"] = pct(r["ask_ms"], 50), pct(r["ask_ms"], 95)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    lines = [
        f"# Today's code against {args.base}", "",
        f"Made by `python -m eval.compare --base {args.base} --articles {args.articles}` on {time.strftime('%Y-%m-%d %H:%M')} UTC, "
        f"{CORES} cores; today = working tree at {head}. Same {results['today']['docs']} articles of {NEWS} "
        f"({results['base']['chunks']} / {results['today']['chunks']} chunks), embedded Chroma, default settings.", "",
        "| measure | base | today | today's gain |", "|---|---|---|---|",
        row("ingest, chunks/s", "chunks_per_s", "{:.1f}", True),
        row("ingest, articles/s", "docs_per_s", "{:.2f}", True),
        row("cold `qa ask`, s (median of 3)", "cold_ask_s", "{:.2f}", False),
        row("ask p50, ms (in process)", "ask_p50_ms", "{:.0f}", False),
        row("ask p95, ms (in process)", "ask_p95_ms", "{:.0f}", False),
        "",
    ]
    pairs = list(zip(results["base"].pop("answers"), results["today"].pop("answers")))
    differ = [(b, t) for b, t in pairs if b != t]
    lines += [f"Answers, forced, to {len(pairs)} questions (seed_dev, the on-topic unanswerable ones, the first 100 news quiz "
              f"questions) on these articles: **{len(pairs) - len(differ)} of {len(pairs)} identical** (answer, score, cited places).", ""]
    lines += [f"- {b[0]!r}: {b[1]!r} ({b[2]}) → {t[1]!r} ({t[2]})" for b, t in differ[:20]] + ([""] if differ else [])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    (args.out.with_suffix(".json")).write_text(json.dumps({k: {x: y for x, y in v.items() if x != "ask_ms"} for k, v in results.items()}, indent=1))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
