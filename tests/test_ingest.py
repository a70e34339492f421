"""Ingest writes in batches: every batch lands in order with its own vectors, and a failure keeps the batches before it."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from index.chunk import indexed_text
from index.documents import Document
from index.embed import Embedder
from index.ingest import Indexer
from index.store import Store

WORDS = ["harbour", "school", "bridge", "library", "market", "station", "museum", "stadium"]


def docs(n: int) -> list[Document]:
    return [
        Document(f"story-{i}", f"Story {i}", f"The {WORDS[i % 8]} of town {i} opened on day {i}. It cost {i} million.", f"{i}.txt")
        for i in range(n)
    ]


class Watched:
    """The real embedder, counting the calls under way and failing the call numbered `fail_at`."""

    def __init__(self, embedder: Embedder, fail_at: int | None = None):
        self.embedder, self.fail_at = embedder, fail_at
        self.calls = self.running = self.most_running = 0
        self.lock = threading.Lock()

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.embedder.count_tokens(texts)

    def __call__(self, texts: list[str]) -> np.ndarray:
        with self.lock:
            self.calls += 1
            self.running += 1
            self.most_running = max(self.most_running, self.running)
            call = self.calls
        try:
            if call == self.fail_at:
                raise RuntimeError("embedder failed")
            return self.embedder(texts)
        finally:
            with self.lock:
                self.running -= 1


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    e = Embedder()
    e.warm_up()
    return e


def indexer(tmp_path: Path, embedder: Watched) -> Indexer:
    store = Store(tmp_path / "data", None, Embedder.name, Embedder.dimension)
    return Indexer(store, embedder, tmp_path / "data", embed_batch_chunks=3)  # type: ignore[arg-type]


def test_every_batch_is_written_in_order_with_its_own_vectors(tmp_path: Path, embedder: Embedder) -> None:
    watched = Watched(embedder)
    ix = indexer(tmp_path, watched)
    given = docs(20)
    report = ix.add(given)
    assert report.added == [d.id for d in given] and report.chunks == 20
    assert watched.calls == 7 and watched.most_running == 1  # batches of 3 chunks, one embedded at a time
    stored = ix.store.chunks.get(include=["embeddings", "documents", "metadatas"])
    assert len(stored["ids"]) == 20
    by_doc = {m["doc_id"]: np.asarray(v) for m, v in zip(stored["metadatas"], stored["embeddings"])}
    for d in given:  # each chunk stored with the vector of its own text, not a neighbour's
        assert float(by_doc[d.id] @ embedder([indexed_text(d.title, d.text)])[0]) > 0.9999


def test_a_failed_write_keeps_the_batches_before_it_and_a_rerun_adds_the_rest(tmp_path: Path, embedder: Embedder) -> None:
    watched = Watched(embedder)
    ix = indexer(tmp_path, watched)
    real, writes = ix.store.put_documents, []

    def put_documents(items, extra):
        writes.append([doc.id for doc, _, _ in items])
        if len(writes) == 3:
            raise OSError("disk full")
        return real(items, extra)

    ix.store.put_documents = put_documents  # type: ignore[method-assign]
    with pytest.raises(OSError, match="disk full"):
        ix.add(docs(20))
    assert sorted(d.doc_id for d in ix.store.list_documents()) == sorted(writes[0] + writes[1])
    ix.store.put_documents = real  # type: ignore[method-assign]
    assert ix.add(docs(20)).added == [d.id for d in docs(20) if d.id not in writes[0] + writes[1]]  # a re-run adds the rest


def test_a_failed_embedding_keeps_the_batches_before_it(tmp_path: Path, embedder: Embedder) -> None:
    watched = Watched(embedder, fail_at=3)
    ix = indexer(tmp_path, watched)
    with pytest.raises(RuntimeError, match="embedder failed"):
        ix.add(docs(20))
    assert sorted(d.doc_id for d in ix.store.list_documents()) == sorted(d.id for d in docs(6))
