"""Reading a Chroma collection in pages, so no single call carries the whole of it."""

from __future__ import annotations

from collections.abc import Iterator

PAGE = 2000


def pages(collection, include: list[str], where: dict | None = None, page: int = PAGE) -> Iterator[dict]:
    """Each page of `collection.get` (ids and `include`), in order, until one comes back empty."""
    offset = 0
    while True:
        got = collection.get(include=include, where=where, limit=page, offset=offset)
        if not got["ids"]:
            return
        yield got
        offset += len(got["ids"])
