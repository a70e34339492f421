"""The one pipeline object: ingest, retrieve, read, assemble; the CLI and API are shells over it."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from index.documents import Document
from index.embed import Embedder
from index.ingest import IngestReport, Indexer
from index.keyword import KeywordIndex
from index.listing import select
from index.store import Store, StoredDocument, published_number
from qa import __version__
from qa.answer import assemble
from qa.followup import follow_up
from qa.read import Reader
from qa.recency import CANDIDATES, asks_for_latest, prefer_recent
from qa.retrieve import Filters, Retriever
from qa.schema import AskRequest, AskResponse, DocumentQuery, Health, PassageScores, Query, SearchHit, SearchRequest, SearchResponse
from qa.settings import Settings

log = logging.getLogger(__name__)

SAMPLE_CORPUS = Path(__file__).parent / "sample_corpus"
# The bundled sample articles keep their file names as ids.
SAMPLE_IDS = tuple(sorted(p.stem for p in SAMPLE_CORPUS.glob("*.txt")))


class Busy(RuntimeError):
    """Too many questions in flight: the request waited past its time budget."""


def filters_for(request: Query) -> Filters | None:
    """The retrieval filters of a request: its `filters`, narrowed to articles published by `as_of`.

    An article with no date can't be shown to precede `as_of`, so it is left out (the
    retriever's date bounds exclude undated chunks).
    """
    given = request.filters.model_dump() if request.filters else {}
    if request.as_of:
        to = given.get("published_to")
        bound = published_number(to, end=True) if to else None
        # The earlier of the two bounds; a bound the store can't compare gives way to as_of.
        if bound is None or published_number(request.as_of) < bound:
            given["published_to"] = request.as_of
    return Filters(**given) if given else None


class Pipeline:
    """Loads every component once (`warm_up`); afterwards each method is a plain call."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.embedder = Embedder(backend=settings.embedder_backend, threads=settings.threads, cache_dir=settings.cache_dir)
        self.reader = Reader(settings.reader_path, threads=settings.threads, cache_dir=settings.cache_dir)
        self._store: Store | None = None
        self._keywords: KeywordIndex | None = None
        self._retriever: Retriever | None = None
        self._indexer: Indexer | None = None
        self._models = threading.BoundedSemaphore(settings.max_concurrent_reads)
        self._write_lock = threading.Lock()
        self._init_lock = threading.Lock()
        self._warm = False
        self._sample_pending = False
        self._listing: tuple[str, list[StoredDocument]] | None = None  # (store generation, every article)
        self.ready = threading.Event()
        self.startup_error: str | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def open_store(self) -> Store:
        """Connect to the store only (no models): enough for listing documents."""
        with self._init_lock:
            if self._store is None:
                store = Store(self.settings.data_dir, self.settings.chroma_url, Embedder.name, Embedder.dimension)
                # The keyword index is derived and local: beside the embedded store, or in this
                # machine's cache in server mode (each replica keeps its own, synced from the store).
                folder = self.settings.cache_dir / "keyword" if self.settings.chroma_url else self.settings.data_dir
                self._keywords = KeywordIndex(store, folder)
                self._retriever = Retriever(store, self.embedder, self._keywords, self.settings.candidates)
                self._indexer = Indexer(store, self.embedder, folder, min_free_mb=self.settings.min_free_mb)
                # Decided when the store is first opened, and checked again before seeding: an
                # index that starts empty gets the sample articles, unless a user's own
                # document arrives first (while the models load).
                self._sample_pending = self.settings.sample_corpus and store.count()[0] == 0
                self._store = store
        return self._store

    def warm_up(self) -> None:
        if self._warm:
            return
        self.open_store()
        self.embedder.warm_up()
        self.reader.warm_up()
        self._keywords.refresh()
        self._warm = True

    def start(self) -> None:
        """Load the models and fill an empty index with the sample; the outcome is `status`."""
        try:
            self.warm_up()
            if self.ensure_sample_corpus():
                log.info("empty index: ingested the bundled sample articles")
            self.ready.set()
            log.info("ready: %s", self.health().model_dump())
        except Exception as exc:  # noqa: BLE001 - reported by `status` and as 503s, not a crash
            self.startup_error = str(exc)
            log.error("startup failed: %s", exc)

    def warm_writes(self) -> None:
        """Load what writes need (the copy index of the stored articles), so a server's first write doesn't pay for it."""
        if not self.ready.is_set():
            return
        try:
            with self._write_lock:
                self._indexer.copies.refresh()
        except Exception as exc:  # noqa: BLE001 - the first write loads it instead
            log.warning("copy index not loaded ahead of writes: %s", exc)

    @property
    def sample_pending(self) -> bool:
        """The store was empty when opened and the sample articles are still to be ingested (a write)."""
        return self._sample_pending

    @property
    def status(self) -> str:
        if self.ready.is_set():
            return "ok"
        return "error" if self.startup_error else "loading"

    @property
    def store(self) -> Store:
        return self.open_store()

    @property
    def retriever(self) -> Retriever:
        """The hybrid retriever on its own, for benchmarks that rank without reading."""
        self.open_store()
        return self._retriever

    # -- documents ---------------------------------------------------------------------
    def ingest_paths(
        self, paths: list[Path], *, prune: bool = False, replace_taken: bool = False, progress: Callable[[int, int, str], None] | None = None
    ) -> IngestReport:
        self.open_store()
        with self._write_lock:
            report = self._indexer.ingest_paths(paths, prune=prune, replace_taken=replace_taken, progress=progress)
        return report

    def add_documents(self, docs: list[Document]) -> IngestReport:
        self.open_store()
        with self._write_lock:
            return self._indexer.add(docs)

    def delete_document(self, doc_id: str) -> bool:
        with self._write_lock:
            return self.store.delete_document(doc_id)

    def get_document(self, doc_id: str) -> StoredDocument | None:
        return self.store.get_documents([doc_id]).get(doc_id)

    def list_documents(self) -> list[StoredDocument]:
        """Every article (without its text), by id; read again from the store only after a write."""
        generation = self.store.generation()
        cached = self._listing
        if cached is not None and cached[0] == generation:
            return cached[1]
        docs = self.store.list_documents()
        self._listing = (generation, docs)
        return docs

    def documents_page(self, query: DocumentQuery) -> tuple[int, list[StoredDocument]]:
        """How many articles match a list query, and its page of them."""
        return select(self.list_documents(), **query.model_dump())

    def ensure_sample_corpus(self) -> bool:
        """Ingest the bundled sample articles if the index was empty when opened and still is; True if it did."""
        self.open_store()
        with self._write_lock:
            if not self._sample_pending:
                return False
            self._sample_pending = False
            if self.store.count()[0]:
                return False  # the user's own articles came first: they never get the samples
            self._indexer.ingest_paths([SAMPLE_CORPUS])
        return True

    def sample_ids(self) -> list[str]:
        """The bundled sample articles the index holds."""
        return sorted(self.store.documents.get(ids=list(SAMPLE_IDS), include=[])["ids"]) if SAMPLE_IDS else []

    def delete_samples(self) -> list[str]:
        """Remove the bundled sample articles; the ids removed."""
        with self._write_lock:
            present = self.sample_ids()
            for doc_id in present:
                self.store.delete_document(doc_id)
        return present

    def health(self) -> Health:
        docs, chunks = self.store.count()
        return Health(
            status=self.status,
            documents=docs,
            chunks=chunks,
            store=f"{self.store.mode} chroma" + (f" at {self.settings.chroma_url}" if self.settings.chroma_url else ""),
            embedder=Embedder.name,
            reader=self.reader.name,
            version=__version__,
        )

    # -- questions ---------------------------------------------------------------------
    def ask(self, request: AskRequest, *, threshold: float | None = None) -> AskResponse:
        """Answer one validated request. `threshold` overrides abstention (evaluation forces answers with 0)."""
        t0 = time.perf_counter()
        question = request.question
        k = request.top_k or self.settings.top_k
        f = filters_for(request)
        # A follow-up ("When did he arrive?") is retrieved and checked with the turn it leans on;
        # the reader reads the question as asked.
        earlier = follow_up(question, request.history)
        # Model work is bounded: extra requests queue here instead of piling onto the CPU.
        if not self._models.acquire(timeout=self.settings.read_timeout_s):
            raise Busy("the service is busy; try again shortly")
        try:
            # Loading the models is a one-off cost of the first question, not of answering:
            # it is timed apart so "total" means the same on every call.
            cold = not self._warm
            t_load = time.perf_counter()
            self.warm_up()
            t1 = time.perf_counter()
            load = t1 - t_load if cold else 0.0
            passages = self._retriever(earlier.query if earlier else question, k, f)
            t2 = time.perf_counter()
            reading = self.reader.read(question, [p.text for p in passages])
            t3 = time.perf_counter()
        finally:
            self._models.release()
        documents = self.store.get_documents([p.doc_id for p in passages])
        # A question about the latest state is decided over every different answer above the
        # threshold, not only those scoring close to the best: the newest may score lower.
        latest = asks_for_latest(question)
        response = assemble(
            question,
            passages,
            reading.spans,
            documents,
            self.reader.calibration,
            confidence=self.reader.confidence,
            threshold=self.settings.no_answer_threshold if threshold is None else threshold,
            alternative_ratio=0.0 if latest else self.settings.alternative_ratio,
            max_alternatives=CANDIDATES if latest else 3,
            say_otherwise=not latest,  # the newest answer may come in a sentence naming the one it replaced
            mentions=reading.mentions,
            explain=request.explain,
            earlier_names=earlier.names if earlier else (),
        )
        if latest:
            response = prefer_recent(response, self.settings.alternative_ratio)
        response.follows = earlier.follows if earlier else None
        t4 = time.perf_counter()
        response.timings_ms = {
            "retrieve": round(1000 * (t2 - t1), 1),
            "read": round(1000 * (t3 - t2), 1),
            "total": round(1000 * (t4 - t0 - load), 1),  # waiting for a slot included, loading not
        }
        if cold:
            response.timings_ms["load"] = round(1000 * load, 1)
        return response

    def search(self, request: SearchRequest) -> SearchResponse:
        """The ranked passages a question would be read from, with each retriever's rank and score;
        passages of copies of one story are folded under the first (as answers fold them)."""
        t0 = time.perf_counter()
        k = request.top_k or self.settings.top_k
        if not self._models.acquire(timeout=self.settings.read_timeout_s):
            raise Busy("the service is busy; try again shortly")
        try:
            self.warm_up()
            t1 = time.perf_counter()
            # More than k: folding copies may merge some, and k distinct stories are asked for.
            passages = self._retriever(request.question, 2 * k, filters_for(request))
        finally:
            self._models.release()
        documents = self.store.get_documents(list(dict.fromkeys(p.doc_id for p in passages)))
        hits: list[SearchHit] = []
        by_group: dict[str, SearchHit] = {}
        for p in passages:
            doc = documents.get(p.doc_id)
            if doc is None:
                continue  # deleted since retrieval
            group = doc.group or doc.doc_id
            if group in by_group:
                first = by_group[group]
                if p.doc_id != first.doc_id and p.doc_id not in first.copies:
                    first.copies.append(p.doc_id)
                continue
            if len(hits) == k:
                continue  # still folding copies into the hits already chosen
            hit = SearchHit(
                rank=len(hits) + 1, doc_id=doc.doc_id, title=doc.title, source=doc.source, published=doc.published,
                passage=p.text, passage_start=p.start, passage_end=p.end, group=group,
                scores=PassageScores(fused=round(p.score, 6), **asdict(p.ranks)),
            )
            hits.append(hit)
            by_group[group] = hit
        return SearchResponse(
            question=request.question, passages=hits,
            timings_ms={"retrieve": round(1000 * (time.perf_counter() - t1), 1), "total": round(1000 * (time.perf_counter() - t0), 1)},
        )
