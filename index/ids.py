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
# The origin of an uploaded file: its name only, which two different files can share, so it
# never makes an upload an update of another document (see `Catalog.resolve`).
UPLOAD_ORIGIN = "upload:"
_DERIVED_CHARS = 80
_SUFFIX_CHARS = 8
_SUFFIXED = re.compile(r"^(?P<base>.+)-[0-9a-f]{%d}(?:[0-9a-f]{%d})?$" % (_SUFFIX_CHARS, _SUFFIX_CHARS))


class InvalidId(ValueError):
    """An id a user gave that can't name a document; the message says why."""


@dataclass(frozen=True)
class Claim:
    """What the store knows of an id: its document's content hash and where it came from."""

    content_hash: str
    origin: str | None = None
    source: str = ""


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


class Catalog:
    """The ids already taken, indexed by origin, so resolving one id costs lookups, not a scan."""

    # How many numbered forms (`base-hash-2` ...) a partial catalog holds; past them it asks for all.
    NUMBERED = 8

    def __init__(self, claims: Mapping[str, Claim], *, complete: bool = True):
        # A partial catalog holds only the claims that resolving some given documents can
        # consult (`candidates`, and their origins): one write needs lookups, not a scan.
        self.complete = complete
        self.claims: dict[str, Claim] = {}
        self._by_origin: dict[tuple[str, str], list[str]] = {}
        for doc_id, claim in claims.items():
            self.add(doc_id, claim)

    def add(self, doc_id: str, claim: Claim) -> None:
        self.claims[doc_id] = claim
        self._by_origin.setdefault(self._origin_key(claim.origin, claim.source), []).append(doc_id)

    @staticmethod
    def _origin_key(origin: str | None, source: str) -> tuple[str, str]:
        # Documents stored before origins were recorded are matched by their file name.
        return ("origin", origin) if origin is not None else ("source", source)

    @staticmethod
    def candidates(base: str, content_hash: str) -> list[str]:
        """Every id `resolve` may give a document before a partial catalog has to ask for all."""
        suffixed = [f"{base[: MAX_ID_CHARS - n - 1]}-{content_hash[:n]}" for n in (_SUFFIX_CHARS, 2 * _SUFFIX_CHARS)]
        return [base, *suffixed, *(f"{base}-{content_hash}-{n}" for n in range(2, 2 + Catalog.NUMBERED))]

    def resolve(self, base: str, content_hash: str, origin: str | None, source: str, *, replace: bool = False) -> str | None:
        """The id a document with a derived id gets.

        `replace` (asked for explicitly): the base id, whatever holds it. Same content under
        the base id or its suffixed form: that id (unchanged). Same origin (the same file
        path or URL ingested again; not an upload, known by its name alone): that id (an
        update). Otherwise the base id if free, else the base id with a hash of the content.
        """
        if replace:
            return base
        if origin is not None and origin.startswith(UPLOAD_ORIGIN):
            origin = None
        suffixed = self.candidates(base, content_hash)[1:3]
        for doc_id in (base, *suffixed):
            if doc_id in self.claims and self.claims[doc_id].content_hash == content_hash:
                return doc_id
        if origin is not None:
            for key in (self._origin_key(origin, source), self._origin_key(None, source)):
                for doc_id in self._by_origin.get(key, []):
                    claim = self.claims[doc_id]
                    if self._origin_key(claim.origin, claim.source) != key:
                        continue  # replaced since by a document from elsewhere
                    m = _SUFFIXED.match(doc_id)
                    if doc_id == base or (m is not None and m.group("base") == base):
                        return doc_id
        for doc_id in (base, *suffixed):
            # A longer hash only if an explicitly given id happens to look like the suffixed form.
            if doc_id not in self.claims:
                return doc_id
        n = 2
        while f"{base}-{content_hash}-{n}" in self.claims:
            n += 1
        if not self.complete and n >= 2 + self.NUMBERED:
            return None  # past what this catalog was given: the caller asks with every claim
        return f"{base}-{content_hash}-{n}"
