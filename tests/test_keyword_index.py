"""The incremental keyword index: writes, deletes and crashes leave it and the store in agreement."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from index.documents import Document
from index.embed import Embedder
from index.feed import Changes
from index.ingest import Indexer
from index.keyword import KeywordIndex
from index.store import Store
from tests.conftest import ROOT, ChromaServer

WORDS = ["zebrafinch", "quokkaland", "narwhalia", "axolotlburg", "pangolinton"]


def doc(n: int, word: str | None = None) -> Document:
    word = word or WORDS[n]
    return Document(id=f"doc-{n}", title=f"Story {n}", text=f"Story {n}. The council of {word} met on Monday.\n\nIt voted to build a bridge.", source=f"s{n}.txt")


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    e = Embedder()
    e.warm_up()
    return e


@pytest.fixture(params=["embedded", pytest.param("server", marks=[pytest.mark.slow, pytest.mark.server])])
def chroma_url(request, tmp_path) -> Iterator[str | None]:
    if request.param == "embedded":
        yield None
        return
    server = ChromaServer(tmp_path / "chroma")
    try:
        yield server.url
    finally:
        server.stop()


def open_store(tmp_path: Path, url: str | None) -> Store:
    return Store(tmp_path / "data", url, Embedder.name, Embedder.dimension)


def agree(index: KeywordIndex, store: Store) -> None:
    index.refresh()
    assert sorted(index.chunk_ids()) == sorted(cid for cid, _, _ in store.all_chunks())


def found(index: KeywordIndex, word: str) -> set[str]:
    return {cid.split("::")[0] for cid, _ in index.search(word, 5)}


def no_full_reads(store: Store) -> None:
    def refuse() -> None:
        raise AssertionError("the keyword index re-read the whole store")

    store.all_chunks = refuse  # type: ignore[method-assign]


def test_writes_and_deletes_reach_every_process_incrementally(tmp_path: Path, chroma_url: str | None, embedder: Embedder) -> None:
    writer = open_store(tmp_path, chroma_url)
    indexer = Indexer(writer, embedder, tmp_path / "writer")
    indexer.add([doc(0), doc(1), doc(2)])
    # Two processes with their own index files (as two API replicas on two machines).
    replicas = [KeywordIndex(open_store(tmp_path, chroma_url), tmp_path / f"replica{i}") for i in range(2)]
    for r in replicas:
        agree(r, writer)
        assert found(r, WORDS[1]) == {"doc-1"}
        no_full_reads(r.store)
        r.overlap_us = 0  # changes already seen are not re-read: each write must announce itself

    indexer.add([doc(3)])  # a new document
    indexer.add([doc(1, "pangolinton")])  # a replaced one: its old words are gone
    assert writer.delete_document("doc-0")
    for r in replicas:
        agree(r, writer)
        assert found(r, WORDS[3]) == {"doc-3"}
        assert found(r, "pangolinton") == {"doc-1"} and found(r, WORDS[1]) == set()
        assert found(r, WORDS[0]) == set()
        assert len(r) == writer.count()[1]


CRASH_SYNC = """
import os, sys
from pathlib import Path
from index.embed import Embedder
from index.feed import Changes
from index.keyword import KeywordIndex
from index.store import Store
url = sys.argv[2] or None
index = KeywordIndex(Store(Path(sys.argv[1]) / "data", url, Embedder.name, Embedder.dimension), Path(sys.argv[1]) / "kw")
KeywordIndex._insert = staticmethod(lambda db, items: os._exit(9))  # killed after the old rows went, before the new ones
index.refresh()
"""

CRASH_WRITE = """
import os, sys
from pathlib import Path
from index.documents import Document
from index.embed import Embedder
from index.feed import Changes
from index.ingest import Indexer
from index.store import Store
url = sys.argv[2] or None
store = Store(Path(sys.argv[1]) / "data", url, Embedder.name, Embedder.dimension)
store.documents.upsert = lambda **kw: os._exit(9)  # killed after the new chunks, before the document record
Indexer(store, Embedder(), Path(sys.argv[1]) / "data").add([Document(id="doc-2", title="Story 2", text="The council of axolotlburg met again.\\n\\nNew chunks.", source="s2.txt")])
"""


def run_crash(script: str, tmp_path: Path, url: str | None) -> None:
    proc = subprocess.run([sys.executable, "-c", script, str(tmp_path), url or ""], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 9, proc.stderr[-2000:]


def test_crash_in_the_middle_of_a_sync_or_a_write(tmp_path: Path, chroma_url: str | None, embedder: Embedder) -> None:
    writer = open_store(tmp_path, chroma_url)
    indexer = Indexer(writer, embedder, tmp_path / "writer")
    indexer.add([doc(0), doc(1)])
    index = KeywordIndex(open_store(tmp_path, chroma_url), tmp_path / "kw")
    agree(index, writer)

    # A process dies inside its sync: the transaction rolls back and the next sync redoes it.
    indexer.add([doc(2)])
    run_crash(CRASH_SYNC, tmp_path, chroma_url)
    fresh = KeywordIndex(open_store(tmp_path, chroma_url), tmp_path / "kw")
    agree(fresh, writer)
    assert found(fresh, WORDS[2]) == {"doc-2"}

    # A writer dies between its chunks and its document record: nothing announced, nothing indexed;
    # the next ingest redoes the document and the index follows.
    run_crash(CRASH_WRITE, tmp_path, chroma_url)
    assert found(fresh, WORDS[2]) == {"doc-2"}
    indexer.add([Document(id="doc-2", title="Story 2", text="The council of axolotlburg met again.\n\nNew chunks.", source="s2.txt")])
    agree(fresh, writer)
    assert found(fresh, "axolotlburg") == {"doc-2"} and found(fresh, WORDS[2]) == set()


def test_a_replica_behind_the_pruned_feed_rebuilds(tmp_path: Path, chroma_url: str | None, embedder: Embedder) -> None:
    writer = open_store(tmp_path, chroma_url)
    indexer = Indexer(writer, embedder, tmp_path / "writer")
    indexer.add([doc(0), doc(1), doc(2)])
    replica = KeywordIndex(open_store(tmp_path, chroma_url), tmp_path / "replica")
    agree(replica, writer)

    # The replica is away while a delete and a write happen and the feed is pruned past both.
    assert writer.delete_document("doc-0")
    indexer.add([doc(3)])
    writer.feed.prune(writer.latest_change())  # only the last write's record is left
    assert [d for _, d, _ in writer.feed.since(0).items] == ["doc-3"] and not writer.feed.since(0).reach_back_to(0)
    agree(replica, writer)  # replaying the feed would miss both: it reads the store again
    assert found(replica, WORDS[0]) == set() and found(replica, WORDS[3]) == {"doc-3"}

    # After the rebuild it follows the feed again, write by write (the cut was made a moment
    # ago, not a week ago, so this checks the watermark is not left behind it).
    no_full_reads(replica.store)
    indexer.add([doc(4)])
    replica.refresh()
    assert found(replica, WORDS[4]) == {"doc-4"}


def test_the_feed_keeps_one_record_per_write_and_prunes_past_its_retention(tmp_path: Path, embedder: Embedder) -> None:
    store = open_store(tmp_path, None)
    indexer = Indexer(store, embedder, tmp_path / "writer")
    indexer.add([Document(id=f"d{n}", title=f"T {n}", text=f"Article {n} about {WORDS[n % 5]}.", source=f"{n}.txt") for n in range(30)])
    changes = store.feed.since(store.feed.horizon())  # a week before the first write
    assert changes.reach_back_to(store.feed.horizon()) and sorted(d for _, d, _ in changes.items) == sorted(f"d{n}" for n in range(30))
    records = store.feed.collection.get(where={"n": {"$gte": 1}}, include=[])["ids"]  # not counting the markers
    assert len(records) == len({cid for cid, _, _ in changes.items}) == 1

    # Past the retention period, the next write prunes what is older and marks the cut.
    before = store.latest_change()
    store.feed.retention_us = 0
    store.feed.prune_every_us = 0
    indexer.add([doc(0)])
    assert [d for _, d, _ in store.feed.since(0).items] == ["doc-0"]
    assert store.feed.horizon() > before and not store.feed.since(before).reach_back_to(before)


def test_changes_recorded_one_per_document_by_earlier_versions_are_still_read(tmp_path: Path) -> None:
    store = open_store(tmp_path, None)
    store.feed.collection.add(ids=["old"], embeddings=[[0.0]], metadatas=[{"doc_id": "doc-9", "at": 5}])
    assert store.feed.since(0) == Changes([("old", "doc-9", 5)], horizon=0)
