"""BM25 keyword index (SQLite FTS5 over Snowball stems), kept current from the store's change feed."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from index.chunk import indexed_text
from index.store import Store

log = logging.getLogger(__name__)

# Changes are re-read this far behind the newest one applied: a writer whose change was
# stamped earlier may land later (another process, another machine's clock). Re-applying a
# document is idempotent, so the overlap only costs a little repeated work.
OVERLAP_US = 120_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks(rowid INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL, doc_id TEXT NOT NULL, source TEXT, published INTEGER);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5(stems, tokenize='unicode61 remove_diacritics 0');
CREATE TABLE IF NOT EXISTS applied(change_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def tokenize(texts: list[str], *, return_ids: bool = True):
    """The one keyword tokenisation (English stop words, Snowball stems): the index, training and calibration share it."""
    import bm25s
    import Stemmer

    return bm25s.tokenize(texts, stopwords="en", stemmer=Stemmer.Stemmer("english"), return_ids=return_ids, show_progress=False)


def stems(texts: list[str]) -> list[str]:
    """Each text as its stems joined by spaces: what FTS5 indexes and matches, so its own tokeniser only splits on spaces."""
    return [" ".join(t) for t in tokenize(texts, return_ids=False)] if texts else []


class KeywordIndex:
    """BM25 over every chunk in the store, updated in place by what changed.

    The index is derived data in one SQLite file per store, in `folder`.
    A process learns what changed since it last looked from the store's change feed (every
    write records the documents it touched), so a write costs time in proportion to the
    write, in every process and every API replica. A missing or damaged file is rebuilt
    from the store. Processes sharing the file sync it in one write transaction each.
    """

    def __init__(self, store: Store, folder: Path):
        self.store = store
        self.path = folder / f"keyword-{store.identity}.sqlite3"
        self._lock = threading.Lock()
        self._local = threading.local()  # one connection per thread: SQLite readers run side by side
        self._epoch = 0  # bumped when a damaged file is replaced, so every thread reconnects
        self._generation: str | None = None
        self.overlap_us = OVERLAP_US

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or self._local.epoch != self._epoch:
            if db is not None:
                db.close()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            self._local.db, self._local.epoch = db, self._epoch
        return db

    def _reset_file(self) -> None:
        """Drop a damaged file (and its WAL) so the next connection starts empty."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._epoch += 1

    # -- keeping current ---------------------------------------------------------------
    def refresh(self) -> None:
        """Apply the store's changes since the last look (nothing to do when its generation is unchanged)."""
        generation = self.store.generation()
        if generation == self._generation:
            return
        with self._lock:
            if generation == self._generation:
                return
            try:
                self._sync()
            except sqlite3.DatabaseError as exc:
                log.warning("keyword index unreadable (%s); rebuilding from the store", exc)
                self._reset_file()
                self._sync()
            self._generation = generation

    def _sync(self) -> None:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")  # one process at a time; a crash rolls back to the last sync
        try:
            row = db.execute("SELECT value FROM state WHERE key = 'watermark'").fetchone()
            if row is None:
                self._rebuild(db)
            else:
                self._apply(db, int(row[0]))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _rebuild(self, db: sqlite3.Connection) -> None:
        # Taken before reading: changes that land while the chunks are read are applied again next time.
        watermark = self.store.latest_change()
        db.execute("DELETE FROM chunks")
        db.execute("DELETE FROM fts")
        db.execute("DELETE FROM applied")
        batch: list[tuple[str, str, dict]] = []
        for item in self.store.all_chunks():
            batch.append(item)
            if len(batch) >= 2000:
                self._insert(db, batch)
                batch = []
        self._insert(db, batch)
        db.execute("INSERT OR REPLACE INTO state(key, value) VALUES ('watermark', ?)", (watermark,))
        log.info("keyword index rebuilt from the store: %d chunks", len(self))

    def _apply(self, db: sqlite3.Connection, watermark: int) -> None:
        changes = self.store.changes_since(watermark - self.overlap_us)
        applied = {r[0] for r in db.execute("SELECT change_id FROM applied WHERE at >= ?", (watermark - self.overlap_us,))}
        new = [(cid, doc_id, at) for cid, doc_id, at in changes if cid not in applied]
        if not new:
            return
        doc_ids = list(dict.fromkeys(doc_id for _, doc_id, _ in new))
        # Whatever the change was (added, replaced, deleted), the document's chunks become what the store holds now.
        for b in range(0, len(doc_ids), 500):
            part = doc_ids[b : b + 500]
            marks = ",".join("?" * len(part))
            db.execute(f"DELETE FROM fts WHERE rowid IN (SELECT rowid FROM chunks WHERE doc_id IN ({marks}))", part)
            db.execute(f"DELETE FROM chunks WHERE doc_id IN ({marks})", part)
        self._insert(db, list(self.store.chunks_of(doc_ids)))
        db.executemany("INSERT OR IGNORE INTO applied(change_id, at) VALUES (?, ?)", [(cid, at) for cid, _, at in new])
        watermark = max(watermark, max(at for _, _, at in new))
        db.execute("UPDATE state SET value = ? WHERE key = 'watermark'", (watermark,))
        db.execute("DELETE FROM applied WHERE at < ?", (watermark - self.overlap_us,))

    @staticmethod
    def _insert(db: sqlite3.Connection, items: list[tuple[str, str, dict]]) -> None:
        if not items:
            return
        start = db.execute("SELECT COALESCE(MAX(rowid), 0) + 1 FROM chunks").fetchone()[0]
        rows = [(start + n, cid, str(m.get("doc_id")), m.get("source"), m.get("published")) for n, (cid, _, m) in enumerate(items)]
        db.executemany("INSERT INTO chunks(rowid, chunk_id, doc_id, source, published) VALUES (?, ?, ?, ?, ?)", rows)
        texts = [indexed_text(str(m.get("title") or ""), t) for _, t, m in items]
        db.executemany("INSERT INTO fts(rowid, stems) VALUES (?, ?)", zip((r[0] for r in rows), stems(texts)))

    # -- reading -------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._connect().execute("SELECT COUNT(*) FROM chunks").fetchone()[0]

    def chunk_ids(self) -> list[str]:
        self.refresh()
        return [r[0] for r in self._connect().execute("SELECT chunk_id FROM chunks")]

    def search(self, query: str, k: int, accepts: Callable[[dict], bool] | None = None) -> list[tuple[str, float]]:
        """Top-k chunk ids by BM25 (higher is better); `accepts` filters on a chunk's metadata."""
        self.refresh()
        terms = dict.fromkeys(stems([query])[0].split())
        if not terms or k <= 0:
            return []
        match = " OR ".join(f'"{t}"' for t in terms)
        db = self._connect()
        where = "fts MATCH ?"
        if accepts is not None:
            db.create_function("accepts", 3, lambda d, s, p: accepts({"doc_id": d, "source": s, "published": p}), deterministic=True)
            where += " AND accepts(c.doc_id, c.source, c.published)"
        rows = db.execute(
            f"SELECT c.chunk_id, -bm25(fts) AS score FROM fts JOIN chunks c ON c.rowid = fts.rowid WHERE {where} ORDER BY bm25(fts) LIMIT ?",
            (match, k),
        ).fetchall()
        return [(cid, float(score)) for cid, score in rows if score > 0]
