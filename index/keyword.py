"""BM25 keyword index (SQLite FTS5 over Snowball stems), kept current from the store's change feed."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator

from index.chunk import indexed_text
from index.synced import SyncedIndex

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks(rowid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL, source TEXT, published INTEGER);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(stems, tokenize='unicode61 remove_diacritics 0');
"""


def tokenize(texts: list[str], *, return_ids: bool = True):
    """The one keyword tokenisation (English stop words, Snowball stems): the index, training and calibration share it."""
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=return_ids, show_progress=False)


def stems(texts: list[str]) -> list[str]:
    """Each text as its stems joined by spaces: what FTS5 indexes and matches, so its own tokeniser only splits on spaces."""
    return [" ".join(t) for t in tokenize(texts, return_ids=False)] if texts else []


class KeywordIndex(SyncedIndex):
    """BM25 over every chunk in the store, updated in place by what changed (see `SyncedIndex`)."""

    KIND = "keyword"
    SCHEMA = _SCHEMA
    LOAD_BATCH = 2000
    DELETES = (
        "DELETE FROM fts WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id IN ({marks}))",
        "DELETE FROM chunks WHERE doc_id IN ({marks})",
    )

    def _clear(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM chunks")
        db.execute("DELETE FROM fts")

    def _everything(self) -> Iterator[tuple[str, str, dict]]:
        return self.store.all_chunks()

    def _records_of(self, doc_ids: list[str]) -> Iterator[tuple[str, str, dict]]:
        return self.store.chunks_of(doc_ids)

    def _insert(self, db: sqlite3.Connection, items: list[tuple[str, str, dict]]) -> None:
        if not items:
            return
        start = db.execute("SELECT COALESCE(MAX(rowid), 0) + 1 FROM chunks").fetchone()[0]
        rows = [(start + n, cid, str(m.get("doc_id")), m.get("source"), m.get("published")) for n, (cid, _, m) in enumerate(items)]
        db.executemany("INSERT INTO chunks(rowid, chunk_id, doc_id, source, published) VALUES (?, ?, ?, ?, ?)", rows)
        texts = [indexed_text(str(m.get("title") or ""), t) for _, t, m in items]
        db.executemany("INSERT INTO fts(rowid, stems) VALUES (?, ?)", zip((r[0] for r in rows), stems(texts)))

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._read(lambda db: db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0], 0)

    def chunk_ids(self) -> list[str]:
        self._read(lambda db: self.refresh(), None)
        return self._read(lambda db: [r[0] for r in db.execute("SELECT chunk_id FROM chunks")], [])

    def search(self, query: str, k: int, accepts: Callable[[dict], bool] | None = None) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25 (higher is better); `accepts` filters on a chunk's metadata.

        A damaged file is rebuilt from the store first; if even that fails, no keyword
        candidates (the question is answered from the dense ones alone), never an error.
        """
        self._read(lambda db: self.refresh(), None)
        terms = dict.fromkeys(stems([query])[0].split())
        if not terms or k <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)

        def run(db: sqlite3.Connection) -> list[tuple[str, float]]:
            where = "fts MATCH ?"
            if accepts is not None:
                db.create_function("accepts", 3, lambda d, s, p: accepts({"doc_id": d, "source": s, "published": p}), deterministic=True)
                where += " AND accepts(c.doc_id, c.source, c.published)"
            rows = db.execute(
                f"SELECT c.chunk_id, -bm25(fts) AS score FROM fts JOIN chunks c ON c.rowid = fts.rowid WHERE {where} ORDER BY bm25(fts) LIMIT ?",
                (match, k),
            ).fetchall()
            return [(cid, float(score)) for cid, score in rows if score > 0]

        return self._read(run, [])
