"""The store's change feed: which documents each write touched, kept for a retention period."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

from index.paging import pages

CHANGES = "changes"
# How long a change stays readable. A process whose derived indexes are older than this
# (a replica down for a week) rebuilds them from the store instead of replaying the feed.
RETENTION_US = 7 * 24 * 3600 * 1_000_000
PRUNE_EVERY_US = 3600 * 1_000_000  # pruning is a filtered delete: at most once an hour
IDS_PER_RECORD = 1000  # one record per write, split only for very large writes
_MARK = "horizon"  # a marker record: changes stamped before its `at` may be gone


@dataclass(frozen=True)
class Changes:
    """(record id, document id, stamp) of the changes read, and the feed's horizon: before it, changes may be gone."""

    items: list[tuple[str, str, int]]
    horizon: int

    def reach_back_to(self, at: int) -> bool:
        """Whether every change stamped at or after `at` is still in the feed."""
        return self.horizon <= at


def _now_us() -> int:
    return time.time_ns() // 1000


class ChangeFeed:
    """One record per write, naming the documents it touched; pruned past the retention period.

    A record's size follows the write, not the archive: a bulk ingest of 64,000 articles
    leaves a few hundred records, not 64,000 (every process filters the feed, and part of
    Chroma's memory grows with what it filters: 13 MB for 64,826 records). Pruning
    first leaves a marker at its cutoff, then deletes what is older; a reader that needs
    changes from before the newest marker learns it from the horizon, and rebuilds.
    """

    def __init__(self, client, max_batch: int):
        self.collection = client.get_or_create_collection(CHANGES)
        self.max_batch = max_batch
        self.retention_us = RETENTION_US
        self.prune_every_us = PRUNE_EVERY_US

    def record(self, doc_ids: list[str]) -> int:
        """Record one write's documents; returns its stamp (µs)."""
        at = _now_us()
        parts = [doc_ids[b : b + IDS_PER_RECORD] for b in range(0, len(doc_ids), IDS_PER_RECORD)]
        for b in range(0, len(parts), self.max_batch):
            batch = parts[b : b + self.max_batch]
            self.collection.add(
                ids=[uuid.uuid4().hex for _ in batch], embeddings=[[0.0]] * len(batch),
                documents=[json.dumps(p) for p in batch], metadatas=[{"at": at, "n": len(p)} for p in batch],
            )
        self._prune_if_due(at)
        return at

    def since(self, at: int) -> Changes:
        """Every change stamped at or after `at`, and the feed's horizon."""
        items: list[tuple[str, str, int]] = []
        for got in pages(self.collection, ["documents", "metadatas"], {"at": {"$gte": at}}):
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"]):
                if meta.get(_MARK):
                    continue
                # Stores written before records held their documents name one per record.
                names = [str(meta["doc_id"])] if "doc_id" in meta else json.loads(text or "[]")
                items += [(cid, d, int(meta["at"])) for d in names]
        # Read after the changes: a prune that ran meanwhile left its marker before deleting.
        return Changes(items, self.horizon())

    def horizon(self) -> int:
        """Changes stamped before this may have been pruned (0: none ever were)."""
        got = self.collection.get(where={_MARK: True}, include=["metadatas"])
        return max((int(m["at"]) for m in got["metadatas"]), default=0)

    def prune(self, before: int) -> None:
        """Delete the changes stamped before `before`, marking the cut first."""
        self.collection.add(ids=[f"{_MARK}-{uuid.uuid4().hex}"], embeddings=[[0.0]], metadatas=[{"at": before, _MARK: True}])
        while True:
            old = self.collection.get(where={"at": {"$lt": before}}, include=[], limit=self.max_batch)["ids"]
            if not old:
                return
            self.collection.delete(ids=old)

    def _prune_if_due(self, now: int) -> None:
        if now - self.horizon() - self.retention_us >= self.prune_every_us:
            self.prune(now - self.retention_us)
