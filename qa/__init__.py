"""Extractive, cited question answering over a collection of articles.

The Python API, the same calls the CLI, the HTTP API and the MCP tools make::

    from qa import AskRequest, Pipeline, Settings

    pipe = Pipeline(Settings(data_dir="my-data"))
    pipe.ingest_paths([Path("articles")])
    answer = pipe.ask(AskRequest(question="When was the first joint exercise?"))

The names below are the supported ones; they load on first use, so `import qa` stays light.
"""

from __future__ import annotations

import os
from importlib import import_module
from typing import TYPE_CHECKING, Any

# Every model ships with the package or the project: never reach for a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

__version__ = "0.1.0"

# Each supported name and the module that defines it.
_EXPORTS = {
    "Pipeline": "qa.pipeline",
    "Busy": "qa.pipeline",
    "Settings": "qa.settings",
    "AskRequest": "qa.schema",
    "AskResponse": "qa.schema",
    "AskFilters": "qa.schema",
    "Citation": "qa.schema",
    "Alternative": "qa.schema",
    "SearchRequest": "qa.schema",
    "SearchResponse": "qa.schema",
    "SearchHit": "qa.schema",
    "DocumentIn": "qa.schema",
    "DocumentOut": "qa.schema",
    "DocumentSummary": "qa.schema",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:
    from qa.pipeline import Busy, Pipeline
    from qa.schema import (
        Alternative,
        AskFilters,
        AskRequest,
        AskResponse,
        Citation,
        DocumentIn,
        DocumentOut,
        DocumentSummary,
        SearchHit,
        SearchRequest,
        SearchResponse,
    )
    from qa.settings import Settings


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'qa' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
