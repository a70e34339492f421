"""Fill a store past its real slice without the embedder: synthetic articles, vectors made from the real ones.

Embedding 1.4 million chunks on 2 cores would take about three hours, so beyond a slice of
real, embedded articles the archive is filled with synthetic news articles (`eval.synthetic`
facts, 14 chunks each, the news set's average) whose chunk vectors are real chunk vectors of
the slice with Gaussian noise added, normalised again (cosine about 0.85 to their source at
`noise` 0.6). They sit where real news sits in the vector space, so the vector index works as
hard as on a real archive, but none is closer to a real question than the real chunk it was
made from. The keyword index is built from their text as from any other (on the server's first
question), and `python -m eval.scale` checks that the real slice's questions keep their answers.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from eval.synthetic import article
import base64

from index.copies import PERMUTATIONS
from index.documents import Chunk, Document
from index.embed import Embedder
from index.store import Store

CHUNKS_PER_ARTICLE = 14  # the news development archive averages 13.8
SAMPLE_VECTORS = 20_000  # real vectors the synthetic ones are made from


def real_vectors(store: Store, limit: int, rng: np.random.Generator) -> np.ndarray:
    """Up to `limit` vectors of the stored chunks, a spread sample of them."""
    total = store.chunks.count()
    if total == 0:
        raise SystemExit("the store has no real chunks to make vectors from: ingest a real slice first")
    step = max(1, total // limit)
    got = []
    for offset in range(0, total, 1000 * step):
        page = store.chunks.get(include=["embeddings"], limit=1000, offset=offset)
        got.append(np.asarray(page["embeddings"], dtype=np.float32))
        if sum(len(g) for g in got) >= limit:
            break
    vectors = np.concatenate(got)[:limit]
    return vectors[rng.permutation(len(vectors))]


def synthetic_document(n: int) -> tuple[Document, list[Chunk]]:
    """One synthetic article of `CHUNKS_PER_ARTICLE` paragraphs, each two synthetic stories long, and its chunks."""
    paragraphs = []
    for k in range(CHUNKS_PER_ARTICLE):
        a, b = article(2 * (n * CHUNKS_PER_ARTICLE + k)), article(2 * (n * CHUNKS_PER_ARTICLE + k) + 1)
        paragraphs.append(f"{a.text.split(chr(10), 2)[-1].strip()} {b.text.split(chr(10), 2)[-1].strip()}")
    title = article(2 * n * CHUNKS_PER_ARTICLE).title
    text = title + "\n\n" + "\n\n".join(paragraphs)
    doc_id = f"fill-{n:07d}"
    chunks, at = [], len(title) + 2
    for k, p in enumerate(paragraphs):
        chunks.append(Chunk(doc_id=doc_id, chunk_id=f"{doc_id}-{k:03d}", text=p, start=at, end=at + len(p)))
        at += len(p) + 2
    return Document(id=doc_id, title=title, text=text, source="synthetic-fill"), chunks


def _random_signature(rng: np.random.Generator) -> str:
    """A signature in the copy index's format (`index.copies.encode`) that matches no stored article."""
    return base64.b64encode(rng.integers(0, 2**32, PERMUTATIONS, dtype=np.uint64).astype("<u4").tobytes()).decode("ascii")


def fill(data: Path, target: int, noise: float = 0.6, seed: int = 0, batch_articles: int = 100) -> dict[str, float]:
    """Add synthetic articles to the embedded store at `data` until it holds `target` chunks."""
    store = Store(data, None, Embedder.name, Embedder.dimension)
    rng = np.random.default_rng(seed)
    base = real_vectors(store, SAMPLE_VECTORS, rng)
    have = store.chunks.count()
    # Numbered on from the fill articles already stored, so a later step adds new ones.
    first = len(store.documents.get(where={"source": "synthetic-fill"}, include=[])["ids"])
    n, added, started, last = first, 0, time.perf_counter(), 0.0
    while have + added < target:
        items = []
        for _ in range(batch_articles):
            doc, chunks = synthetic_document(n)
            picks = base[rng.integers(0, len(base), len(chunks))]
            vectors = picks + noise * rng.standard_normal(picks.shape).astype(np.float32) / np.sqrt(picks.shape[1])
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            items.append((doc, chunks, vectors))
            n += 1
            added += len(chunks)
            if have + added >= target:
                break
        # Each its own story (the synthetic facts are unique). Its signature is random rather than
        # computed from the text (half the fill's time): a unique story's signature matches no other
        # either, and the copy index stores and loads it like any other.
        store.put_documents(items, {doc.id: {"copy_group": doc.id, "minhash": _random_signature(rng)} for doc, _, _ in items})
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            rate = added / (last - started)
            print(f"  fill: {have + added:,} chunks ({rate:.0f} chunks/s)", file=sys.stderr, flush=True)
    return {"used": 0, "added": added, "seconds": time.perf_counter() - started, "chunks": store.chunks.count(), "filled": True}
