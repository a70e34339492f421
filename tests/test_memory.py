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


def test_model_sessions_keep_no_memory_pattern_per_shape() -> None:
    """Every ONNX session (embedder and reader) plans memory per run: a cached pattern per
    input shape would grow with every new question and passage length."""
    from index.embed import Embedder
    from qa.read import Reader

    embedder, reader = Embedder(), Reader()
    embedder.warm_up()
    reader.warm_up()
    for s in (embedder._sessions[0], reader._session):
        opts = s.get_session_options()
        assert opts.enable_mem_pattern is False and opts.intra_op_num_threads >= 1
