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


def test_a_repeated_id_in_one_write_keeps_the_first_and_stores_the_rest(tmp_path: Path, embedder: Embedder) -> None:
    given = docs(6)
    again = Document("story-2", "Story 2, corrected", "The bridge of town 2 closed on day 9.", "2.txt")
    report = indexer(tmp_path, Watched(embedder)).add([*given[:4], again, *given[4:]])
    assert report.added == [d.id for d in given]
    assert [(f.source, f.reason) for f in report.failed] == [("2.txt", "duplicate document id 'story-2' in one write: kept the first")]
    store = Store(tmp_path / "data", None, Embedder.name, Embedder.dimension)
    assert sorted(d.doc_id for d in store.list_documents()) == sorted(d.id for d in given)
    assert store.get_documents(["story-2"])["story-2"].title == "Story 2"


def test_a_jsonl_repeating_an_id_is_stored_but_for_the_repeat(tmp_path: Path) -> None:
    """Over HTTP (an upload) and from a file (`qa ingest`): the other records are stored, the repeat is reported."""
    import json

    from fastapi.testclient import TestClient

    from api.app import create_app
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    lines = [{"id": "a", "title": "A", "text": "The harbour reopened."}, {"id": "b", "title": "B", "text": "The bridge closed."},
             {"id": "a", "title": "A again", "text": "The harbour closed again."}, {"id": "c", "title": "C", "text": "The market moved."}]
    data = "\n".join(json.dumps(line) for line in lines).encode()
    # No lifespan: writes need only the embedder, not the reader's warm-up.
    client = TestClient(create_app(Settings(data_dir=tmp_path / "served", sample_corpus=False)))
    r = client.post("/documents/upload", files={"file": ("news.jsonl", data)})
    assert r.status_code == 200, r.text
    assert r.json()["added"] == ["a", "b", "c"]
    assert r.json()["failed"] == [{"source": "news.jsonl", "reason": "duplicate document id 'a' in one write: kept the first"}]
    assert client.get("/documents/a").json()["title"] == "A"

    (tmp_path / "news.jsonl").write_bytes(data)
    pipe = Pipeline(Settings(data_dir=tmp_path / "cli", sample_corpus=False))
    report = pipe.ingest_paths([tmp_path / "news.jsonl"])
    assert report.added == ["a", "b", "c"] and len(report.failed) == 1 and "kept the first" in report.failed[0].reason
