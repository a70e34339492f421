"""One page of the article list: the articles a search matches, in the order asked for."""

from __future__ import annotations

from collections.abc import Sequence

from index.store import StoredDocument, published_number

SORTS = ("newest", "oldest", "title", "id")


def _matches(d: StoredDocument, words: list[str], source: str | None, low: int | None, high: int | None) -> bool:
    if words:
        haystack = f"{d.title} {d.doc_id}".casefold()
        if not all(w in haystack for w in words):
            return False
    if source and source not in d.source.casefold():
        return False
    if low is not None or high is not None:
        day = published_number(d.published)
        if day is None or (low is not None and day < low) or (high is not None and day > high):
            return False
    return True


def _ordered(docs: list[StoredDocument], sort: str) -> list[StoredDocument]:
    by_title = sorted(docs, key=lambda d: (d.title.casefold(), d.doc_id))
    if sort == "title":
        return by_title
    if sort == "id":
        return sorted(docs, key=lambda d: d.doc_id)
    # By day, then by the stored value (a time of day orders one day's articles); undated
    # articles last whichever way, by title.
    dated = [d for d in by_title if published_number(d.published) is not None]
    undated = [d for d in by_title if published_number(d.published) is None]
    dated.sort(key=lambda d: (published_number(d.published), str(d.published)), reverse=sort == "newest")
    return dated + undated


def select(
    docs: Sequence[StoredDocument], *, q: str | None = None, source: str | None = None, published_from: str | None = None,
    published_to: str | None = None, sort: str = "newest", offset: int = 0, limit: int | None = None,
) -> tuple[int, list[StoredDocument]]:
    """(how many articles match, the page of them from `offset`, at most `limit`).

    `q`: every word must appear in the title or the id, in any case; `source`: part of the
    source, in any case; the dates bound the publication day as the retrieval filters do
    (a month or a year alone as a lower bound is its first day, as an upper bound its last).
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}")
    words = (q or "").casefold().split()
    low = published_number(published_from) if published_from else None
    high = published_number(published_to, end=True) if published_to else None
    found = [d for d in docs if _matches(d, words, (source or "").casefold().strip() or None, low, high)]
    ordered = _ordered(found, sort)
    end = None if limit is None else offset + limit
    return len(found), ordered[offset:end]
