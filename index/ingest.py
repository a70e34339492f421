"""Ingestion: documents in, chunks and vectors stored, idempotent by content hash."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from index import dates
from index.chunk import Chunker, indexed_text
from index.copies import CopyIndex, decode, resembles, signature
from index.documents import Document
from index.embed import Embedder
from index.ids import Catalog, Claim
from index.load import LoadFailure, discover, iter_documents
from index.space import as_storage_full, check_room
from index.store import Store
from index.urls import without_credentials

log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    failed: list[LoadFailure] = field(default_factory=list)
    # Added under an id of their own because the id derived for them holds a different
    # document: new id -> that id (nothing was replaced; `replace` would have).
    renamed: dict[str, str] = field(default_factory=dict)
    chunks: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed

    def summary(self) -> str:
        chunks = f"{self.chunks} chunk{'' if self.chunks == 1 else 's'}"
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.unchanged)} unchanged, "
            f"{len(self.removed)} removed, {len(self.failed)} failed ({chunks} written)"
        )




class Indexer:
    """Writes documents into the store: chunk, embed (in batches across documents), replace per document."""

    def __init__(
        self, store: Store, embedder: Embedder, folder: Path, max_chunk_tokens: int = 200, embed_batch_chunks: int = 128, min_free_mb: float = 0.0
    ):
        self.store = store
        self.folder = folder
        self.min_free_mb = min_free_mb
        self._failed_write = False  # a write that ran out of room may have left chunks without their document
        self.embed_batch_chunks = embed_batch_chunks
        self.embedder = embedder
        self.max_chunk_tokens = max_chunk_tokens
        self._chunker: Chunker | None = None
        self.copies = CopyIndex(store, folder)  # derived, beside the keyword index

    @property
    def chunker(self) -> Chunker:
        if self._chunker is None:
            self._chunker = Chunker(self.embedder.count_tokens, max_tokens=self.max_chunk_tokens)
        return self._chunker

    def add(self, docs: Iterable[Document], report: IngestReport | None = None, known: Catalog | None = None) -> IngestReport:
        """Write documents; a derived id is first resolved so it never replaces another document.

        Chunks of several documents are embedded and written together (one store call per
        step, not per document); a crash loses at most the documents of one batch, and the
        store's write order means none is left half-written.
        """
        report = report or IngestReport()
        self.copies.refresh()
        if known is None:
            docs = list(docs)
            known = self._catalog(docs)
        pending: list[tuple[Document, bool, list]] = []
        claimed: set[str] = set()  # ids this write has taken
        size = 0
        for doc in docs:
            # A URL's credentials are never stored, wherever the URL came from (a feed, a JSONL source, a form).
            doc = replace(doc, source=without_credentials(doc.source), origin=doc.origin and without_credentials(doc.origin))
            future = dates.future_refusal(doc.published)
            if future:  # a page's or a feed's own date as much as a given one
                report.failed.append(LoadFailure(doc.origin or doc.source, future))
                continue
            base = doc.id
            if doc.derived_id:
                resolved = known.resolve(doc.id, doc.content_hash, doc.origin, doc.source, replace=doc.replace)
                if resolved is None:  # a partial catalog ran out of numbered forms: ask with every claim
                    known = self._full_catalog(known)
                    resolved = known.resolve(doc.id, doc.content_hash, doc.origin, doc.source, replace=doc.replace)
                doc = replace(doc, id=resolved)
            previous = known.claims.get(doc.id)
            if previous is not None and previous.content_hash == doc.content_hash:
                report.unchanged.append(doc.id)
                continue
            if doc.id in claimed:
                # Two versions of one document in one write can't both be stored: the first
                # stays, the later one is reported, and the rest of the write goes on.
                report.failed.append(LoadFailure(doc.origin or doc.source, f"duplicate document id {doc.id!r} in one write: kept the first"))
                continue
            claimed.add(doc.id)
            if doc.id != base and previous is None and base in known.claims:
                report.renamed[doc.id] = base
            chunks = self.chunker(doc)
            # Claimed now, not after the write: a later document of the same batch with the
            # same derived id or the same content must see this one.
            known.add(doc.id, Claim(doc.content_hash, doc.origin, doc.source))
            pending.append((doc, previous is not None, chunks))
            size += len(chunks)
            if size >= self.embed_batch_chunks:
                self._write(pending, report)
                pending, size = [], 0
        self._write(pending, report)
        return report

    def _catalog(self, docs: list[Document]) -> Catalog:
        """The ids these documents may take, looked up (not every stored claim read): a write costs in proportion to itself."""
        ids = [i for d in docs for i in (Catalog.candidates(d.id, d.content_hash) if d.derived_id else [d.id])]
        # The origin (and, for documents stored before origins were kept, the file name) only
        # matters for a document that has one: a pasted article's "pasted" must not fetch them all.
        with_origin = [d for d in docs if d.origin]
        return Catalog(self.store.claims_for(ids, [d.origin for d in with_origin], [d.source for d in with_origin]), complete=False)

    def _full_catalog(self, partial: Catalog) -> Catalog:
        full = Catalog(self.store.claims())
        for doc_id, claim in partial.claims.items():
            full.add(doc_id, claim)  # claimed earlier in this write, not stored yet
        return full

    def _write(self, pending: list[tuple[Document, bool, list]], report: IngestReport) -> None:
        if not pending:
            return
        check_room(self.folder, self.min_free_mb)
        if self._failed_write:
            # Never cited (no document record), but they take room and count: gone before the next write.
            self.store.sweep_orphans()
            self._failed_write = False
        vectors = self.embedder([indexed_text(doc.title, c.text) for doc, _, chunks in pending for c in chunks])
        items, at = [], 0
        for doc, _, chunks in pending:
            items.append((doc, chunks, vectors[at : at + len(chunks)]))
            at += len(chunks)
        # Each article's copy group, judged against every stored article and those before it here.
        extra = {}
        for doc, _, _ in pending:
            group, sig = self.copies.assign(doc.id, doc.text)
            extra[doc.id] = {"copy_group": group, "minhash": sig}
        try:
            self.store.put_documents(items, extra)
        except Exception as exc:
            full = as_storage_full(exc, self.folder)
            if full is None:
                raise
            self._failed_write = True
            raise full from exc
        self._follow_replaced([doc.id for doc, replaced, _ in pending if replaced], extra)
        self.copies.written()
        for doc, replaced, chunks in pending:
            report.chunks += len(chunks)
            (report.updated if replaced else report.added).append(doc.id)

    def _follow_replaced(self, doc_ids: list[str], extra: dict[str, dict]) -> None:
        """The copies of a replaced article follow what it is now.

        Those still copying it take its group (its own, or the story it copies now); those
        it no longer resembles (the id now holds another story) form a group of their own,
        named by the first of them, so they never count as one source with the new article.
        """
        changes: dict[str, str] = {}
        for doc_id in doc_ids:
            new_group, values = extra[doc_id]["copy_group"], decode(extra[doc_id]["minhash"]).hashvalues
            apart: list[str] = []
            for member, meta in self.store.group_members(doc_id):
                sig = decode(str(meta.get("minhash") or ""))
                if sig is None:  # stored before signatures were kept
                    stored = self.store.get_documents([member]).get(member)
                    sig = signature(stored.text) if stored is not None else None
                if sig is not None and resembles(sig.hashvalues, values, self.copies.threshold):
                    if new_group != doc_id:
                        changes[member] = new_group
                else:
                    apart.append(member)
            changes.update(dict.fromkeys(apart, apart[0]) if apart else {})
        self.store.set_groups(changes)

    def ingest_paths(
        self,
        paths: list[Path],
        *,
        prune: bool = False,
        replace_taken: bool = False,
        progress: Callable[[int, int, str], None] | None = None,
    ) -> IngestReport:
        """Ingest files and folders. Unreadable files are reported and skipped.

        `prune` removes stored documents whose source file is no longer among `paths` (never those fetched from a URL)
        (only when every path could be read, so a typo can't wipe the index). `replace_taken`: a file whose
        derived id holds a different document (from another file) replaces it instead of getting an id of its own.
        """
        report = IngestReport()
        self.store.sweep_orphans()
        files, failures = discover(paths)
        report.failed.extend(failures)
        known = Catalog(self.store.claims())

        def documents() -> Iterator[Document]:
            for n, (path, result) in enumerate(iter_documents(files), 1):
                if progress:
                    progress(n, len(files), path.name)
                if isinstance(result, LoadFailure):
                    report.failed.append(result)
                    log.warning("skipped %s", result.reason)
                    continue
                yield from (replace(d, replace=True) if replace_taken and d.derived_id else d for d in result)

        # One stream over every file, so small files share embedding batches.
        self.add(documents(), report, known)
        seen = set(report.added) | set(report.updated) | set(report.unchanged)
        if prune:
            if failures:
                log.warning("not pruning: some paths could not be read")
            else:
                for doc_id in sorted(set(known.claims) - seen):
                    if (known.claims[doc_id].origin or "").startswith(("http://", "https://")):
                        continue  # fetched from a feed or URL, not a file: not for --prune to remove
                    self.store.delete_document(doc_id)
                    report.removed.append(doc_id)
        return report
