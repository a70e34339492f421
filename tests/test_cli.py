"""End to end through the `qa` command: real store, real models, real files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import qa_env, run_qa

pytestmark = pytest.mark.slow

BOTH = {"002_f4d9ea0e48462951", "003_86bc19b1e0a8f9ad"}


def _check_offsets(resp: dict, env: dict) -> None:
    """Every citation's offsets slice the stored document exactly."""
    texts: dict[str, str] = {}
    groups = [(resp["answer"], resp["citations"])] + [(a["answer"], a["citations"]) for a in resp["alternatives"]]
    for answer, citations in groups:
        for i, c in enumerate(citations):
            if c["doc_id"] not in texts:
                shown = run_qa("docs", "show", c["doc_id"], "--json", env=env)
                assert shown.returncode == 0, shown.stderr
                texts[c["doc_id"]] = json.loads(shown.stdout)["text"]
            text = texts[c["doc_id"]]
            assert text[c["passage_start"] : c["passage_end"]] == c["passage"]
            if i == 0:
                assert text[c["answer_start"] : c["answer_end"]] == answer


def test_first_ask_ingests_samples_and_answers_september(tmp_path: Path) -> None:
    env = qa_env(tmp_path / "data")
    r = run_qa("ask", "When was the first joint exercise?", env=env)
    assert r.returncode == 0, r.stderr
    assert "ingested the bundled sample articles" in r.stderr
    assert r.stdout.splitlines()[0].strip() == "September"
    for doc_id in BOTH:
        assert doc_id in r.stdout
    # Article 002 has no sentence punctuation: its answer is shown in a trimmed excerpt, not the whole paragraph.
    assert "…" in r.stdout and len(r.stdout) < 1500

    j = run_qa("ask", "When was the first joint exercise?", "--json", env=env)
    assert j.returncode == 0, j.stderr
    resp = json.loads(j.stdout)
    assert resp["answer"] == "September" and 0 <= resp["score"] <= 1
    assert BOTH <= {c["doc_id"] for c in resp["citations"]}
    assert set(resp) >= {"question", "answer", "score", "citations", "alternatives", "timings_ms"}
    _check_offsets(resp, env)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "question is empty"),
        (["ask", "x" * 1001], "at most 1000"),
        (["ask", "Who?", "--top-k", "0"], "top_k"),
        (["ask", "Who?", "--top-k", "500"], "top_k"),
        (["docs", "show", "no-such-doc"], "no document"),
        (["docs", "delete", "no-such-doc"], "no document"),
        (["ingest", "/no/such/path"], "no such file"),
        (["ask", "Who?", "--url", "http://127.0.0.1:9"], "can't reach"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(tmp_path: Path, args: list[str], message: str) -> None:
    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false")
    r = run_qa(*args, env=env)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert message in r.stderr
    assert len([line for line in r.stderr.splitlines() if line.startswith("error:") or line.startswith("skipped:")]) == 1


def test_ingest_is_idempotent_replaces_changed_and_prunes(tmp_path: Path, corpus_copy: Path) -> None:
    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false")
    (corpus_copy / "bad.txt").write_bytes(b"\x00\x01 binary junk")
    (corpus_copy / "empty.md").write_text("  \n")
    first = run_qa("ingest", str(corpus_copy), env=env)
    assert first.returncode == 1  # two files failed, the rest went on
    assert "5 added" in first.stdout and "bad.txt" in first.stderr and "empty.md" in first.stderr
    (corpus_copy / "bad.txt").unlink()
    (corpus_copy / "empty.md").unlink()

    again = run_qa("ingest", str(corpus_copy), env=env)
    assert again.returncode == 0 and "0 added, 0 updated, 5 unchanged" in again.stdout

    # A changed article replaces its chunks: the old answer can no longer be cited.
    path = corpus_copy / "003_86bc19b1e0a8f9ad.txt"
    text = path.read_text(encoding="utf-8")
    assert "Lt. Gen. Nazir Ahmed Butt" in text
    path.write_text(text.replace("Lt. Gen. Nazir Ahmed Butt", "Major General Imran Qadir"), encoding="utf-8")
    changed = run_qa("ingest", str(corpus_copy), env=env)
    assert "1 updated" in changed.stdout
    r = json.loads(run_qa("ask", "Who briefed the Russian military delegation on the anti-terrorism campaign?", "--json", env=env).stdout)
    cited = " ".join(c["passage"] for c in r["citations"]) + " " + json.dumps(r["alternatives"])
    assert "Nazir Ahmed Butt" not in cited
    shown = json.loads(run_qa("docs", "show", "003_86bc19b1e0a8f9ad", "--json", env=env).stdout)
    assert "Imran Qadir" in shown["text"]

    # --prune removes what is no longer there.
    (corpus_copy / "000_8f29a9f3c101fd9c.txt").unlink()
    pruned = run_qa("ingest", "--prune", str(corpus_copy), env=env)
    assert "1 removed" in pruned.stdout
    listed = json.loads(run_qa("docs", "list", "--json", env=env).stdout)
    assert {d["doc_id"] for d in listed} == {p.stem for p in corpus_copy.glob("*.txt")}


def test_filters_restrict_the_articles(tmp_path: Path) -> None:
    env = qa_env(tmp_path / "data")
    r = run_qa("ask", "When was the first joint exercise?", "--json", "--doc-id", "003_86bc19b1e0a8f9ad", env=env)
    resp = json.loads(r.stdout)
    assert {c["doc_id"] for c in resp["citations"]} <= {"003_86bc19b1e0a8f9ad"}


def test_jsonl_and_html_ingest(tmp_path: Path) -> None:
    env = qa_env(tmp_path / "data", QA_SAMPLE_CORPUS="false")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "feed.jsonl").write_text(
        json.dumps({"id": "zoo-1", "title": "Zoo news", "text": "The city zoo welcomed a baby giraffe named Kito on Tuesday.", "published": "2024-03-05", "url": "http://example.org/zoo"}) + "\n"
    )
    shutil.copy(Path(__file__).parent / "data" / "article.html", folder / "harbour.html")
    r = run_qa("ingest", str(folder), env=env)
    assert r.returncode == 0, r.stderr
    resp = json.loads(run_qa("ask", "What was the baby giraffe called?", "--json", env=env).stdout)
    assert resp["answer"] == "Kito" and resp["citations"][0]["published"] == "2024-03-05"
    resp = json.loads(run_qa("ask", "What was the baby giraffe called?", "--json", "--from", "2025-01-01", env=env).stdout)
    assert resp["answer"] is None
