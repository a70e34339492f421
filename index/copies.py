"""Syndicated copies: near-duplicate articles found by MinHash LSH over word shingles, named by a copy group."""

from __future__ import annotations

import base64
import re
import threading

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

SHINGLE = 5  # words
PERMUTATIONS = 128
# Estimated Jaccard similarity of 5-word shingles at or above which two articles are one story.
# Measured by `python -m eval.copies` (eval/results/copies.md): made copies (re-headlined,
# trimmed 10-20%, boilerplate added, words edited) have a median Jaccard of 0.77 (min 0.34),
# distinct articles on the same topic 0.001 (max 0.29); 0.4 gives precision 0.99 and recall
# 0.97 there (0.3: 0.97 and 0.99, with more updates of one story merged).
THRESHOLD = 0.4
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


class CopyIndex:
    """Which stored article a new one copies, across restarts and processes.

    The LSH index lives in memory; it is rebuilt from the signatures kept in the documents'
    store metadata (`minhash`, `copy_group`) whenever the store has changed since this
    process last looked (its generation), so writes of other processes and deletions are
    seen. Articles stored before copies were detected have no signature: theirs is
    computed once from the stored text (and cached by content hash).
    """

    def __init__(self, store, threshold: float = THRESHOLD):
        self.store = store  # None: nothing stored, only what `assign` is given (measuring the grouping alone)
        self.threshold = threshold
        self._lock = threading.Lock()
        self._generation: str | None = None
        self._lsh = MinHashLSH(threshold=threshold, num_perm=PERMUTATIONS)
        self._sigs: dict[str, LeanMinHash] = {}
        self._groups: dict[str, str] = {}
        self._legacy: dict[tuple[str, str], LeanMinHash] = {}  # (doc id, content hash) -> computed signature

    def refresh(self) -> None:
        if self.store is None:
            return
        generation = self.store.generation()
        if generation == self._generation:
            return
        sigs: dict[str, LeanMinHash] = {}
        groups: dict[str, str] = {}
        missing: list[tuple[str, str]] = []
        for doc_id, meta in self.store.copy_records():
            m = decode(str(meta.get("minhash") or ""))
            groups[doc_id] = str(meta.get("copy_group") or doc_id)
            if m is not None:
                sigs[doc_id] = m
            else:
                key = (doc_id, str(meta.get("content_hash", "")))
                if key in self._legacy:
                    sigs[doc_id] = self._legacy[key]
                else:
                    missing.append(key)
        for b in range(0, len(missing), 200):
            part = missing[b : b + 200]
            docs = self.store.get_documents([i for i, _ in part])
            for key in part:
                if key[0] in docs:
                    sigs[key[0]] = self._legacy[key] = signature(docs[key[0]].text)
        lsh = MinHashLSH(threshold=self.threshold, num_perm=PERMUTATIONS)
        with lsh.insertion_session() as session:
            for doc_id, m in sigs.items():
                session.insert(doc_id, m)
        self._lsh, self._sigs, self._groups, self._generation = lsh, sigs, groups, generation

    def assign(self, doc_id: str, text: str) -> tuple[str, str]:
        """(copy group, encoded signature) for an article about to be written; it joins the index at once.

        The group is that of the most similar stored article at or above the threshold, or
        the article's own id when it copies none (the first article of a group names it).
        """
        with self._lock:
            m = signature(text)
            if doc_id in self._sigs:  # a changed article: judged afresh
                self._lsh.remove(doc_id)
                del self._sigs[doc_id]
            best, best_j = None, self.threshold
            for other in self._lsh.query(m):
                j = m.jaccard(self._sigs[other])
                if j >= best_j:
                    best, best_j = other, j
            group = self._groups.get(best, best) if best is not None else doc_id
            self._lsh.insert(doc_id, m)
            self._sigs[doc_id] = m
            self._groups[doc_id] = group
            return group, encode(m)

    def written(self) -> None:
        """After this process's own write: its new generation needs no rebuild (it is in memory already)."""
        with self._lock:
            self._generation = self.store.generation() if self.store is not None else None
