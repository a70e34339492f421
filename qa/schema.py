"""The answer contract: request and response models shared by HTTP, CLI and page."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_QUESTION_CHARS = 1000


class AskFilters(BaseModel):
    """Restrict the articles a question is answered from."""

    model_config = ConfigDict(extra="forbid")

    doc_ids: list[str] | None = Field(None, max_length=1000, description="Only these documents.")
    source: str | None = Field(None, max_length=1000, description="Only documents from this source (file name or JSONL source).")
    published_from: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="Earliest publication date, YYYY[-MM[-DD]].")
    published_to: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$", description="Latest publication date, YYYY[-MM[-DD]].")


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(..., min_length=1, max_length=MAX_QUESTION_CHARS, description="The question, in plain words.")
    top_k: int | None = Field(None, ge=1, le=100, description="Passages to read (default from settings; capped by QA_MAX_TOP_K).")
    filters: AskFilters | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("question is empty")
        return value.strip()


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


class Alternative(BaseModel):
    answer: str
    score: float
    citations: list[Citation]


class AskResponse(BaseModel):
    question: str
    answer: str | None = Field(..., description="The exact words from the articles, or null when they don't answer.")
    score: float = Field(..., ge=0, le=1, description="Calibrated confidence in [0, 1].")
    citations: list[Citation]
    alternatives: list[Alternative] = Field(default_factory=list)
    articles: int = Field(0, description="How many distinct articles give this answer.")
    threshold: float = Field(0.5, description="Answers scoring below this are withheld.")
    timings_ms: dict[str, float] = Field(default_factory=dict)


class DocumentSummary(BaseModel):
    doc_id: str
    title: str
    source: str
    published: str | None = None
    chunks: int
    content_hash: str


class DocumentOut(DocumentSummary):
    text: str
    metadata: dict = Field(default_factory=dict)


class DocumentIn(BaseModel):
    """A document posted as JSON."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(..., min_length=1, max_length=1000)
    text: str = Field(..., min_length=1)
    doc_id: str | None = Field(None, max_length=200, description="Default: derived from the title.")
    source: str | None = Field(None, max_length=1000)
    published: str | None = Field(None, pattern=r"^\d{4}(-\d{2}(-\d{2})?)?$")

    @field_validator("text", "title")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value


class IngestOut(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    chunks: int


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
