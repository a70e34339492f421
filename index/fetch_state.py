"""What a fetcher remembers between runs: ETag / Last-Modified per URL, in one JSON file written atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from index.fetch import Fetched


class FetchState:
    """ETag / Last-Modified per URL (and a feed's item URLs), in one JSON file written atomically."""

    def __init__(self, path: Path):
        self.path = path
        self.urls: dict[str, dict] = self._read()
        self._changed: dict[str, dict] = {}

    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # missing or damaged: every URL is fetched in full once
        urls = data.get("urls") if isinstance(data, dict) else None
        return {k: v for k, v in urls.items() if isinstance(v, dict)} if isinstance(urls, dict) else {}

    def get(self, url: str) -> dict:
        return self.urls.get(url, {})

    def remember(self, url: str, fetched: Fetched, **extra) -> None:
        entry = {k: v for k, v in (("etag", fetched.etag), ("last_modified", fetched.last_modified)) if v}
        entry.update(extra)
        self.urls[url] = entry
        self._changed[url] = entry

    def forget(self, url: str) -> None:
        self.urls.pop(url, None)
        self._changed[url] = {}

    def save(self) -> None:
        """Merge this run's changes into the file as it is now (another process may have written), then replace it."""
        if not self._changed:
            return
        merged = self._read()
        for url, entry in self._changed.items():
            if entry:
                merged[url] = entry
            else:
                merged.pop(url, None)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=self.path.name + ".", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "urls": merged}, f, ensure_ascii=False, indent=0)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self.urls = merged
        self._changed = {}
