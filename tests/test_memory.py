"""The server's malloc arena limit: set for the process and its workers, never over an explicit setting."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

PROBE = "import os; from api.memory import limit_malloc_arenas; limit_malloc_arenas(); print(os.environ['MALLOC_ARENA_MAX'])"


def _probe(env: dict[str, str]) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_arenas_are_limited_for_the_server_and_its_workers() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert _probe(env) == "2"


def test_an_explicit_setting_wins() -> None:
    assert _probe({**os.environ, "MALLOC_ARENA_MAX": "6"}) == "6"
