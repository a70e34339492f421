"""The quick evaluation: the seeded subsets shipped in eval/data/quick, failing when a quality figure drops below its floor.

Nothing here reads the full benchmark sets: QA_EVAL_DATA points at a folder that does not
exist, and the quick run must not notice.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from eval.common import QUICK_DATA, read_jsonl
from eval.run import targets
from tests.conftest import BIN, ROOT

MISSING = "/nonexistent/eval-data"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("QA_DATA_DIR", "QA_CHROMA_URL")}
    env["QA_EVAL_DATA"] = MISSING
    return env


def test_quick_subsets_are_shipped_and_consistent() -> None:
    files = [p for p in QUICK_DATA.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 3_000_000
    for name in ("squad-v1.1-dev", "squad-v2.0-dev", "beir-scifact", "hotpotqa-dev-ircot500"):
        docs = {d["id"] for d in read_jsonl(QUICK_DATA / name / "documents.jsonl")}
        qs = read_jsonl(QUICK_DATA / name / "questions.jsonl")
        assert qs and len(docs) >= 150, name
        gold = {d for q in qs for d in (q.get("supporting_doc_ids") or q.get("relevant_doc_ids") or [q["doc_id"]])}
        assert gold <= docs, f"{name}: gold documents missing from the subset"
        if name in ("beir-scifact", "hotpotqa-dev-ircot500"):  # SQuAD: each question has 1 gold paragraph among 300
            assert len(docs - gold) >= 100, f"{name}: too few distractors for a meaningful retrieval figure"
    qrels = (QUICK_DATA / "beir-scifact" / "qrels" / "test.tsv").read_text().splitlines()[1:]
    assert {row.split("\t")[1] for row in qrels} <= {d["id"] for d in read_jsonl(QUICK_DATA / "beir-scifact" / "documents.jsonl")}


def test_full_run_without_data_says_where_to_point() -> None:
    r = subprocess.run([str(BIN / "qa"), "eval"], env=_env(), capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 4, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and MISSING in lines[0] and "QA_EVAL_DATA" in lines[0], r.stderr


@pytest.mark.slow
def test_qa_eval_quick(tmp_path: Path) -> None:
    r = subprocess.run([str(BIN / "qa"), "eval", "--quick", "--out", str(tmp_path)], env=_env(), capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    figures = json.loads((tmp_path / "figures.json").read_text())
    floors = json.loads((ROOT / "eval" / "floors.json").read_text())["quick"]
    assert figures["seed_right"] >= floors["seed_right"] and figures["seed_rejected"] == 2
    # Abstention's floors: on-topic questions the sample articles don't answer, and SQuAD v2.0 end to end.
    for name in ("on_topic_rejected", "e2e_squad2_noans_acc", "e2e_squad2_hasans_f1"):
        assert figures[name] >= floors[name], name
    for name in ("reader_squad1_em", "retrieval_hybrid_r5", "e2e_squad1_em", "scifact_hybrid_ndcg10", "hotpotqa_hybrid_r10", "ask_p50_ms_1", "reader_weights_mb"):
        assert name in figures, name
    assert (tmp_path / "report.md").read_text().count("|") > 20


def test_targets_are_reported_met_or_missed() -> None:
    figures = {"news_em": 35.6, "news_r5": 0.84, "e2e_squad2_noans_acc": 71.0, "e2e_squad2_hasans_f1": 59.9, "reader_squad2_overall_f1": 68.0,
               "reader_squad1_f1": 77.9, "seed_right": 14, "seed_rejected": 2, "on_topic_rejected": 13, "on_topic": 14, "reader_weights_mb": 45.1}
    rows = {row.split(" | ")[0].lstrip("| "): row.rstrip(" |").rsplit(" | ", 1)[1] for row in targets(figures)[2:]}
    assert rows == {
        "news EM ≥ 35.6 (+15 over the pipeline of 2026-11-30, 20.6)": "met",
        "news recall@5 of the answering article ≥ 0.85": "**missed**",
        "SQuAD v2.0 end to end: NoAns ≥ 70% with HasAns F1 ≥ 60": "**missed**",
        "SQuAD v2.0 reader (threshold from half A), half B overall F1 ≥ 68": "met",
        "SQuAD v1.1 gold paragraph F1 ≥ 78 (CPU-only training)": "**missed**",
        "seed_dev 14 of 14 and 2 of 2": "met",
        'on-topic questions the sample articles don\'t answer: all "not found"': "**missed**",
        "shipped reader weights ≤ 50 MB": "met",
    }
    assert targets({}) == []


def test_headline_figures_join_a_history_with_date_and_commit_and_a_chart(tmp_path: Path) -> None:
    from eval import history

    csv_path = tmp_path / "history.csv"
    assert history.append({"news_em": 26.06, "seed_right": 14, "not_a_headline": 1.0}, "2026-12-01 07:10", "4af6fa4", csv_path) == 2
    assert history.append({"news_em": 27.5}, "2026-12-07 15:00", "1bea484", csv_path) == 1
    rows = history.read(csv_path)
    assert [(r["date"], r["commit"], r["figure"], r["value"]) for r in rows] == [
        ("2026-12-01 07:10", "4af6fa4", "news_em", "26.06"), ("2026-12-01 07:10", "4af6fa4", "seed_right", "14"),
        ("2026-12-07 15:00", "1bea484", "news_em", "27.5"),
    ]
    png = history.chart(csv_path)
    assert png == tmp_path / "history.png" and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The shipped history names every run by date and commit, and only headline figures.
    shipped = history.read()
    assert shipped and all(r["date"] and r["commit"] and r["figure"] in history.HEADLINE for r in shipped)
