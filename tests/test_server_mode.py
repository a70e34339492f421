"""Server mode: a real `chroma run`, two API workers, the same answers as the embedded store."""

from __future__ import annotations

import httpx
import pytest

from qa.pipeline import SAMPLE_CORPUS
from tests.conftest import ChromaServer, Server, qa_env, run_qa, seed_questions

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="module")
def chroma(tmp_path_factory):
    server = ChromaServer(tmp_path_factory.mktemp("chroma") / "db")
    yield server
    server.stop()


def test_same_answers_as_embedded(chroma, served, tmp_path) -> None:
    env = qa_env(tmp_path / "data", QA_CHROMA_URL=chroma.url, QA_SAMPLE_CORPUS="false")
    ing = run_qa("ingest", str(SAMPLE_CORPUS), env=env)
    assert ing.returncode == 0 and "5 added" in ing.stdout, ing.stderr
    again = run_qa("ingest", str(SAMPLE_CORPUS), env=env)
    assert "5 unchanged" in again.stdout

    api = Server(env, workers=2)
    try:
        api.wait_ready()
        h = httpx.get(api.url + "/health").json()
        assert h["store"].startswith("server") and h["documents"] == 5
        for q in seed_questions():
            remote = httpx.post(api.url + "/ask", json={"question": q["question"]}, timeout=60).json()
            local = httpx.post(served.url + "/ask", json={"question": q["question"]}, timeout=60).json()
            assert remote["answer"] == local["answer"], q["question"]
            assert {c["doc_id"] for c in remote["citations"]} == {c["doc_id"] for c in local["citations"]}
            # Approximate nearest neighbours and BM25 ties may order passages differently.
            assert abs(remote["score"] - local["score"]) < 0.05

        # A write through one worker is seen by every worker (the BM25 index follows the store).
        doc = {"title": "Giraffe news", "text": "The city zoo welcomed a baby giraffe named Kito on Tuesday."}
        assert httpx.post(api.url + "/documents", json=doc, timeout=60).status_code == 200
        for _ in range(6):  # requests spread over both workers
            resp = httpx.post(api.url + "/ask", json={"question": "What was the baby giraffe called?"}, timeout=60).json()
            assert resp["answer"] == "Kito"
        assert httpx.delete(api.url + "/documents/giraffe-news").json()["deleted"] is True
        for _ in range(4):
            resp = httpx.post(api.url + "/ask", json={"question": "What was the baby giraffe called?"}, timeout=60).json()
            assert all(c["doc_id"] != "giraffe-news" for c in resp["citations"])
    finally:
        api.stop()


def test_cli_asks_a_running_server(served, tmp_path) -> None:
    r = run_qa("ask", "When was the first joint exercise?", "--url", served.url, env=qa_env(tmp_path / "unused"))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0].strip() == "September"
