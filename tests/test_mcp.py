"""The MCP tools: their schemas are the API's, and the SDK's own client drives them over stdio
(`qa mcp` as a subprocess) and over streamable HTTP (`qa serve` on 127.0.0.1, at /mcp)."""

from __future__ import annotations

import inspect
import json
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client

from api import mcp as qa_mcp
from qa.schema import AskRequest, AskResponse, Citation, DocumentIn, SearchRequest
from tests.conftest import BIN, Server, qa_env

QUESTION = "When was the first joint exercise?"
TOOLS = {"ask", "search", "list_documents", "get_document", "add_document"}


def _run(fn, *args):
    return anyio.run(fn, *args)


@pytest.fixture(scope="module")
def offline_server(tmp_path_factory):
    """The tools over a pipeline whose models never load: enough for schemas and argument checks."""
    from qa.pipeline import Pipeline
    from qa.settings import Settings

    pipe = Pipeline(Settings(data_dir=tmp_path_factory.mktemp("mcp-offline") / "data", sample_corpus=False))
    return qa_mcp.build(pipe, over_http=False)


def test_tools_take_the_api_request_models_as_input_schemas(offline_server) -> None:
    async def main():
        async with Client(offline_server) as client:
            return {t.name: t for t in (await client.list_tools()).tools}

    tools = _run(main)
    assert set(tools) == TOOLS
    assert tools["ask"].input_schema == AskRequest.model_json_schema()
    assert tools["search"].input_schema == SearchRequest.model_json_schema()
    assert tools["add_document"].input_schema == DocumentIn.model_json_schema()
    assert tools["ask"].output_schema["title"] == "AskResponse"
    assert tools["ask"].annotations.read_only_hint and not tools["add_document"].annotations.read_only_hint
    # Described as the API's routes are.
    from api.routers import ask, documents, search

    for name, route in [("ask", ask.ask), ("search", search.search), ("list_documents", documents.list_documents),
                        ("get_document", documents.get_document), ("add_document", documents.add_document)]:
        assert tools[name].description.startswith(inspect.cleandoc(route.__doc__)), name


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("ask", {"question": ""}, "question: question is empty"),
        ("ask", {"question": "x" * 1001}, "question: String should have at most 1000 characters"),
        ("ask", {"question": "Who?", "top_k": 0}, "top_k: Input should be greater than or equal to 1"),
        ("ask", {"question": "Who?", "unknown": 1}, "unknown: Extra inputs are not permitted"),
        ("search", {"question": "Who?", "filters": {"published_from": "2020-13-45"}}, "filters.published_from: not a real date"),
        ("ask", {}, "question: Field required"),
        ("add_document", {"title": "T", "text": "   "}, "text: must not be blank"),
        ("get_document", {"doc_id": ""}, "doc_id: String should have at least 1 character"),
    ],
)
def test_bad_arguments_are_one_line_tool_errors(offline_server, tool: str, arguments: dict, message: str) -> None:
    async def main():
        async with Client(offline_server) as client:
            return await client.call_tool(tool, arguments)

    result = _run(main)
    assert result.is_error
    text = result.content[0].text
    assert text.startswith("invalid arguments: ") and message in text, text
    assert "Traceback" not in text and "pydantic.dev" not in text


def test_render_answer_numbers_the_citations() -> None:
    def cite(doc_id: str) -> Citation:
        passage = "Last year in September, a first-ever joint exercise was held."
        start = passage.index("September")
        return Citation(doc_id=doc_id, title=f"Title {doc_id}", source="s", passage=passage, passage_start=0, passage_end=len(passage),
                        answer_start=start, answer_end=start + 9, score=0.9, excerpt_start=0, excerpt_end=len(passage))

    resp = AskResponse(question=QUESTION, answer="September", score=0.83, threshold=0.41, citations=[cite("a"), cite("b")], articles=2, sources=2,
                       alternatives=[{"answer": "October", "score": 0.7, "citations": [cite("c")]}])
    text = qa_mcp.render_answer(resp)
    assert text.splitlines()[0] == "September"
    assert "[1] Title a — a" in text and "[2] Title b — b" in text and "October (score 0.70; [3] c)" in text
    missing = qa_mcp.render_answer(AskResponse(question=QUESTION, answer=None, score=0.1, threshold=0.41, citations=[]))
    assert missing.startswith("Not found in these articles")


def _check_answer(result) -> dict:
    assert not result.is_error, result.content
    answer = result.structured_content
    AskResponse.model_validate(answer)  # the /ask contract
    assert answer["answer"] == "September"
    assert "003_86bc19b1e0a8f9ad" in {c["doc_id"] for c in answer["citations"]}
    text = result.content[0].text
    assert text.startswith("September") and "[1] " in text and "003_86bc19b1e0a8f9ad" in text
    return answer


async def _cited_text_matches(client: Client, answer: dict) -> None:
    for c in answer["citations"]:
        doc = await client.call_tool("get_document", {"doc_id": c["doc_id"]})
        assert not doc.is_error, doc.content
        assert doc.structured_content["text"][c["answer_start"] : c["answer_end"]] == answer["answer"]


@pytest.mark.slow
def test_stdio_qa_mcp_answers_with_citations(tmp_path: Path) -> None:
    env = qa_env(tmp_path / "data")
    params = StdioServerParameters(command=str(BIN / "qa"), args=["mcp"], env=env)

    async def main():
        async with Client(params, read_timeout_seconds=300) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            answer = _check_answer(await client.call_tool("ask", {"question": QUESTION}))
            await _cited_text_matches(client, answer)
            found = await client.call_tool("search", {"question": QUESTION, "top_k": 3})
            assert not found.is_error and [p["rank"] for p in found.structured_content["passages"]] == [1, 2, 3]
            listed = await client.call_tool("list_documents", {})
            assert len(listed.structured_content["result"]) == 5
            missing = await client.call_tool("get_document", {"doc_id": "no-such-article"})
            assert missing.is_error and missing.content[0].text == "no document 'no-such-article'"
            # Over stdio the client is the machine's own user: writes need no key.
            added = await client.call_tool("add_document", {"title": "Lighthouse", "text": "The lighthouse was painted red in 1931."})
            assert not added.is_error and added.structured_content["added"] == ["lighthouse"]

    _run(main)


@pytest.fixture(scope="module")
def keyed_server(tmp_path_factory):
    """`qa serve` over the sample articles with QA_API_KEY set."""
    data = tmp_path_factory.mktemp("mcp-http") / "data"
    server = Server(qa_env(data, QA_API_KEY="s3cret-key"))
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.mark.slow
def test_http_mcp_reads_are_open_and_writes_need_the_key(keyed_server) -> None:
    url = keyed_server.url + "/mcp"
    doc = {"title": "Key test", "text": "The lighthouse was painted red in 1931."}

    async def main():
        async with Client(url) as client:
            answer = _check_answer(await client.call_tool("ask", {"question": QUESTION}))
            await _cited_text_matches(client, answer)
            refused = await client.call_tool("add_document", doc)
            assert refused.is_error and refused.content[0].text == qa_mcp.KEY_REQUIRED
            bad = await client.call_tool("ask", {"question": "Who?", "top_k": 10_000})
            assert bad.is_error and "top_k: Input should be less than or equal to 20" in bad.content[0].text
        for key in ("wrong", "s3cret-key"):
            async with create_mcp_http_client(headers={"Authorization": f"Bearer {key}"}) as http, Client(streamable_http_client(url, http_client=http)) as client:
                result = await client.call_tool("add_document", doc)
                if key == "wrong":
                    assert result.is_error and result.content[0].text == qa_mcp.KEY_REQUIRED
                else:
                    assert not result.is_error and result.structured_content["added"] == ["key-test"]
                    listed = await client.call_tool("list_documents", {})
                    assert "key-test" in {d["doc_id"] for d in listed.structured_content["result"]}

    _run(main)
    # The API's routes saw the write.
    assert httpx.get(keyed_server.url + "/documents/key-test").status_code == 200


@pytest.mark.slow
def test_http_mcp_is_behind_the_api_guard(keyed_server) -> None:
    url = keyed_server.url + "/mcp"
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    headers = {"content-type": "application/json", "accept": "application/json, text/event-stream"}
    cross_site = httpx.post(url, content=body, headers={**headers, "origin": "http://evil.example"})
    assert cross_site.status_code == 403 and "cross-site" in cross_site.json()["detail"]
    rebound = httpx.post(url, content=body, headers={**headers, "host": "evil.example"})
    assert rebound.status_code == 400 and "not served here" in rebound.json()["detail"]
    wrong_type = httpx.post(url, content=body, headers={**headers, "content-type": "text/plain"})
    assert wrong_type.status_code == 415
    assert httpx.options(url).headers["allow"] == "OPTIONS, POST"
