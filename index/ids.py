"""Document ids: the rules for ids a user gives and ids the service derives, in one place.

An id the user gives means "this document": posting it again updates that document.
An id the service derives (from a title or a file name) must never make two different
documents one: when the derived id is taken by another document, the new one gets the
derived id plus a short hash of its content, so re-posting identical content stays
idempotent and the response names the id each document got.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

MAX_ID_CHARS = 200
_DERIVED_CHARS = 80
_SUFFIX_CHARS = 8
_SUFFIXED = re.compile(r"^(?P<base>.+)-[0-9a-f]{%d}$" % _SUFFIX_CHARS)


class InvalidId(ValueError):
    """An id a user gave that can't name a document; the message says why."""


@dataclass(frozen=True)
class Claim:
    """What the store knows of an id: its document's content hash and where it came from."""

    content_hash: str
    origin: str | None = None
    source: str = ""

    def same_origin(self, origin: str, source: str) -> bool:
        # Documents stored before origins were recorded are matched by their file name.
        return self.origin == origin if self.origin is not None else self.source == source


def _keep(ch: str) -> bool:
    # Letters, marks and digits of every script stay, so a Greek, Cyrillic or CJK title
    # gives a readable id; marks matter for scripts such as Devanagari.
    return unicodedata.category(ch)[0] in "LMN"


def check_given(raw: str) -> str:
    """A user's explicit id, kept as given (NFC, trimmed) or refused with a reason."""
    doc_id = unicodedata.normalize("NFC", raw).strip()
    if not doc_id:
        raise InvalidId("doc_id is empty")
    if len(doc_id) > MAX_ID_CHARS:
        raise InvalidId(f"doc_id is longer than {MAX_ID_CHARS} characters")
    if any(unicodedata.category(ch)[0] == "C" for ch in doc_id):
        raise InvalidId("doc_id contains control or invisible format characters")
    if not any(_keep(ch) for ch in doc_id):
        raise InvalidId("doc_id needs at least one letter or digit")
    if doc_id.startswith("/") or doc_id.endswith("/") or any(seg in ("", ".", "..") for seg in doc_id.split("/")):
        # The id is a URL path below /documents/: these segments would be rewritten by clients.
        raise InvalidId("doc_id can't have empty, '.' or '..' path segments")
    return doc_id


def derive(raw: str, *, from_title: bool) -> str:
    """A readable id from a title (lower case, '-') or a file name (case kept, '_')."""
    text = unicodedata.normalize("NFKC", raw).strip()
    sep = "-" if from_title else "_"
    if from_title:
        text = text.lower()
    out: list[str] = []
    for ch in text:
        if _keep(ch) or (not from_title and ch in "._-"):
            out.append(ch)
        elif out and out[-1] != sep:
            out.append(sep)
    slug = "".join(out).strip("._-")[:_DERIVED_CHARS].strip("._-")
    return slug or "document"


def resolve(base: str, content_hash: str, origin: str | None, source: str, claims: Mapping[str, Claim]) -> str:
    """The id a document with a derived id gets, given the ids already taken.

    Same content under the base id or one of its suffixed forms: that id (unchanged).
    Same origin (the same file ingested again): that id (an update). Otherwise the base id
    if free, else the base id with a hash of the content.
    """
    family = [base] + sorted(i for i in claims if (m := _SUFFIXED.match(i)) and m.group("base") == base)
    taken = [i for i in family if i in claims]
    for i in taken:
        if claims[i].content_hash == content_hash:
            return i
    if origin is not None:
        for i in taken:
            if claims[i].same_origin(origin, source):
                return i
    if base not in claims:
        return base
    # A longer hash only if an explicitly given id happens to look like the suffixed form.
    for n in (_SUFFIX_CHARS, 2 * _SUFFIX_CHARS):
        candidate = f"{base[: MAX_ID_CHARS - n - 1]}-{content_hash[:n]}"
        if candidate not in claims:
            return candidate
    n = 2
    while f"{base}-{content_hash}-{n}" in claims:
        n += 1
    return f"{base}-{content_hash}-{n}"
