"""The quick evaluation: a seeded subset that fails when a quality figure drops below its floor."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from eval.common import EVAL_DATA
from tests.conftest import BIN, ROOT

pytestmark = pytest.mark.slow


def test_qa_eval_quick(tmp_path: Path) -> None:
    if not (EVAL_DATA / "squad-v1.1-dev" / "questions.jsonl").exists():
        pytest.fail(f"evaluation data not found at {EVAL_DATA} (set QA_EVAL_DATA)")
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("QA_DATA_DIR", "QA_CHROMA_URL")}
    r = subprocess.run([str(BIN / "qa"), "eval", "--quick", "--out", str(tmp_path)], env=env, capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    figures = json.loads((tmp_path / "figures.json").read_text())
    assert figures["seed_right"] >= 13 and figures["seed_rejected"] == 2
    for name in ("reader_squad1_em", "retrieval_hybrid_r5", "e2e_squad1_em", "scifact_hybrid_ndcg10", "hotpotqa_hybrid_r10", "ask_p50_ms_1"):
        assert name in figures, name
    assert (tmp_path / "report.md").read_text().count("|") > 20
