"""Derived ids resolve by lookups (a partial catalog) exactly as with every claim, for small and large writes."""

from __future__ import annotations

from pathlib import Path

from index.documents import Document
from index.embed import Embedder
from index.ids import Catalog, Claim
from index.ingest import Indexer
from index.store import Store


def test_a_partial_catalog_resolves_like_the_full_one_or_asks_for_it() -> None:
    taken = {i: Claim("other", None, "x.txt") for i in Catalog.candidates("news", "abcdef0123456789")}
    full, partial = Catalog(taken), Catalog(taken, complete=False)
    assert partial.resolve("news", "abcdef0123456789", None, "y.txt") is None  # past the numbered forms it was given
    assert full.resolve("news", "abcdef0123456789", None, "y.txt") == f"news-abcdef0123456789-{2 + Catalog.NUMBERED}"
    few = {"news": Claim("other", None, "x.txt")}
    assert Catalog(few, complete=False).resolve("news", "abcdef0123456789", None, "y.txt") == Catalog(few).resolve("news", "abcdef0123456789", None, "y.txt")


def test_one_posted_article_never_replaces_another_with_the_same_title(tmp_path: Path) -> None:
    store = Store(tmp_path / "data", None, Embedder.name, Embedder.dimension)
    indexer = Indexer(store, Embedder(), tmp_path / "data")
    first = indexer.add([Document("news", "News", "The first article about the harbour.", "pasted", derived_id=True)])
    second = indexer.add([Document("news", "News", "A different article about the school.", "pasted", derived_id=True)])
    again = indexer.add([Document("news", "News", "The first article about the harbour.", "pasted", derived_id=True)])
    assert first.added == ["news"] and second.added[0].startswith("news-") and again.unchanged == ["news"]
    assert sorted(d.doc_id for d in store.list_documents()) == sorted(["news", second.added[0]])


def test_a_large_write_looks_up_its_ids_and_never_reads_every_claim(tmp_path: Path) -> None:
    """Growing an archive batch by batch must not read the whole store per batch (quadratic at 100k chunks)."""
    store = Store(tmp_path / "data", None, Embedder.name, Embedder.dimension)
    indexer = Indexer(store, Embedder(), tmp_path / "data")
    first = indexer.add([Document(f"story-{i}", f"Story {i}", f"Harbour note number {i}.", "feed.jsonl", derived_id=True, origin="feed.jsonl") for i in range(30)])

    def refuse():
        raise AssertionError("a write read every stored claim")

    store.claims = refuse  # type: ignore[method-assign]
    # The same file again (unchanged), new titles that clash with stored ids, and a brand-new id.
    again = indexer.add([Document(f"story-{i}", f"Story {i}", f"Harbour note number {i}.", "feed.jsonl", derived_id=True, origin="feed.jsonl") for i in range(30)])
    clashes = indexer.add([Document(f"story-{i}", f"Story {i}", f"A different school note {i}.", "pasted", derived_id=True) for i in range(25)])
    assert len(first.added) == 30 and len(again.unchanged) == 30
    assert len(clashes.added) == 25 and all(i.startswith("story-") and i.count("-") == 2 for i in clashes.added)
    assert len(store.list_documents()) == 55
