"""Settings from the environment: list settings as plain comma-separated values or JSON, and a bad one as one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from qa.settings import Settings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("http://example.org", ["http://example.org"]),
        ("http://a.example, http://b.example,", ["http://a.example", "http://b.example"]),
        ('["http://a.example", "http://b.example"]', ["http://a.example", "http://b.example"]),
        ("", []),
    ],
)
def test_list_settings_take_commas_or_json(monkeypatch: pytest.MonkeyPatch, value: str, expected: list[str]) -> None:
    for name in ("QA_CORS_ORIGINS", "QA_FETCH_ALLOW_HOSTS", "QA_ALLOWED_HOSTS"):
        monkeypatch.setenv(name, value)
    settings = Settings()
    assert settings.cors_origins == settings.fetch_allow_hosts == settings.allowed_hosts == expected


def test_a_broken_json_list_setting_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QA_FETCH_ALLOW_HOSTS", '["127.0.0.1"')
    with pytest.raises(ValidationError, match="not a JSON list"):
        Settings()


def test_cli_reads_a_plain_list_setting(tmp_path: Path) -> None:
    from tests.conftest import qa_env, run_qa

    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false", QA_CORS_ORIGINS="http://example.org", QA_FETCH_ALLOW_HOSTS="127.0.0.1")
    r = run_qa("docs", "list", env=env, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    r = run_qa("docs", "list", env={**env, "QA_CORS_ORIGINS": "[oops"}, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("error: bad setting: cors_origins"), r.stderr
    # qa serve checks its settings before it starts the server: one line, no traceback.
    r = run_qa("serve", "--port", "1", env={**env, "QA_CORS_ORIGINS": "[oops"}, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr and r.stderr.startswith("error: bad setting: cors_origins"), r.stderr
