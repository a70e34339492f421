"""The answer contract: request and response models shared by HTTP, CLI and page."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

from index import dates
from index.ids import MAX_ID_CHARS, InvalidId, check_given
from index.store import StoredDocument
from index.urls import CREDENTIALS_REFUSED, has_credentials
from qa.question_text import as_read

if TYPE_CHECKING:
    from index.ingest import IngestReport

MAX_QUESTION_CHARS = 1000
MAX_TOP_K = 20  # the one limit on passages read per question: schema, CLI and API alike
# The conversation a question may lean on: the latest turns, each bounded like a question.
MAX_HISTORY_TURNS = 10
MAX_ANSWER_CHARS = 1000


def _real_date(value: str) -> str:
    """YYYY, YYYY-MM or YYYY-MM-DD naming a day that exists (no 2020-13-45), in ASCII digits.

    The pattern's digit class also matches other scripts' digits ("２０２３"): they are read as the
    numbers they are and written back in ASCII, so stored dates always compare as dates.
    """
    parts = [int(p) for p in value.split("-")]
    try:
        date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)
    except ValueError as exc:
        raise ValueError(f"not a real date: {exc}") from None
    return "-".join(f"{n:0{w}d}" for n, w in zip(parts, (4, 2, 2)))


def _day(value: str) -> str:
    """Exactly YYYY-MM-DD, a day that exists: `as_of` names one day, so no shorter forms."""
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise ValueError
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"must be a date YYYY-MM-DD that exists, not {value[:40]!r}") from None


def _given_id(value: str) -> str:
    try:
        return check_given(value)
    except InvalidId as exc:
        raise ValueError(str(exc)) from None


def _article_date(value: str) -> str:
    """A filter's date form, or a full ISO 8601 date and time (as feeds and pages give it), kept normalised."""
    if "T" not in value:
        return _real_date(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"not a real date and time: {value[:40]!r}") from None
    return dates.normalize(when) or when.date().isoformat()


PublishedDate = Annotated[str, Field(pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="YYYY[-MM[-DD]]"), AfterValidator(_real_date)]
ArticleDate = Annotated[
    str,
    Field(
        pattern=r"^\d{4}(-\d{2}(-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$",
        description="YYYY[-MM[-DD]], or an ISO 8601 date and time such as 2023-06-01T09:30:00+00:00",
    ),
    AfterValidator(_article_date),
]
GivenId = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS), AfterValidator(_given_id)]


class AskFilters(BaseModel):
    """Restrict the articles a question is answered from."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[str] | None = Field(None, max_length=1000, description="Only these documents.")
    source: str | None = Field(None, max_length=1000, description="Only documents from this source (file name or JSONL source).")
    published_from: PublishedDate | None = Field(None, description="Earliest publication date, YYYY[-MM[-DD]].")
    published_to: PublishedDate | None = Field(None, description="Latest publication date, YYYY[-MM[-DD]].")


class Query(BaseModel):
    """What a question and a search share: the words, how many passages, and which articles."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, description="The question, in plain words.")
    top_k: int | None = Field(None, ge=1, le=MAX_TOP_K, strict=True, description="Passages to read or return (default QA_TOP_K).")
    filters: AskFilters | None = None
    as_of: Annotated[str, AfterValidator(_day)] | None = Field(
        None,
        description="As of this day, YYYY-MM-DD: only articles published on or before it are used; undated articles are left out.",
        examples=["2024-03-05"],
    )

    # Before the length check: an empty and a blank question get the same message.
    @field_validator("question", mode="before")
    @classmethod
    def _not_blank(cls, value: object) -> object:
        if not isinstance(value, str):
            return value  # the type check says what is wrong
        value = as_read(value)
        if not value:
            raise ValueError("question is empty")
        return value


class HistoryTurn(BaseModel):
    """An earlier turn of the conversation: what was asked and the answer given (null: "not found")."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS)
    answer: str | None = Field(None, max_length=MAX_ANSWER_CHARS)

    @field_validator("question", mode="before")
    @classmethod
    def _read(cls, value: object) -> object:
        return as_read(value) if isinstance(value, str) else value


class AskRequest(Query):
    explain: bool = Field(False, description="Also list the reader's candidate answers that the answer checks dropped, and why (`dropped`).")
    history: list[HistoryTurn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description=f"The conversation so far, oldest first (at most {MAX_HISTORY_TURNS} turns: send the latest). A question that leans on "
        "an earlier turn (\"When did he arrive?\", \"How many were there?\") is answered with that turn's names and topic; "
        "`follows` in the response says which. A question that stands alone is answered as without history.",
    )

    @field_validator("history", mode="before")
    @classmethod
    def _bounded(cls, value: object) -> object:
        if isinstance(value, list) and len(value) > MAX_HISTORY_TURNS:
            raise ValueError(f"history holds at most {MAX_HISTORY_TURNS} turns (send the latest), not {len(value)}")
        return value


class SearchRequest(Query):
    """Retrieval alone: the ranked passages a question would be answered from, for your own reader or model."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"question": "When was the first joint exercise?", "top_k": 5}]})


class PassageScores(BaseModel):
    """How each retriever ranked a passage, and the fused score that ordered it."""

    fused: float = Field(..., description="Reciprocal rank fusion of the two rankings (higher is better).")
    dense_rank: int | None = Field(None, description="1-based rank among the dense (embedding) candidates; null when not among them.")
    dense_distance: float | None = Field(None, description="The vector store's distance to the question (lower is closer).")
    bm25_rank: int | None = Field(None, description="1-based rank among the keyword (BM25) candidates; null when not among them.")
    bm25_score: float | None = Field(None, description="The BM25 score (higher is better).")


class SearchHit(BaseModel):
    """One retrieved passage: `document.text[passage_start:passage_end] == passage`."""

    rank: int = Field(..., description="1-based, after fusion and with copies of one story folded.")
    doc_id: str
    title: str
    source: str
    published: str | None = None
    passage: str
    passage_start: int
    passage_end: int
    scores: PassageScores
    group: str | None = Field(None, description="The article's copy group (as in citations).")
    copies: list[str] = Field(default_factory=list, description="Other articles of the same story whose passage ranked lower, folded under this one.")


class SearchResponse(BaseModel):
    question: str
    passages: list[SearchHit]
    timings_ms: dict[str, float] = Field(default_factory=dict)


class Citation(BaseModel):
    """Where an answer stands: offsets index the stored document's `text`."""

    doc_id: str
    title: str
    source: str
    published: str | None = None
    passage: str
    passage_start: int
    passage_end: int
    answer_start: int
    answer_end: int
    score: float
    excerpt_start: int | None = Field(None, description="The words to show around the answer (its sentence, trimmed at word boundaries): `text[excerpt_start:excerpt_end]`, inside the passage.")
    excerpt_end: int | None = None
    group: str | None = Field(None, description="The article's copy group: the id of the first stored article of the same story (itself when it copies none); citations sharing it are copies, not independent sources.")


class Alternative(BaseModel):
    """A different answer from other articles; its citations carry their dates."""

    answer: str
    score: float
    citations: list[Citation]


class Dropped(BaseModel):
    """A candidate answer the reader proposed that an answer check refused."""

    answer: str = Field(..., description="The reader's span.")
    doc_id: str
    score: float = Field(..., description="The reader's span score for it.")
    check: str = Field(..., description="The check that refused it: names, kind, echo or owner.")
    reason: str


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(..., description="The exact words from the articles, or null when they don't answer.")
    score: float = Field(..., ge=0, le=1, description="Probability in [0, 1] that the answer is right (calibrated end to end on held-out questions); the decision to answer compares it with `threshold`.")
    citations: list[Citation]
    alternatives: list[Alternative] = Field(default_factory=list)
    articles: int = Field(0, description="How many distinct articles give this answer.")
    sources: int = Field(0, description="How many independent stories give this answer: the distinct copy groups among the cited articles (a wire story reprinted by five outlets is one).")
    threshold: float = Field(0.5, description="Answers scoring below this are withheld.")
    timings_ms: dict[str, float] = Field(default_factory=dict)
    most_recent: bool = Field(
        False,
        description="The question asks about the latest state and articles of different dates answer differently: "
        "`answer` is the most recent article's, `alternatives` are the earlier answers, newest first.",
    )
    dropped: list[Dropped] = Field(
        default_factory=list, description="With `explain`: the best candidate answers the answer checks refused, best first, each with its reason."
    )
    follows: int | None = Field(
        None, description="The index in `history` of the earlier turn this question leaned on (its names and topic were used); null when it stood alone."
    )
    _evidence: Any = PrivateAttr(None)  # qa.confidence.Evidence of the answer, for fitting the confidence model


MAX_PAGE = 500  # the most articles one page of GET /documents carries


class DocumentQuery(BaseModel):
    """Which articles `GET /documents` (and `qa docs list`) lists, in what order, and which page of them.

    The response is the page (a list of summaries); the `X-Total-Count` header says how many
    articles match in all. Without `limit` every matching article is listed.
    """

    q: str | None = Field(None, max_length=200, description="Words that must all appear in the title or the id, in any case.")
    source: str | None = Field(None, max_length=1000, description="Part of the source (a file name, a site, a feed), in any case.")
    published_from: PublishedDate | None = Field(None, description="Published on or after, YYYY[-MM[-DD]]; undated articles are left out.")
    published_to: PublishedDate | None = Field(None, description="Published on or before, YYYY[-MM[-DD]]; undated articles are left out.")
    sort: Literal["newest", "oldest", "title", "id"] = Field("newest", description="newest or oldest first (undated articles last), by title, or by id.")
    offset: int = Field(0, ge=0, le=10_000_000, description="How many matching articles to skip.")
    limit: int | None = Field(None, ge=1, le=MAX_PAGE, description=f"At most this many (1-{MAX_PAGE}); all when left out.")


class SamplesOut(BaseModel):
    """The bundled sample articles: those the index holds (GET /samples), or those just removed (DELETE /samples)."""

    doc_ids: list[str]


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    published: str | None = None
    chunks: int
    content_hash: str

    @classmethod
    def of(cls, d: StoredDocument) -> DocumentSummary:
        return cls(doc_id=d.doc_id, title=d.title, source=d.source, published=d.published, chunks=d.chunks, content_hash=d.content_hash)


class DocumentOut(DocumentSummary):
    text: str
    metadata: dict = Field(default_factory=dict)

    @classmethod
    def of(cls, d: StoredDocument) -> DocumentOut:
        return cls(**DocumentSummary.of(d).model_dump(), text=d.text, metadata=d.metadata)


class DocumentIn(BaseModel):
    """A document posted as JSON."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(..., min_length=1, max_length=1000)
    text: str = Field(..., min_length=1)
    doc_id: GivenId | None = Field(
        None,
        description="This document's id: posting the same id again updates it. Default: derived from the title, "
        "and never the id of a different document (a clash gets a short content-hash suffix; the response names the id).",
    )
    source: str | None = Field(None, max_length=1000)
    published: ArticleDate | None = None

    @field_validator("published")
    @classmethod
    def _not_ahead(cls, value: str | None) -> str | None:
        why = dates.future_refusal(value)
        if why:
            raise ValueError(why)
        return value

    @field_validator("text", "title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class FetchIn(BaseModel):
    """A URL for the server to fetch and ingest (POST /documents/fetch)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(..., min_length=1, max_length=2000, description="An http(s) URL of an article page (without user:password@).")

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, value: str) -> str:
        if has_credentials(value):
            raise ValueError(CREDENTIALS_REFUSED)
        return value


class FailureOut(BaseModel):
    source: str
    reason: str


class RenamedOut(BaseModel):
    doc_id: str = Field(..., description="The id the new document got.")
    taken: str = Field(..., description="The id derived for it, which holds a different document (left as it was).")


class IngestOut(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    chunks: int
    failed: list[FailureOut] = Field(default_factory=list, description="Documents of this write that were not stored, and why (the rest were).")
    renamed: list[RenamedOut] = Field(
        default_factory=list,
        description="Documents added under an id of their own because the id derived for them holds a different document "
        "(nothing was replaced; an upload with `replace` replaces it).",
    )

    @classmethod
    def of(cls, report: IngestReport) -> IngestOut:
        failed = [FailureOut(source=f.source, reason=f.reason) for f in report.failed]
        renamed = [RenamedOut(doc_id=new, taken=old) for new, old in report.renamed.items() if new in report.added]
        return cls(added=report.added, updated=report.updated, unchanged=report.unchanged, chunks=report.chunks, failed=failed, renamed=renamed)


class DeleteOut(BaseModel):
    doc_id: str
    deleted: bool


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    store: str
    embedder: str
    reader: str
    version: str
