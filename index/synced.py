"""Derived indexes in SQLite, kept current from the store's change feed (the keyword index, the copy index)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from index.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

# Changes are re-read this far behind the newest one applied: a writer whose change was
# stamped earlier may land later (another process, another machine's clock). Re-applying a
# document is idempotent, so the overlap only costs a little repeated work.
OVERLAP_US = 120_000_000

_SYNC_SCHEMA = """
CREATE TABLE IF NOT EXISTS applied(change_id TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS state(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class SyncedIndex:
    """One SQLite file per store and kind, derived from the store and updated by what changed.

    A process learns what changed since it last looked from the store's change feed (every
    write records the documents it touched), so a write costs time in proportion to the
    write, in every process and every API replica. A missing or damaged file is rebuilt
    from the store, and so is one older than the feed's horizon (a replica down longer than
    the feed is kept). Processes sharing the file sync it in one write transaction each.
    Subclasses give the schema, how to load everything and how to redo some documents.
    """

    KIND = ""
    SCHEMA = ""

    def __init__(self, store: Store, folder: Path):
        self.store = store
        self.path = folder / f"{self.KIND}-{store.identity}.sqlite3"
        self._lock = threading.RLock()
        self._local = threading.local()  # one connection per thread: SQLite readers run side by side
        self._epoch = 0  # bumped when a damaged file is replaced, so every thread reconnects
        self._generation: str | None = None
        self.overlap_us = OVERLAP_US

    # -- what a subclass gives ------------------------------------------------------------
    # Statements that remove documents' rows; `{marks}` stands for their ids' placeholders.
    DELETES: tuple[str, ...] = ()
    LOAD_BATCH = 500

    def _clear(self, db: sqlite3.Connection) -> None:
        raise NotImplementedError

    def _everything(self) -> Iterator:
        """Every stored item the index is made of, in the form `_insert` takes."""
        raise NotImplementedError

    def _records_of(self, doc_ids: list[str]) -> Iterator:
        """The stored items of these documents (none for a deleted one)."""
        raise NotImplementedError

    def _insert(self, db: sqlite3.Connection, items: list) -> None:
        raise NotImplementedError

    # -- loading and replacing ---------------------------------------------------------
    def _load_all(self, db: sqlite3.Connection) -> None:
        batch: list = []
        for item in self._everything():
            batch.append(item)
            if len(batch) >= self.LOAD_BATCH:
                self._insert(db, batch)
                batch = []
        self._insert(db, batch)

    def _replace(self, db: sqlite3.Connection, doc_ids: list[str]) -> None:
        """These documents become what the store holds now (added, replaced or deleted alike)."""
        for b in range(0, len(doc_ids), 500):
            part = doc_ids[b : b + 500]
            marks = ",".join("?" * len(part))
            for statement in self.DELETES:
                db.execute(statement.format(marks=marks), part)
            self._insert(db, list(self._records_of(part)))

    # -- connections ---------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or self._local.epoch != self._epoch:
            if db is not None:
                db.close()
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SYNC_SCHEMA + self.SCHEMA)
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

    def _read(self, query: Callable[[sqlite3.Connection], T], fallback: T) -> T:
        """Run a read on the file; a damaged file (truncated, overwritten) is rebuilt from the store and the read
        run again, and should that fail too the read gives `fallback`: a derived index never fails its caller."""
        try:
            return query(self._connect())
        except sqlite3.DatabaseError as exc:
            log.warning("%s index unreadable (%s); rebuilding from the store", self.KIND, exc)
        try:
            with self._lock:
                self._reset_file()
                self._generation = None
                self.refresh()
            return query(self._connect())
        except sqlite3.DatabaseError as exc:
            log.error("%s index still unreadable after a rebuild (%s); answering without it", self.KIND, exc)
            return fallback

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
                log.warning("%s index unreadable (%s); rebuilding from the store", self.KIND, exc)
                self._reset_file()
                self._sync()
            self._generation = generation

    def _sync(self) -> None:
        db = self._connect()
        db.execute("BEGIN IMMEDIATE")  # one process at a time; a crash rolls back to the last sync
        try:
            row = db.execute("SELECT value FROM state WHERE key = 'watermark'").fetchone()
            if row is None or not self._apply(db, int(row[0])):
                self._rebuild(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def _rebuild(self, db: sqlite3.Connection) -> None:
        # Taken before reading: changes that land while the store is read are applied again next time.
        # Never behind the feed's horizon: the store read is newer than anything pruned.
        watermark = max(self.store.latest_change(), self.store.feed.horizon())
        self._clear(db)
        db.execute("DELETE FROM applied")
        self._load_all(db)
        db.execute("INSERT OR REPLACE INTO state(key, value) VALUES ('watermark', ?)", (watermark,))
        log.info("%s index rebuilt from the store: %d entries", self.KIND, len(self))

    def _apply(self, db: sqlite3.Connection, watermark: int) -> bool:
        """Apply the changes since the watermark; False when the feed no longer reaches back that far."""
        changes = self.store.feed.since(watermark - self.overlap_us)
        # The overlap re-reads late arrivals; the feed must reach back to the watermark itself.
        if not changes.reach_back_to(watermark):
            log.info("%s index is older than the change feed's horizon", self.KIND)
            return False
        applied = {r[0] for r in db.execute("SELECT change_id FROM applied WHERE at >= ?", (watermark - self.overlap_us,))}
        new = [(cid, doc_id, at) for cid, doc_id, at in changes.items if cid not in applied]
        if not new:
            return True
        self._replace(db, list(dict.fromkeys(doc_id for _, doc_id, _ in new)))
        db.executemany("INSERT OR IGNORE INTO applied(change_id, at) VALUES (?, ?)", [(cid, at) for cid, _, at in new])
        watermark = max(watermark, max(at for _, _, at in new))
        db.execute("UPDATE state SET value = ? WHERE key = 'watermark'", (watermark,))
        db.execute("DELETE FROM applied WHERE at < ?", (watermark - self.overlap_us,))
        return True

    def __len__(self) -> int:
        raise NotImplementedError
