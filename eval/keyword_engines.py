"""Keyword engines measured for the incremental index: bm25s (rebuilt) against SQLite FTS5 (updated in place).

`python -m eval.keyword_engines [--chunks 100000]`: both engines index the same texts, already
tokenised by the project's one keyword tokeniser (`index.keyword.tokenize`), so only the
engine differs. Quality: BM25 alone on SciFact (nDCG@10) and SQuAD v1.1 dev paragraphs
(recall@5). Scale: news chunks (realtimeqa-2023-dev articles cut at 800 characters), the
other public sets' passages, then synthetic articles to pad to `--chunks`; for each engine the
build time, query p50/p95, the time one new document takes to become searchable, and the
memory the index holds.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import tempfile
import time
import tracemalloc
from pathlib import Path


from eval.common import EVAL_DATA, RESULTS, pct, read_jsonl
from eval.ir import R, mean, nDCG
from eval.retrieval import scifact_qrels
from eval.synthetic import article
from index.keyword import tokenize


def _stems(texts: list[str]) -> list[str]:
    return [" ".join(t) for t in tokenize(texts, return_ids=False)]


class Bm25s:
    name = "bm25s (rebuild)"

    def build(self, stems: list[str]) -> None:
        import bm25s

        self.stems = list(stems)
        self.index = bm25s.BM25()
        self.index.index([s.split() for s in self.stems], show_progress=False)

    def search(self, query: str, k: int) -> list[int]:
        q = [t for t in query.split() if t in self.index.vocab_dict]
        if not q:
            return []
        docs, scores = self.index.retrieve([q], k=min(k, len(self.stems)), show_progress=False, n_threads=1)
        return [int(d) for d, s in zip(docs[0], scores[0]) if s > 0]

    def add(self, stems: list[str]) -> None:
        self.build(self.stems + stems)  # bm25s has no update: a write rebuilds


class Fts5:
    name = "SQLite FTS5 (in place)"

    def __init__(self, path: Path):
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(stems, tokenize='unicode61 remove_diacritics 0')")

    def build(self, stems: list[str]) -> None:
        with self.db:
            self.db.executemany("INSERT INTO fts(rowid, stems) VALUES (?, ?)", enumerate(stems))

    def search(self, query: str, k: int) -> list[int]:
        terms = dict.fromkeys(query.split())
        if not terms:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        rows = self.db.execute("SELECT rowid FROM fts WHERE fts MATCH ? ORDER BY bm25(fts) LIMIT ?", (match, k)).fetchall()
        return [r[0] for r in rows]

    def add(self, stems: list[str]) -> None:
        start = self.db.execute("SELECT COALESCE(MAX(rowid), -1) + 1 FROM fts").fetchone()[0]
        with self.db:
            self.db.executemany("INSERT INTO fts(rowid, stems) VALUES (?, ?)", enumerate(stems, start))


NAMES = {"bm25s": Bm25s.name, "fts5": Fts5.name}


def quality(engine_factory) -> dict[str, float]:
    sci = {d["id"]: d for d in read_jsonl(EVAL_DATA / "beir-scifact" / "documents.jsonl")}
    qrels = scifact_qrels(False)
    sci_qs = [q for q in read_jsonl(EVAL_DATA / "beir-scifact" / "questions.jsonl") if q["id"] in qrels]
    ids = list(sci)
    engine = engine_factory()
    engine.build(_stems([f"{d.get('title', '')}\n\n{d['text']}" for d in sci.values()]))
    ndcg = mean(nDCG @ 10, {q["id"]: [ids[i] for i in engine.search(s, 10)] for q, s in zip(sci_qs, _stems([q["question"] for q in sci_qs]))}, qrels)
    sq = {d["id"]: d for d in read_jsonl(EVAL_DATA / "squad-v1.1-dev" / "documents.jsonl")}
    sq_qs = read_jsonl(EVAL_DATA / "squad-v1.1-dev" / "questions.jsonl")[::5]
    ids = list(sq)
    engine = engine_factory()
    engine.build(_stems([d["text"] for d in sq.values()]))
    rankings = {q["id"]: [ids[i] for i in engine.search(s, 5)] for q, s in zip(sq_qs, _stems([q["question"] for q in sq_qs]))}
    r5 = mean(R @ 5, rankings, {q["id"]: {q["doc_id"]: 1} for q in sq_qs})
    return {"scifact_ndcg10": ndcg, "squad_r5": r5, "squad_questions": len(sq_qs)}


def corpus(n: int) -> list[str]:
    texts: list[str] = []
    for d in read_jsonl(EVAL_DATA / "realtimeqa-2023-dev" / "documents.jsonl"):
        texts += [d["text"][i : i + 800] for i in range(0, len(d["text"]), 800)]
    for name in ("beir-scifact", "hotpotqa-dev-ircot500", "squad-v1.1-dev", "squad-v2.0-dev"):
        texts += [d["text"] for d in read_jsonl(EVAL_DATA / name / "documents.jsonl")]
    i = 0
    while len(texts) < n:
        texts.append(article(i).text)
        i += 1
    return texts[:n]


def scale(engine, stems: list[str], queries: list[str], new_doc: list[str]) -> dict[str, float]:
    gc.collect()
    tracemalloc.start()
    t = time.perf_counter()
    engine.build(stems)
    build_s = time.perf_counter() - t
    held = tracemalloc.get_traced_memory()[0] / 2**20
    tracemalloc.stop()
    lat = []
    for q in queries:
        t = time.perf_counter()
        engine.search(q, 30)
        lat.append(1000 * (time.perf_counter() - t))
    t = time.perf_counter()
    engine.add(new_doc)
    found = engine.search(new_doc[0], 5)
    write_s = time.perf_counter() - t
    assert found, "the new document is not searchable"
    return {"build_s": build_s, "p50_ms": pct(lat, 50), "p95_ms": pct(lat, 95), "write_s": write_s, "python_heap_mb": held}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.keyword_engines", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=RESULTS / "keyword_engines.md")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="qa-kw-"))
    factories = {"bm25s": Bm25s, "fts5": lambda: Fts5(scratch / f"q{time.monotonic_ns()}.sqlite3")}
    qual = {name: quality(f) for name, f in factories.items()}
    for p in scratch.glob("*.sqlite3"):
        p.unlink()
    print(qual, flush=True)
    texts = corpus(args.chunks)
    t = time.perf_counter()
    stems = _stems(texts)
    tokenise_s = time.perf_counter() - t
    questions = [q["question"] for q in read_jsonl(EVAL_DATA / "realtimeqa-2023-dev" / "questions.jsonl")][:200]
    queries = _stems(questions)
    new_doc = _stems(["The Zorbulon bridge was opened by mayor Quentin Vasquez in March 1987 after a decade of work."] * 3)
    sizes = {}
    for name, f in factories.items():
        sizes[name] = scale(f(), stems, queries, new_doc)
        print(name, sizes[name], flush=True)
    disk = sum(p.stat().st_size for p in scratch.glob("*.sqlite3")) / 2**20
    lines = [
        "# Keyword engines for the incremental index", "",
        f"Made by `python -m eval.keyword_engines --chunks {args.chunks}` on {time.strftime('%Y-%m-%d %H:%M')} UTC. "
        f"Same stems for both (the project's tokeniser: {tokenise_s:.0f} s for {len(texts)} chunks, not counted below).", "",
        f"Quality, BM25 alone: SciFact test claims (nDCG@10), SQuAD v1.1 dev, every 5th question ({qual['fts5']['squad_questions']}) against its 2,067 paragraphs (recall@5).", "",
        "| engine | SciFact nDCG@10 | SQuAD recall@5 |", "|---|---|---|",
        *(f"| {NAMES[name]} | {q['scifact_ndcg10']:.3f} | {q['squad_r5']:.3f} |" for name, q in qual.items()),
        "", f"Scale: {len(texts)} chunks (news, public passages, synthetic padding), 200 news quiz questions, top 30.", "",
        "| engine | build s | query p50 ms | query p95 ms | one write searchable, s | Python heap held, MB |", "|---|---|---|---|---|---|",
        *(f"| {NAMES[name]} | {s['build_s']:.1f} | {s['p50_ms']:.1f} | {s['p95_ms']:.1f} | {s['write_s']:.2f} | {s['python_heap_mb']:.0f} |" for name, s in sizes.items()),
        "", f"FTS5 database on disk: {disk:.0f} MB (pages cached by the OS, not the process heap).", "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
