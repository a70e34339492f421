"""The cost curve: one archive grown to 1k, 10k and 100k chunks (or, with a synthetic fill, 1.4M), measured at each size.

`python -m eval.scale [--sizes 1000 10000 100000]` (long: the 100k step ingests for about half
an hour on 2 cores). Articles come from the public sets (realtimeqa news, SQuAD and HotpotQA
paragraphs), then synthetic articles pad to the size; `--fill-beyond N` grows past N chunks
without the embedder (`eval.scale_fill`). At each size: the ingest rate, the data directory
and its keyword index on disk, the time from starting `qa serve` to its first answer, `/ask`
p50/p95 with 1 and 4 clients over real HTTP (one process), the server's RSS after the load,
and how long one new article takes from `POST /documents` to being found by `/ask`. Writes
`eval/results/scale.md`, `scale.json` and `scale.png`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from eval.common import CORES, EVAL_DATA, RESULTS, cpu_name, pct, read_jsonl
from eval.speed import _free_port, _rss_mb
from eval.synthetic import article
from index.documents import Document
from qa.pipeline import Pipeline
from qa.settings import Settings


def articles() -> Iterator[Document]:
    """Public articles first, then synthetic ones without end."""
    news = EVAL_DATA / "realtimeqa-2023-dev" / "documents.jsonl"
    if news.is_file():
        for d in read_jsonl(news):
            yield Document(id=d["id"], title=d["title"], text=f"{d['title']}\n\n{d['text']}", source=d.get("url", d["id"]), published=d.get("published"))
    for name in ("squad-v1.1-dev", "hotpotqa-dev-ircot500"):
        path = EVAL_DATA / name / "documents.jsonl"
        if path.is_file():
            for d in read_jsonl(path):
                yield Document(id=f"{name}-{d['id']}", title=d.get("title", ""), text=d["text"], source=name)
    n = 0
    while True:
        a = article(n)
        yield Document(id=a.doc_id, title=a.title, text=a.text, source="synthetic")
        n += 1


def scale_questions() -> list[str]:
    """The questions every scale measurement asks: seed_dev's, then the first 44 of the news set."""
    questions = [q["question"] for q in read_jsonl(Path(__file__).parent / "data" / "seed_dev.jsonl")]
    news = EVAL_DATA / "realtimeqa-2023-dev" / "questions.jsonl"
    if news.is_file():
        questions += [q["question"] for q in read_jsonl(news)][:44]
    return questions


def synthetic_articles(first: int) -> Iterator[Document]:
    """Synthetic articles only, numbered from `first`: new facts that answer none of the real questions."""
    n = first
    while True:
        a = article(n)
        yield Document(id=a.doc_id, title=a.title, text=a.text, source="synthetic")
        n += 1


def grow(data: Path, target: int, skip: int, synthetic: bool = False) -> dict:
    """Ingest the articles after the first `skip` (or synthetic ones) until the store holds `target` chunks."""
    pipe = Pipeline(Settings(data_dir=data, sample_corpus=False))
    pipe.warm_up()
    pipe.add_documents([])  # the derived indexes caught up with the store before the clock starts
    source = synthetic_articles(10**7 + skip) if synthetic else articles()
    for _ in range(0 if synthetic else skip):
        next(source)
    used = added = 0
    started = time.perf_counter()
    while pipe.store.count()[1] < target:
        have = pipe.store.count()[1]
        batch, guess = [], 0
        for doc in source:
            batch.append(doc)
            guess += max(1, len(doc.text) // 700)  # about 700 characters a chunk
            if guess >= min(500, target - have):
                break
        used += len(batch)
        added += pipe.add_documents(batch).chunks
        print(f"  {pipe.store.count()[1]} chunks ({added / (time.perf_counter() - started):.1f} chunks/s)", file=sys.stderr, flush=True)
    return {"used": used, "added": added, "seconds": time.perf_counter() - started, "chunks": pipe.store.count()[1]}


def _disk_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def measure(data: Path, questions: list[str], requests: int) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("QA_")} | {"QA_DATA_DIR": str(data), "QA_LOG_LEVEL": "WARNING", "QA_SAMPLE_CORPUS": "false"}
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "qa"), "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 3600
        while time.time() < deadline:
            try:
                if httpx.get(url + "/health", timeout=5).json().get("status") == "ok":
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        out: dict = {}
        with httpx.Client(timeout=3600) as client:
            # The first answer also brings the keyword index up to date with the store.
            client.post(url + "/ask", json={"question": questions[0]}).raise_for_status()
            out["start_to_answer_s"] = time.perf_counter() - started
            out["answers"] = {q: client.post(url + "/ask", json={"question": q}).json().get("answer") for q in questions}
            for clients in (1, 4):
                lat: list[float] = []

                def one(i: int) -> None:
                    t = time.perf_counter()
                    client.post(url + "/ask", json={"question": questions[i % len(questions)]}).raise_for_status()
                    lat.append(1000 * (time.perf_counter() - t))

                t = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    list(pool.map(one, range(requests)))
                out[f"p50_ms_{clients}"], out[f"p95_ms_{clients}"] = pct(lat, 50), pct(lat, 95)
                out[f"per_s_{clients}"] = requests / (time.perf_counter() - t)
            out["rss_mb"] = _rss_mb(proc.pid)
            word = f"Quorvane{int(time.time())}"
            doc = {"title": f"{word} opens", "text": f"The {word} bridge was opened by mayor Ilse Brandt on Monday."}
            t = time.perf_counter()
            added = client.post(url + "/documents", json=doc)
            added.raise_for_status()
            new_id = added.json()["added"][0]
            # Searchable: the new article is cited for a question only it answers.
            while new_id not in {c["doc_id"] for c in client.post(url + "/ask", json={"question": f"Who opened the {word} bridge?"}).json()["citations"]}:
                if time.perf_counter() - t > 120:
                    raise TimeoutError("the new article never became searchable")
            out["write_searchable_s"] = time.perf_counter() - t
        out["keyword_mb"] = sum(f.stat().st_size for f in data.glob("keyword-*.sqlite3*")) / 2**20
        return out
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(60)


def report(rows: list[dict], args: argparse.Namespace, made: str) -> str:
    """`scale.md` and `scale.png` from the rows measured."""
    fill_note = (
        f" Past {args.fill_beyond:,} chunks the archive grows with synthetic articles whose vectors are real ones with noise "
        "(`eval.scale_fill`, not embedded); each such row then ingests 1,000 more chunks through the embedder "
        "(the ingest rate shown; short synthetic articles that answer none of the questions), and counts the questions "
        "that kept the answer they had on the real archive alone."
        if args.fill_beyond is not None else ""
    )
    command = f"python -m eval.scale --sizes {' '.join(map(str, args.sizes))} --requests {args.requests}" + (
        f" --fill-beyond {args.fill_beyond}" if args.fill_beyond is not None else "")
    lines = [
        "# Cost curve", "",
        f"Made by `{command}` on {made} UTC, {CORES} cores ({cpu_name()}); "
        f"one archive grown step by step (news, SQuAD and HotpotQA articles, then synthetic ones); `qa serve`, one process, embedded store; "
        f"{args.requests} requests per row; questions from seed_dev and the news set.{fill_note}", "",
        "| chunks | ingest chunks/s | on disk MB | keyword index MB | start to first answer, s | `/ask` p50 / p95 ms, 1 client | "
        "p50 / p95 ms, 4 clients | answers/s, 4 clients | RSS MB after the load | one write searchable, s | answers kept |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(f"| {r['chunks']:,} | {r['ingest_chunks_per_s']:.1f} | {r['disk_mb']:.0f} | {r.get('keyword_mb', float('nan')):.0f} | "
          f"{r.get('start_to_answer_s', float('nan')):.1f} | {r['p50_ms_1']:.0f} / {r['p95_ms_1']:.0f} | "
          f"{r['p50_ms_4']:.0f} / {r['p95_ms_4']:.0f} | {r.get('per_s_4', float('nan')):.1f} | {r['rss_mb']:.0f} | {r['write_searchable_s']:.2f} | "
          + (f"{r['answers_kept']} of {r['answers_compared']}" if "answers_kept" in r else "") + " |" for r in rows),
        "", "![The cost curve](scale.png)", "",
    ]
    (args.out / "scale.md").write_text("\n".join(lines))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    xs = [r["chunks"] for r in rows]
    axes[0].plot(xs, [r["p50_ms_1"] for r in rows], "o-", label="p50, 1 client")
    axes[0].plot(xs, [r["p95_ms_1"] for r in rows], "o--", label="p95, 1 client")
    axes[0].plot(xs, [r["p50_ms_4"] for r in rows], "s-", label="p50, 4 clients")
    axes[0].set_ylabel("/ask ms")
    axes[1].plot(xs, [r["rss_mb"] for r in rows], "o-", label="RSS MB")
    axes[1].plot(xs, [r["disk_mb"] for r in rows], "s-", label="disk MB")
    axes[2].plot(xs, [r["ingest_chunks_per_s"] for r in rows], "o-", label="ingest chunks/s")
    for ax in axes:
        ax.set_xscale("log")
        ax.set_xlabel("chunks in the archive")
        ax.legend()
    fig.tight_layout()
    fig.savefig(args.out / "scale.png", dpi=110)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.scale", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--requests", type=int, default=60, help="requests per client count at each size")
    parser.add_argument("--data", type=Path, default=None, help="grow this data directory (kept) instead of a temporary one; "
                        "a run stopped between sizes goes on from the last size measured (rows kept in DIR-rows.json)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--fill-beyond", type=int, default=None, metavar="CHUNKS",
                        help="past this many chunks of real, embedded articles, grow with synthetic articles whose vectors are made "
                        "from the real ones (eval.scale_fill), and check that the real slice's questions keep their answers")
    parser.add_argument("--grow", nargs=2, metavar=("TARGET", "SKIP"), type=int, help=argparse.SUPPRESS)
    parser.add_argument("--fill", type=int, metavar="TARGET", help=argparse.SUPPRESS)
    parser.add_argument("--synthetic", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--render", action="store_true", help="write scale.md and scale.png again from scale.json (the other options as measured)")
    args = parser.parse_args(argv)
    if args.render:
        if not (args.out / "scale.json").is_file():
            parser.error(f"nothing to render: {args.out / 'scale.json'} is missing (measure first)")
        rows = json.loads((args.out / "scale.json").read_text())
        print(report(rows, args, time.strftime("%Y-%m-%d %H:%M", time.gmtime((args.out / "scale.json").stat().st_mtime))))
        return 0
    if args.grow:  # one growth step, in its own process: an embedded store belongs to one process at a time
        print(json.dumps(grow(args.data, *args.grow, synthetic=args.synthetic)))
        return 0
    if args.fill:
        from eval.scale_fill import fill

        print(json.dumps(fill(args.data, args.fill)))
        return 0
    data = args.data or Path(tempfile.mkdtemp(prefix="qa-scale-")) / "data"
    questions = scale_questions()
    # Each row is kept beside the data directory as it is measured, with the answers the real
    # slice gave, so a run stopped between sizes goes on from the last one measured.
    progress = data.with_name(data.name + "-rows.json")
    done = json.loads(progress.read_text()) if progress.is_file() else {"rows": [], "skip": 0, "real_answers": None}
    rows, skip, real_answers = done["rows"], done["skip"], done["real_answers"]
    if rows:
        print(f"going on after {len(rows)} sizes measured ({progress})", flush=True)
    for size in sorted(args.sizes):
        if any(r["size"] == size for r in rows if "size" in r):
            continue
        filled = args.fill_beyond is not None and size > args.fill_beyond
        print(f"growing to {size} chunks" + (" (synthetic fill)" if filled else ""), flush=True)
        step_args = ["--fill", str(size)] if filled else ["--grow", str(size), str(skip)]
        step = subprocess.run([sys.executable, "-m", "eval.scale", "--data", str(data), *step_args], stdout=subprocess.PIPE, text=True, check=True)
        grown = json.loads(step.stdout.strip().splitlines()[-1])
        skip += grown["used"]
        row = {"size": size, "chunks": grown["chunks"], "filled": filled, "ingest_chunks_per_s": grown["added"] / grown["seconds"] if grown["added"] else float("nan"), "disk_mb": _disk_mb(data)}
        if filled:
            # What a user's new articles cost in a store this big: through the embedder, articles
            # that answer none of the real questions, so the answers compared change by the fill alone.
            step = subprocess.run([sys.executable, "-m", "eval.scale", "--data", str(data), "--grow", str(grown["chunks"] + 1000), str(grown["chunks"]), "--synthetic"],
                                  stdout=subprocess.PIPE, text=True, check=True)
            real = json.loads(step.stdout.strip().splitlines()[-1])
            row |= {"chunks": real["chunks"], "ingest_chunks_per_s": real["added"] / real["seconds"], "fill_chunks_per_s": grown["added"] / grown["seconds"]}
        row |= measure(data, questions, args.requests)
        answers = row.pop("answers")
        if args.fill_beyond is not None and not filled:
            real_answers = answers
        if filled and real_answers:
            row["answers_kept"] = sum(answers.get(q) == a for q, a in real_answers.items())
            row["answers_compared"] = len(real_answers)
        rows.append(row)
        progress.write_text(json.dumps({"rows": rows, "skip": skip, "real_answers": real_answers}))
        print(json.dumps(row), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale.json").write_text(json.dumps(rows, indent=1))
    print(report(rows, args, time.strftime("%Y-%m-%d %H:%M")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
