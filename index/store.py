"""The Chroma store: chunks with their vectors, whole documents, and a change generation."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import numpy as np

from index.documents import Chunk, Document
from index.feed import ChangeFeed
from index.ids import Claim
from index.paging import pages

CHUNKS = "chunks"
DOCUMENTS = "documents"
LOOKUP_PAGE = 500  # ids or values per lookup call


class IncompatibleStore(RuntimeError):
    """The data directory was built with another embedder; mixing vectors would be wrong."""


class StoreUnavailable(RuntimeError):
    """The Chroma server can't be reached."""


@dataclass(frozen=True)
class StoredDocument:
    doc_id: str
    title: str
    source: str
    text: str
    published: str | None
    content_hash: str
    chunks: int
    metadata: dict
    group: str | None = None  # the copy group (index/copies.py): the first stored article of this story


def published_number(published: str | None, *, end: bool = False) -> int | None:
    """yyyymmdd as an int, so Chroma can range-filter on dates; a year or a month alone is its
    first day, or its last with `end` (an upper bound "2024" means up to the end of 2024)."""
    if not published:
        return None
    digits = "".join(ch for ch in published[:10] if ch.isdigit())
    if len(digits) >= 8:
        return int(digits[:8])
    if len(digits) == 6:
        return int(digits + ("31" if end else "01"))
    if len(digits) == 4:
        return int(digits + ("1231" if end else "0101"))
    return None


def _client(data_dir: Path, chroma_url: str | None):
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False, allow_reset=False)
    if chroma_url:
        url = urlparse(chroma_url)
        try:
            return chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if url.scheme == "https" else 8000),
                ssl=url.scheme == "https",
                settings=settings,
            )
        except Exception as exc:  # chromadb raises plain exceptions for connection errors
            raise StoreUnavailable(f"Chroma server at {chroma_url} is not reachable: {exc}") from None
    data_dir.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


class Store:
    """Chunks and their vectors in one collection, whole documents in another.

    The documents collection's metadata carries a `generation` that changes with every
    write, so every process can tell cheaply when the store has changed; the change feed
    (`index/feed.py`) says which documents each write touched, which keeps every process's
    derived indexes current without re-reading the store.
    """

    def __init__(self, data_dir: Path, chroma_url: str | None, embedder_name: str, dimension: int):
        self.mode = "server" if chroma_url else "embedded"
        self.client = _client(data_dir, chroma_url)
        self.embedder_name = embedder_name
        self.chunks = self.client.get_or_create_collection(
            CHUNKS, metadata={"hnsw:space": "cosine", "embedder": embedder_name, "dimension": dimension}
        )
        meta = self.chunks.metadata or {}
        if meta.get("embedder") not in (None, embedder_name) or meta.get("dimension") not in (None, dimension):
            raise IncompatibleStore(
                f"this data directory was built with embedder {meta.get('embedder')!r} "
                f"(dimension {meta.get('dimension')}), not {embedder_name!r}; "
                "use another QA_DATA_DIR or re-ingest into an empty one"
            )
        self.documents = self.client.get_or_create_collection(DOCUMENTS, metadata={"generation": "0"})
        self.max_batch = max(1, min(1000, self.client.get_max_batch_size() - 1))
        self.feed = ChangeFeed(self.client, self.max_batch)

    # -- change tracking ---------------------------------------------------------------
    def generation(self) -> str:
        col = self.client.get_collection(DOCUMENTS)
        return str((col.metadata or {}).get("generation", "0"))

    @property
    def identity(self) -> str:
        """Names this store (its chunks collection), so derived indexes of two stores never mix."""
        return str(self.chunks.id)

    def record_changes(self, doc_ids: list[str]) -> None:
        """Say which documents a write touched, then announce it (the order readers rely on)."""
        at = self.feed.record(doc_ids)
        self.documents.modify(metadata={"generation": uuid.uuid4().hex, "latest_change": at})

    def latest_change(self) -> int:
        """Stamp (µs) of the newest recorded change, 0 for none."""
        return int((self.client.get_collection(DOCUMENTS).metadata or {}).get("latest_change", 0))

    # -- documents ---------------------------------------------------------------------
    def claims(self) -> dict[str, Claim]:
        """Every stored id with its content hash and origin, to resolve derived ids."""
        return {i: _claim(m) for i, m in self.copy_records()}

    def copy_records(self, ids: list[str] | None = None) -> Iterator[tuple[str, dict]]:
        """Stored ids (every one, or these) with their metadata (copy group, MinHash signature, content hash): what `index.copies` builds from."""
        if ids is not None:
            got = self.documents.get(ids=list(dict.fromkeys(ids)), include=["metadatas"]) if ids else {"ids": [], "metadatas": []}
            yield from zip(got["ids"], got["metadatas"])
            return
        for page_ids, metas in self._pages(self.documents, include=["metadatas"]):
            yield from zip(page_ids, metas)

    def claims_for(self, ids: list[str], origins: list[str], sources: list[str]) -> dict[str, Claim]:
        """The claims of these ids and of the documents from these origins or sources (lookups, not a scan)."""
        out: dict[str, Claim] = {}
        step = LOOKUP_PAGE  # a large write's lookups in pages: each call stays small
        wanted, pages = list(dict.fromkeys(ids)), []
        pages += [self.documents.get(ids=wanted[b : b + step], include=["metadatas"]) for b in range(0, len(wanted), step)]
        for key, values in (("origin", origins), ("source", sources)):
            values = list(dict.fromkeys(values))
            pages += [self.documents.get(where={key: {"$in": values[b : b + step]}}, include=["metadatas"]) for b in range(0, len(values), step)]
        for got in pages:
            out.update((i, _claim(m)) for i, m in zip(got["ids"], got["metadatas"]))
        return out

    def put_documents(self, items: list[tuple[Document, list[Chunk], np.ndarray]], extra: dict[str, dict] | None = None) -> None:
        """Replace documents and their chunks, a batch at a time (one call per step, not per document).

        Order matters for crash safety: new chunks first, then stale chunks go, and the
        document records with their content hashes are written last. A run killed midway
        leaves hashes that don't match, so the next ingest redoes those documents; chunks
        with no document record are never cited and are swept by `sweep_orphans`. `extra`
        adds fields to a document's record by id (its copy group and signature).
        """
        if not items:
            return
        rows = [(doc, c, v) for doc, chunks, vectors in items for c, v in zip(chunks, vectors)]
        for b in range(0, len(rows), self.max_batch):
            part = rows[b : b + self.max_batch]
            self.chunks.upsert(
                ids=[c.chunk_id for _, c, _ in part],
                embeddings=np.stack([v for _, _, v in part]).tolist(),
                documents=[c.text for _, c, _ in part],
                metadatas=[_chunk_meta(doc, c) for doc, c, _ in part],
            )
        keep = {c.chunk_id for _, c, _ in rows}
        doc_ids = [doc.id for doc, _, _ in items]
        stale = [cid for cid, *_ in self._chunks_where(doc_ids, ["metadatas"]) if cid not in keep]
        for b in range(0, len(stale), self.max_batch):
            self.chunks.delete(ids=stale[b : b + self.max_batch])
        for b in range(0, len(items), self.max_batch):
            part = items[b : b + self.max_batch]
            self.documents.upsert(
                ids=[doc.id for doc, _, _ in part], embeddings=[[0.0]] * len(part),
                documents=[doc.text for doc, _, _ in part], metadatas=[_document_meta(doc, len(chunks)) | (extra or {}).get(doc.id, {}) for doc, chunks, _ in part],
            )
        self.record_changes(doc_ids)

    def delete_document(self, doc_id: str) -> bool:
        existed = bool(self.documents.get(ids=[doc_id], include=[])["ids"])
        # Document record first: from that moment nothing of it can be cited.
        self.documents.delete(ids=[doc_id])
        ids = self.chunk_ids(doc_id)
        for b in range(0, len(ids), self.max_batch):
            self.chunks.delete(ids=ids[b : b + self.max_batch])
        # Its copies must not go on naming an id that is gone (or that a new, unrelated
        # article may take next): the first of them names their group from now on.
        members = [i for i, _ in self.group_members(doc_id)]
        regrouped = dict.fromkeys(members, members[0]) if members else {}
        self.set_groups(regrouped, record=False)
        self.record_changes([doc_id, *regrouped])
        return existed or bool(ids)

    def group_members(self, group: str) -> list[tuple[str, dict]]:
        """The other stored documents whose copy group is `group`, with their metadata, in store order."""
        got = self.documents.get(where={"copy_group": group}, include=["metadatas"])
        return [(i, m) for i, m in zip(got["ids"], got["metadatas"]) if i != group]

    def set_groups(self, groups: dict[str, str], *, record: bool = True) -> None:
        """Give documents another copy group (document id -> group); the rest of their record stays."""
        ids = list(groups)
        for b in range(0, len(ids), self.max_batch):
            part = ids[b : b + self.max_batch]
            self.documents.update(ids=part, metadatas=[{"copy_group": groups[i]} for i in part])
        if ids and record:
            self.record_changes(ids)

    def chunk_ids(self, doc_id: str) -> list[str]:
        return list(self.chunks.get(where={"doc_id": doc_id}, include=[])["ids"])

    def sweep_orphans(self) -> int:
        """Delete chunks whose document record is missing (left by an interrupted run)."""
        known = set(self.claims())
        orphans, orphan_docs = [], set()
        for ids, metas in self._pages(self.chunks, include=["metadatas"]):
            for i, m in zip(ids, metas):
                if m.get("doc_id") not in known:
                    orphans.append(i)
                    orphan_docs.add(m.get("doc_id"))
        for b in range(0, len(orphans), self.max_batch):
            self.chunks.delete(ids=orphans[b : b + self.max_batch])
        if orphans:
            self.record_changes(sorted({str(m) for m in orphan_docs}))
        return len(orphans)

    def get_documents(self, doc_ids: list[str]) -> dict[str, StoredDocument]:
        if not doc_ids:
            return {}
        got = self.documents.get(ids=list(dict.fromkeys(doc_ids)), include=["documents", "metadatas"])
        return {i: _stored(i, t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])}

    def list_documents(self) -> list[StoredDocument]:
        out = [
            _stored(i, "", m)
            for ids, metas in self._pages(self.documents, include=["metadatas"])
            for i, m in zip(ids, metas)
        ]
        return sorted(out, key=lambda d: d.doc_id)

    def count(self) -> tuple[int, int]:
        return self.documents.count(), self.chunks.count()

    # -- chunks --------------------------------------------------------------------------
    def all_chunks(self) -> Iterator[tuple[str, str, dict]]:
        for ids, docs, metas in self._pages(self.chunks, include=["documents", "metadatas"]):
            yield from zip(ids, docs, metas)

    def chunks_of(self, doc_ids: list[str]) -> Iterator[tuple[str, str, dict]]:
        """The chunks the store holds now for these documents."""
        return self._chunks_where(doc_ids, ["documents", "metadatas"])

    def _chunks_where(self, doc_ids: list[str], include: list[str]) -> Iterator[tuple]:
        for b in range(0, len(doc_ids), 100):
            where = {"doc_id": {"$in": doc_ids[b : b + 100]}}
            for page in self._pages(self.chunks, include, where):
                yield from zip(*page)

    def query(self, vector: np.ndarray, k: int, where: dict | None) -> list[tuple[str, float]]:
        n = self.chunks.count()
        if n == 0:
            return []
        res = self.chunks.query(query_embeddings=[vector.tolist()], n_results=min(k, n), where=where, include=["distances"])
        return list(zip(res["ids"][0], res["distances"][0]))

    def get_chunks(self, ids: list[str]) -> dict[str, tuple[str, dict]]:
        if not ids:
            return {}
        got = self.chunks.get(ids=ids, include=["documents", "metadatas"])
        return {i: (t, m) for i, t, m in zip(got["ids"], got["documents"], got["metadatas"])}

    def _pages(self, col, include: list[str], where: dict | None = None):
        for got in pages(col, include, where):
            yield (got["ids"], got["metadatas"]) if include == ["metadatas"] else (got["ids"], got["documents"], got["metadatas"])


def _claim(meta: dict) -> Claim:
    return Claim(str(meta.get("content_hash", "")), meta.get("origin"), str(meta.get("source", "")))


def _chunk_meta(doc: Document, chunk: Chunk) -> dict:
    meta: dict = {"doc_id": doc.id, "start": chunk.start, "end": chunk.end, "source": doc.source, "title": doc.title}
    number = published_number(doc.published)
    if number is not None:
        meta["published"] = number
    return meta


def _document_meta(doc: Document, chunks: int) -> dict:
    meta: dict = {"title": doc.title, "source": doc.source, "content_hash": doc.content_hash, "chunks": chunks, "metadata": json.dumps(doc.metadata, sort_keys=True)}
    if doc.published:
        meta["published"] = doc.published
    if doc.origin:
        meta["origin"] = doc.origin
    return meta


def _stored(doc_id: str, text: str | None, meta: dict) -> StoredDocument:
    try:
        extra = json.loads(meta.get("metadata") or "{}")
    except json.JSONDecodeError:
        extra = {}
    return StoredDocument(
        doc_id=doc_id,
        title=str(meta.get("title", "")),
        source=str(meta.get("source", "")),
        text=text or "",
        published=meta.get("published"),
        content_hash=str(meta.get("content_hash", "")),
        chunks=int(meta.get("chunks", 0)),
        metadata=extra,
        group=str(meta.get("copy_group") or doc_id),
    )
