"""Where retrieval's time goes in a grown archive: each part alone, and the vector index's `ef_search` options.

`python -m eval.scale_parts --data DIR` (DIR grown by `python -m eval.scale --data DIR`; nothing
else may hold it). For the seed and news questions, timed one at a time in this process: the
question's embedding, the vector query (the retriever's 30 candidates), the keyword query, and
fetching the fused passages' text. Then the vector query again at several `ef_search` values
(Chroma's HNSW search breadth, 100 by default), each with the share of its 30 candidates that
`ef_search` 400 also finds; the collection's setting is put back afterwards. Prints a Markdown
table and writes `scale_parts.json` beside the cost curve. Last, five one-article writes, each
timed in its parts until a question finds it (the article is deleted again afterwards).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from eval.common import CORES, RESULTS, cpu_name, pct
from eval.scale import scale_questions
from index.documents import Document
from index.embed import Embedder
from index.ingest import Indexer
from index.keyword import KeywordIndex
from index.store import Store
from qa.retrieve import Retriever
from qa.settings import Settings

EF_SEARCH = (25, 50, 100, 200, 400)


def _timed(fn, items) -> tuple[list, list[float]]:
    out, ms = [], []
    for item in items:
        t = time.perf_counter()
        out.append(fn(item))
        ms.append(1000 * (time.perf_counter() - t))
    return out, ms


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.scale_parts", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if not (args.data / "chroma").is_dir():
        parser.error(f"{args.data} holds no store (grow one with `python -m eval.scale --data {args.data}`)")
    settings = Settings(data_dir=args.data, sample_corpus=False)
    store = Store(args.data, None, Embedder.name, Embedder.dimension)
    embedder = Embedder(backend=settings.embedder_backend, threads=settings.threads, cache_dir=settings.cache_dir)
    embedder.warm_up()
    keywords = KeywordIndex(store, args.data)
    keywords.refresh()
    retriever = Retriever(store, embedder, keywords, settings.candidates)
    questions = scale_questions()
    n = settings.candidates
    out: dict = {"chunks": store.chunks.count()}
    for q in questions[:3]:  # caches warm, as in a serving process
        retriever(q, 5)
    vectors, ms = _timed(lambda q: embedder([q])[0], questions)
    out["embed"] = ms
    _, out["vector"] = _timed(lambda v: store.query(v, n, None), vectors)
    _, out["keyword"] = _timed(lambda q: keywords.search(q, n), questions)
    ranked = [retriever.ranked_ids(q, 5) for q in questions]
    _, out["fetch"] = _timed(lambda r: store.get_chunks([cid for cid, _ in r]), ranked)
    _, out["retrieve"] = _timed(lambda q: retriever(q, 5), questions)
    ef_before = store.chunks.configuration_json["hnsw"]["ef_search"]
    try:
        found: dict[int, list[set[str]]] = {}
        for ef in sorted(EF_SEARCH, reverse=True):
            store.chunks.modify(configuration={"hnsw": {"ef_search": ef}})
            for v in vectors[:3]:
                store.query(v, n, None)
            hits, out[f"vector_ef{ef}"] = _timed(lambda v: {cid for cid, _ in store.query(v, n, None)}, vectors)
            found[ef] = hits
        out["overlap"] = {ef: sum(len(a & b) for a, b in zip(found[ef], found[max(EF_SEARCH)])) / (n * len(vectors)) for ef in EF_SEARCH}
    finally:
        store.chunks.modify(configuration={"hnsw": {"ef_search": ef_before}})
    write: dict[str, list[float]] = {"copy index, before the write": [], "store write (put_documents)": [], "whole write": [],
                                      "keyword index catches up": [], "a question finds it": []}
    indexer = Indexer(store, embedder, args.data)
    put = store.put_documents

    def timed_put(*a, **k) -> None:
        t = time.perf_counter()
        put(*a, **k)
        write["store write (put_documents)"].append(1000 * (time.perf_counter() - t))

    store.put_documents = timed_put  # type: ignore[method-assign]
    for i in range(5):
        word = f"Quorvane{i}x{int(time.time())}"
        doc = Document(id=f"scale-parts-{word.lower()}", title=f"{word} opens", text=f"The {word} bridge was opened by mayor Ilse Brandt on Monday.", source="scale-parts")
        t = time.perf_counter()
        indexer.copies.refresh()
        write["copy index, before the write"].append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        indexer.add([doc])
        write["whole write"].append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        keywords.refresh()
        write["keyword index catches up"].append(1000 * (time.perf_counter() - t))
        t = time.perf_counter()
        found = {p.doc_id for p in retriever(f"Who opened the {word} bridge?", 5)}
        write["a question finds it"].append(1000 * (time.perf_counter() - t))
        if doc.id not in found:
            raise SystemExit(f"the article just written was not found: {doc.id}")
        store.delete_document(doc.id)
        keywords.refresh()
    out["write"] = write
    lines = [
        f"Retrieval's parts at {out['chunks']:,} chunks, {len(questions)} questions one at a time (`python -m eval.scale_parts`), "
        f"{CORES} cores ({cpu_name()}):", "",
        "| part | p50 ms | p95 ms |", "|---|---|---|",
        *(f"| {label} | {pct(out[key], 50):.1f} | {pct(out[key], 95):.1f} |" for key, label in (
            ("embed", "embed the question"), ("vector", f"vector query, {n} candidates (ef_search {ef_before})"),
            ("keyword", f"keyword query (BM25, SQLite FTS5), {n} candidates"), ("fetch", "fetch the 5 passages' text"),
            ("retrieve", "all of retrieval (5 passages)"))),
        "", "One article written, then asked for (five times; p50 / max ms): " + "; ".join(
            f"{k} {pct(v, 50):.0f} / {max(v):.0f}" for k, v in write.items()) + ".",
        "", "| ef_search | vector query p50 / p95 ms | its 30 candidates also found at ef_search 400 |", "|---|---|---|",
        *(f"| {ef} | {pct(out[f'vector_ef{ef}'], 50):.1f} / {pct(out[f'vector_ef{ef}'], 95):.1f} | {100 * out['overlap'][ef]:.1f}% |" for ef in EF_SEARCH),
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "scale_parts.json").write_text(json.dumps(out, indent=1))
    (args.out / "scale_parts.md").write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
