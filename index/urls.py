"""URLs as the service keeps and sends them: never with a user name or password in them."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

CREDENTIALS_REFUSED = "credentials in URLs are not sent: remove the 'user:password@' part"


def has_credentials(url: str) -> bool:
    return "@" in urlsplit(url.strip()).netloc


def without_credentials(url: str) -> str:
    """`url` without its `user:password@` (any other text, a file name or 'pasted', as it is)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
