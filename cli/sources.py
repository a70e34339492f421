"""Feeds and article URLs as sources of `qa ingest` and `qa watch`: told from files, synced, on a period."""

from __future__ import annotations

import re
from pathlib import Path

from cli.output import fail


def split_sources(sources: list[str]) -> tuple[list[Path], list[str]]:
    """Files and folders on one side; feeds (URL or .rss/.atom/.xml file) and article URLs on the other."""
    from index.feeds import is_feed_file, is_url

    from index.urls import CREDENTIALS_REFUSED, has_credentials, without_credentials

    remote = [s for s in sources if is_url(s) or is_feed_file(s)]
    for s in remote:
        if is_url(s) and has_credentials(s):
            fail(f"{without_credentials(s)}: {CREDENTIALS_REFUSED}")
        if not is_url(s) and not Path(s).is_file():
            fail(f"{s}: no such feed file")
    return [Path(s) for s in sources if s not in remote], remote


def sync_over(pipe, stop=None, host_delay_s: float = 1.0, timeout_s: float = 20.0):
    from index.feeds import STATE_FILE, Sync
    from index.fetch import AddressGuard, Fetcher

    settings = pipe.settings
    # The same guard as the API's fetch: what the CLI fetches is readable through GET /documents.
    fetcher = Fetcher(guard=AddressGuard(settings.fetch_allow_hosts), stop=stop, host_delay_s=host_delay_s,
                      timeout_s=timeout_s, deadline_s=settings.fetch_deadline_s)
    pipe.open_store()
    sync = Sync(pipe.add_documents, pipe.store.claims, fetcher, settings.data_dir / STATE_FILE,
                max_items=settings.feed_max_items, budget_s=settings.feed_budget_s)
    return fetcher, sync


def period_seconds(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text.lower())
    if not m or float(m.group(1)) <= 0:
        fail(f"--every: {text!r} is not a duration (e.g. 30s, 15m, 1h)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
