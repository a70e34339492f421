"""Syndicated copies: near-duplicate articles found by MinHash LSH over word shingles, named by a copy group."""

from __future__ import annotations

import base64
import hashlib
import re
import sqlite3
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from index.store import Store
from index.synced import SyncedIndex

SHINGLE = 5  # words
PERMUTATIONS = 128
# Estimated Jaccard similarity of 5-word shingles at or above which two articles are one story.
# Measured by `python -m eval.copies` (eval/results/copies.md): made copies (re-headlined,
# trimmed 10-20%, boilerplate added, words edited) have a median Jaccard of 0.77 (min 0.34),
# distinct articles on the same topic 0.001 (max 0.29); 0.4 gives precision 0.99 and recall
# 0.97 there (0.3: 0.97 and 0.99, with more updates of one story merged).
THRESHOLD = 0.4
MAX_CANDIDATES = 50  # stored articles compared with a new one: those sharing the most LSH bands
SEED = 1  # every process must draw the same permutations, or stored signatures don't compare
SCHEME = "affine32"  # datasketch >= 2.0; named, since stored hash values carry no trace of it

_WORD = re.compile(r"\w+")


def shingles(text: str, size: int = SHINGLE) -> set[str]:
    """The normalised text's word n-grams (lower case, words only; a short text is one shingle)."""
    words = _WORD.findall(text.lower())
    if len(words) <= size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def signature(text: str) -> LeanMinHash:
    """The text's MinHash, without the permutation tables it was computed with (a quarter of the memory, kept per article)."""
    m = MinHash(num_perm=PERMUTATIONS, seed=SEED, scheme=SCHEME)
    m.update_batch([s.encode("utf-8") for s in shingles(text)])
    return LeanMinHash(m)


def encode(m: LeanMinHash) -> str:
    """A signature as a metadata string (128 uint32 values, base64)."""
    return base64.b64encode(m.hashvalues.astype("<u4").tobytes()).decode("ascii")


def decode(s: str) -> LeanMinHash | None:
    try:
        values = np.frombuffer(base64.b64decode(s, validate=True), dtype="<u4").astype(np.uint32)
    except (ValueError, TypeError):  # binascii.Error is a ValueError
        return None
    if len(values) != PERMUTATIONS:
        return None
    return LeanMinHash(seed=SEED, hashvalues=values, scheme=SCHEME)


_SCHEMA = """
CREATE TABLE IF NOT EXISTS sigs(id INTEGER PRIMARY KEY, doc_id TEXT UNIQUE NOT NULL, grp TEXT NOT NULL, sig BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS bands(key INTEGER NOT NULL, id INTEGER NOT NULL, PRIMARY KEY(key, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS bands_id ON bands(id);
"""


def resembles(a: np.ndarray, b: np.ndarray, threshold: float = THRESHOLD) -> bool:
    """Whether two signatures' Jaccard estimate reaches the threshold: one story."""
    return float(np.count_nonzero(a == b)) / PERMUTATIONS >= threshold


def band_keys(values: np.ndarray, ranges: list[tuple[int, int]]) -> list[int]:
    """One 64-bit key per LSH band: two articles are candidates when any band's key is the same."""
    return [
        int.from_bytes(hashlib.blake2b(bytes([b]) + values[lo:hi].astype("<u4").tobytes(), digest_size=8).digest(), "little", signed=True)
        for b, (lo, hi) in enumerate(ranges)
    ]


class CopyIndex(SyncedIndex):
    """Which stored article a new one copies, across restarts and processes, in SQLite.

    Each article's signature, group and LSH band keys live in a file beside the keyword index,
    kept current from the store's change feed (see `SyncedIndex`): memory does not grow with
    the archive, and a write costs time in proportion to the write. Articles stored before
    copies were detected have no signature in the store: theirs is computed once, from the
    stored text, when the file is built. Articles assigned in this process but not yet in the
    store (the batch being written) are held in memory until the next refresh.
    """

    KIND = "copies"
    SCHEMA = _SCHEMA
    DELETES = ("DELETE FROM bands WHERE id IN (SELECT id FROM sigs WHERE doc_id IN ({marks}))", "DELETE FROM sigs WHERE doc_id IN ({marks})")

    def __init__(self, store: Store | None, folder: Path | None = None, threshold: float = THRESHOLD):
        # No store: nothing stored, only what `assign` is given (measuring the grouping alone), in memory.
        super().__init__(store if store is not None else _NoStore(), folder or Path("."))
        if store is None:
            self.path = Path(":memory:")
        self.threshold = threshold
        self._ranges = MinHashLSH(threshold=threshold, num_perm=PERMUTATIONS).hashranges
        self._pending: dict[str, tuple[str, np.ndarray]] = {}  # doc id -> (group, signature values)
        self._pending_keys: dict[int, set[str]] = {}  # band key -> doc ids in _pending

    # -- SyncedIndex ---------------------------------------------------------------------
    def _clear(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM bands")
        db.execute("DELETE FROM sigs")

    def _everything(self) -> Iterator[tuple[str, dict]]:
        return self.store.copy_records()

    def _records_of(self, doc_ids: list[str]) -> Iterator[tuple[str, dict]]:
        return self.store.copy_records(doc_ids)

    def _insert(self, db: sqlite3.Connection, records: list[tuple[str, dict]]) -> None:
        rows: list[tuple[str, str, np.ndarray]] = []
        legacy: list[str] = []
        for doc_id, meta in records:
            m = decode(str(meta.get("minhash") or ""))
            if m is None:
                legacy.append(doc_id)
            else:
                rows.append((doc_id, str(meta.get("copy_group") or doc_id), m.hashvalues))
        if legacy:
            groups = dict(records)
            for doc_id, doc in self.store.get_documents(legacy).items():
                rows.append((doc_id, str(groups[doc_id].get("copy_group") or doc_id), signature(doc.text).hashvalues))
        for doc_id, group, values in rows:
            row = db.execute("INSERT INTO sigs(doc_id, grp, sig) VALUES (?, ?, ?) RETURNING id", (doc_id, group, values.astype("<u4").tobytes())).fetchone()
            db.executemany("INSERT OR IGNORE INTO bands(key, id) VALUES (?, ?)", [(k, row[0]) for k in band_keys(values, self._ranges)])

    def __len__(self) -> int:
        return self._read(lambda db: db.execute("SELECT COUNT(*) FROM sigs").fetchone()[0], 0)

    # -- writing -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Apply the store's changes; what this process assigned is in the store now (or its write failed)."""
        if isinstance(self.store, _NoStore):
            return  # measuring the grouping alone: what was assigned is the whole index
        with self._lock:
            self._pending.clear()
            self._pending_keys.clear()
            super().refresh()

    def assign(self, doc_id: str, text: str) -> tuple[str, str]:
        """(copy group, encoded signature) for an article about to be written; it joins the index at once.

        The group is that of the most similar stored article at or above the threshold, or
        the article's own id when it copies none (the first article of a group names it).
        An article already stored is judged afresh, against the others.
        """
        m = signature(text)
        values, keys = m.hashvalues, band_keys(m.hashvalues, self._ranges)
        with self._lock:
            candidates: dict[str, tuple[str, np.ndarray]] = {}
            marks = ",".join("?" * len(keys))
            # The stored articles sharing the most bands with this one, at most MAX_CANDIDATES:
            # short texts full of the same boilerplate share bands with thousands of others, and
            # comparing them all cost more than the rest of ingest (eval.scale's padding articles).
            stored = self._read(
                lambda db: db.execute(
                    f"SELECT s.doc_id, s.grp, s.sig FROM sigs s JOIN (SELECT id, COUNT(*) AS shared FROM bands WHERE key IN ({marks}) "
                    "GROUP BY id ORDER BY shared DESC LIMIT ?) b ON s.id = b.id",
                    [*keys, MAX_CANDIDATES],
                ).fetchall(),
                [],
            )
            for other, group, sig in stored:
                candidates[other] = (group, np.frombuffer(sig, dtype="<u4"))
            shared = Counter(other for k in keys for other in self._pending_keys.get(k, ()))
            for other, _ in shared.most_common(MAX_CANDIDATES):
                candidates[other] = self._pending[other]
            candidates.pop(doc_id, None)
            best, best_j = None, self.threshold
            for other, (group, sig) in candidates.items():
                j = float(np.count_nonzero(sig == values)) / PERMUTATIONS  # MinHash's Jaccard estimate
                if j >= best_j:
                    best, best_j = group, j
            group = best if best is not None else doc_id
            self._pending[doc_id] = (group, values)
            for k in keys:
                self._pending_keys.setdefault(k, set()).add(doc_id)
            return group, encode(m)

    def written(self) -> None:
        """After this process's own write: apply it (the batch just written, read back from the store)."""
        self.refresh()


class _NoStore:
    """Stands for the store when the grouping is measured alone: nothing stored, nothing changes."""

    identity = "none"

    def generation(self) -> str:
        return "none"
