"""BM25 keyword index (bm25s, Snowball-stemmed), derived from the store's chunks."""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path

import numpy as np

from index.store import Store

log = logging.getLogger(__name__)


def tokenize(texts: list[str], *, return_ids: bool = True):
    """The one keyword tokenisation (English stop words, Snowball stems): the index, training and calibration share it."""
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=return_ids, show_progress=False)


class KeywordIndex:
    """A BM25 index over every chunk in the store, rebuilt whenever the store changes.

    The index is derived data: it is saved under `cache_dir` stamped with the store's
    generation, and anything missing, stale or unreadable there is rebuilt from the store.
    """

    def __init__(self, store: Store, cache_dir: Path | None):
        self.store = store
        self.cache_dir = cache_dir
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._retriever = None
        self._ids: list[str] = []
        self._meta: list[dict] = []

    def refresh(self) -> None:
        generation = self.store.generation()
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            if not self._load(generation):
                self._build(generation)

    def _load(self, generation: str) -> bool:
        if self.cache_dir is None:
            return False
        folder = self.cache_dir / "bm25"
        try:
            stamp = json.loads((folder / "stamp.json").read_text())
            if stamp.get("generation") != generation:
                return False
            import bm25s

            ids_meta = json.loads((folder / "chunks.json").read_text())
            retriever = bm25s.BM25.load(str(folder / "index")) if ids_meta["ids"] else None
        except Exception as exc:  # noqa: BLE001 - any damage means: rebuild from the store
            if (folder / "stamp.json").exists():
                log.warning("keyword index unreadable (%s); rebuilding from the store", exc)
            return False
        self._ids, self._meta, self._retriever = ids_meta["ids"], ids_meta["meta"], retriever
        self._generation = generation
        return True

    def _build(self, generation: str) -> None:
        import bm25s

        ids, texts, metas = [], [], []
        for cid, text, meta in self.store.all_chunks():
            ids.append(cid)
            texts.append(text)
            metas.append({k: meta.get(k) for k in ("doc_id", "source", "published")})
        retriever = None
        if ids:
            retriever = bm25s.BM25()
            retriever.index(tokenize(texts), show_progress=False)
        self._ids, self._meta, self._retriever = ids, metas, retriever
        self._generation = generation
        if self.cache_dir is not None:
            self._save(generation)

    def _save(self, generation: str) -> None:
        folder = self.cache_dir / "bm25"
        tmp = self.cache_dir / f"bm25.tmp-{generation}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self._retriever is not None:
            self._retriever.save(str(tmp / "index"))
        (tmp / "chunks.json").write_text(json.dumps({"ids": self._ids, "meta": self._meta}))
        (tmp / "stamp.json").write_text(json.dumps({"generation": generation}))
        # Swap whole folders so a reader never sees half of an index.
        old = self.cache_dir / f"bm25.old-{generation}"
        if folder.exists():
            folder.rename(old)
        tmp.rename(folder)
        shutil.rmtree(old, ignore_errors=True)

    def __len__(self) -> int:
        return len(self._ids)

    def search(self, query: str, k: int, allowed: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25; `allowed` is a 0/1 mask over chunks (metadata filters)."""
        self.refresh()
        retriever, ids = self._retriever, self._ids
        if retriever is None or not ids:
            return []
        tokens = tokenize([query])
        if not tokens.ids or not tokens.ids[0]:
            return []
        k = min(k, len(ids))
        kwargs = {"weight_mask": allowed.astype(np.float32)} if allowed is not None else {}
        docs, scores = retriever.retrieve(tokens, k=k, show_progress=False, n_threads=1, **kwargs)
        return [(ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def mask(self, predicate) -> np.ndarray:
        self.refresh()
        return np.array([1.0 if predicate(m) else 0.0 for m in self._meta], dtype=np.float32)
