"""One settings object for the whole service, read from `QA_*` environment variables."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from qa.schema import MAX_TOP_K


def default_data_dir() -> Path:
    return Path.home() / ".local" / "share" / "qa"


def _list_value(value: object) -> object:
    """A list setting from the environment: a JSON list, or plain values separated by commas."""
    if not isinstance(value, str):
        return value
    if value.strip().startswith("["):
        try:
            return json.loads(value)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not a JSON list ({exc.msg}); or give plain values separated by commas") from None
    return [part.strip() for part in value.split(",") if part.strip()]


# Read by the validator above, not decoded as JSON by pydantic-settings first (which fails on a plain value).
ListSetting = Annotated[list[str], NoDecode, BeforeValidator(_list_value)]


class Settings(BaseSettings):
    """Every option the service reads. Each field is the env var `QA_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="QA_", env_file=None, extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir, description="Where the embedded store and derived indexes live.")
    cache_dir: Path = Field(default_factory=lambda: Path.home() / ".cache" / "qa", description="Derived model files (the ONNX graphs of the reader and the embedder, built once from the shipped weights).")
    chroma_url: str | None = Field(None, description="Use a Chroma server (http://host:port) instead of the embedded store.")
    embedder_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description="How chunks and questions are embedded: an int8 ONNX Runtime graph derived once from the shipped weights (fastest), "
        "the same graph in fp32, or sentence-transformers on torch. Vectors of all three agree to a cosine of 0.97 or more.",
    )
    reader_path: Path | None = Field(None, description="Folder of another reader model; default: the one shipped in the package.")
    top_k: int = Field(5, ge=1, le=MAX_TOP_K, description="Passages read per question by default.")
    candidates: int = Field(30, ge=1, le=500, description="Passages each retriever returns before fusion.")
    no_answer_threshold: float | None = Field(None, description="Override of the calibrated abstention threshold on the score in [0, 1].")
    alternative_ratio: float = Field(0.75, ge=0, le=1, description="Show a different answer as an alternative when its score is at least this share of the best one.")
    max_upload_bytes: int = Field(5_000_000, ge=1000, description="Largest document accepted over HTTP.")
    threads: int = Field(2, ge=1, le=64, description="Torch/ONNX threads for the models.")
    max_concurrent_reads: int = Field(2, ge=1, le=64, description="Model calls run at once; further requests queue.")
    read_timeout_s: float = Field(30.0, gt=0, description="How long a question may wait for a model slot; past it the API answers 503 (busy) instead of piling up work.")
    api_key: SecretStr | None = Field(None, description="When set, write endpoints need 'Authorization: Bearer <key>' (never printed or logged).")
    allowed_hosts: ListSetting = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "::1"],
        description="Host names the API answers to, besides the address it listens on; other Host headers get 400 "
        "(a page whose name is rebound to this server's address can't pass as this server). '*' allows any (comma-separated or a JSON list).",
    )
    cors_origins: ListSetting = Field(default_factory=list, description="Origins allowed by CORS (comma-separated or a JSON list); none by default.")
    fetch_enabled: bool = Field(False, description="Allow POST /documents/fetch to fetch a URL from this server (off by default).")
    fetch_allow_hosts: ListSetting = Field(
        default_factory=list,
        description="Hosts or addresses POST /documents/fetch, `qa ingest URL` and `qa watch` may fetch even though they are private, loopback, link-local or reserved "
        "(comma-separated or a JSON list); a name matches an entry of the address it resolves to.",
    )
    fetch_deadline_s: float = Field(
        30.0, gt=0, description="The most one fetch of a page or feed may take, retries and redirects included (a page that trickles bytes is cut off there)."
    )
    feed_max_items: int = Field(100, ge=1, description="The most items taken from one feed in one cycle of `qa watch` or `qa ingest` (new ones first); the rest wait for the next cycle.")
    feed_budget_s: float = Field(
        300.0, gt=0, description="The most time one feed's items may take in one cycle; past it the items left wait for the next cycle, so one huge or slow feed can't starve the others."
    )
    min_free_mb: float = Field(
        100.0, ge=0, description="Writes are refused (HTTP 507, `qa ingest` exit 3) while the data directory's disk has less than this many MB free, "
        "so the store never runs out mid-write (0: no margin)."
    )
    sample_corpus: bool = Field(True, description="Ingest the bundled sample articles when the index is empty on first `qa ask`.")
    log_level: str = Field("INFO", description="Log level of the service.")
    warm_before_serving: bool = Field(
        False,
        description="Load the models before accepting connections (set by `qa serve --workers N` with N > 1, "
        "so the shared socket never hands a request to a worker that is still loading).",
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
