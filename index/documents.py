"""The records that cross the index boundary: documents and their chunks."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


def normalize_newlines(text: str) -> str:
    """One newline convention, so offsets mean the same whatever platform wrote the text."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


@dataclass(frozen=True)
class Document:
    """One article. `text` is the exact text every character offset refers to."""

    id: str
    title: str
    text: str
    source: str
    published: str | None = None
    metadata: dict[str, str | int | float | bool] = field(default_factory=dict)
    # Not content: an id derived from a title or file name (see index.ids) is resolved
    # against the store before writing; `origin` (a file's path) tells updates from clashes.
    derived_id: bool = False
    origin: str | None = None
    # Asked for explicitly: a derived id replaces the different document that holds it
    # (otherwise this one gets an id of its own).
    replace: bool = False

    @property
    def content_hash(self) -> str:
        h = hashlib.sha256()
        for part in (self.title, self.text, self.source, self.published or ""):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        for key in sorted(self.metadata):
            h.update(f"{key}={self.metadata[key]}".encode())
            h.update(b"\x00")
        return h.hexdigest()[:16]


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: `Document.text[start:end] == text`."""

    doc_id: str
    chunk_id: str
    text: str
    start: int
    end: int
