"""The MCP server: the API's questions and documents as tools for an agent.

One set of tools, two transports: `qa mcp` serves them over stdio to a local client, and
`qa serve` mounts them at `/mcp` (streamable HTTP) behind the API's own guard (Host header,
cross-site writes, body limits). Each tool's input schema is the API's request model, so
limits, descriptions and error messages are the API's; a bad argument or a failure the
service expects is a tool error in one plain line, never a traceback. Over HTTP a write
tool needs the API key (`Authorization: Bearer <key>`) when QA_API_KEY is set; reads don't,
as on the API. The core (`qa/`) knows nothing of this module.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.server.transport_security import TransportSecuritySettings
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.routing import BaseRoute

from api.deps import may_write
from api.routers import ask as ask_route
from api.routers import documents as documents_route
from api.routers import search as search_route
from api.routers.documents import as_document
from index.dates import shown_date
from index.ids import MAX_ID_CHARS
from index.space import StorageFull
from index.store import IncompatibleStore, StoreUnavailable
from qa import __version__
from qa.pipeline import Busy, Pipeline
from qa.schema import AskRequest, AskResponse, Citation, DocumentIn, DocumentOut, DocumentSummary, IngestOut, SearchRequest, SearchResponse

log = logging.getLogger(__name__)

PATH = "/mcp"
INSTRUCTIONS = (
    "Answers questions from a collection of news articles with the exact words of the articles and where they "
    "stand. `ask` gives one answer with numbered citations, or says the articles don't answer; `search` gives the "
    "ranked passages alone. `list_documents` and `get_document` read the collection; `add_document` adds an article."
)
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
KEY_REQUIRED = "this tool needs an API key: send 'Authorization: Bearer <key>' with the request"


# -- arguments: the API's request models ---------------------------------------------------
def _arguments(model: type[BaseModel]) -> type[ArgModelBase]:
    """The request model as a tool's argument model: the tool's input schema is the model's own JSON
    schema (fields at the top level, as in the API's body), and the tool receives the validated model."""

    def model_dump_one_level(self: BaseModel) -> dict[str, Any]:
        return {"request": self}

    namespace = {
        "__doc__": model.__doc__,  # the schema's description, as the API's
        "__module__": __name__,
        "model_config": ConfigDict(title=model.__name__),
        "model_dump_one_level": model_dump_one_level,
    }
    return type(model)(f"{model.__name__}Arguments", (model, ArgModelBase), namespace)


def _problem(exc: ValidationError) -> str:
    """The validation errors as the API words them (`loc: msg`), on one line."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ()))
        msg = str(e.get("msg", "invalid value")).removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "invalid arguments: " + "; ".join(parts)


class _Tool(Tool):
    """A tool whose errors read as the API's: invalid arguments as its 422 messages, not pydantic's report."""

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            return await super().run(arguments, context, convert_result=convert_result)
        except UnexpectedToolError:
            raise  # a crash: the SDK logs it and tells the client no more than the tool's name
        except ToolError as exc:
            if isinstance(exc.__cause__, ValidationError):
                raise ToolError(_problem(exc.__cause__)) from exc.__cause__
            if isinstance(exc.__cause__, ToolError):
                raise exc.__cause__ from None  # the tool's own words, without the SDK's "Error executing tool" prefix
            raise


def _tool(fn: Callable[..., Any], route: Callable[..., Any], *, request: type[BaseModel] | None = None, title: str, read_only: bool) -> Tool:
    """`fn` as a tool described as its API route is, plus what `fn` says; with `request`, that model is its input schema."""
    tool = Tool.from_function(
        fn,
        title=title,
        description="\n\n".join(inspect.cleandoc(f.__doc__) for f in (route, fn) if f.__doc__),
        # A write replaces a document given the same id again.
        annotations=ToolAnnotations(title=title, read_only_hint=read_only, destructive_hint=not read_only, idempotent_hint=True, open_world_hint=False),
    )
    fields = dict(tool)
    if request is not None:
        args = _arguments(request)
        fields["fn_metadata"] = tool.fn_metadata.model_copy(update={"arg_model": args})
        fields["parameters"] = args.model_json_schema(by_alias=True)
    return _Tool(**fields)


# -- text for the model to read beside the structured result ---------------------------------
def _dated(published: str | None) -> str:
    return f" ({shown_date(published)})" if published else ""


def _excerpt(c: Citation) -> str:
    start = (c.excerpt_start if c.excerpt_start is not None else c.passage_start) - c.passage_start
    end = (c.excerpt_end if c.excerpt_end is not None else c.passage_end) - c.passage_start
    return ("…" if start > 0 else "") + c.passage[start:end].strip() + ("…" if end < len(c.passage) else "")


def render_answer(resp: AskResponse) -> str:
    """The answer, its score and numbered citations [1]..[n] (the answer's, then each alternative's)."""
    if resp.answer is None:
        return (
            "Not found in these articles "
            f"(the best candidate scored {resp.score:.2f}, below the threshold {resp.threshold:.2f})."
        )
    articles = f"{resp.articles} article{'' if resp.articles == 1 else 's'}"
    lines = [resp.answer, f"score {resp.score:.2f} (threshold {resp.threshold:.2f}) · found in {articles}"]
    n = 0
    for c in resp.citations:
        n += 1
        lines += ["", f"[{n}] {c.title}{_dated(c.published)} — {c.doc_id}", _excerpt(c)]
    if resp.alternatives:
        lines += ["", "The most recent article's answer; earlier articles said:" if resp.most_recent else "Other articles say:"]
    for alt in resp.alternatives:
        numbers = []
        for c in alt.citations:
            n += 1
            numbers.append(f"[{n}] {c.doc_id}{_dated(c.published)}")
        lines.append(f"- {alt.answer} (score {alt.score:.2f}; {', '.join(numbers)})")
    return "\n".join(lines)


def render_passages(resp: SearchResponse) -> str:
    if not resp.passages:
        return "No passage found."
    lines: list[str] = []
    for hit in resp.passages:
        copies = f" · copies: {', '.join(hit.copies)}" if hit.copies else ""
        lines += [f"[{hit.rank}] {hit.title}{_dated(hit.published)} — {hit.doc_id} (fused {hit.scores.fused:.4f}){copies}", hit.passage.strip(), ""]
    return "\n".join(lines).rstrip()


def _result(text: str, structured: Any) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


# -- the server ----------------------------------------------------------------------------
def _bearer(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header (names compared case-insensitively)."""
    if headers is None:
        return None
    value = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
    scheme, _, token = value.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def build(pipeline: Pipeline, *, over_http: bool) -> MCPServer:
    """The MCP server over one pipeline. `over_http`: write tools check the API key of each request."""
    settings = pipeline.settings

    def ready() -> Pipeline:
        # The models may still be loading (they load in the background at start): wait a while, as a
        # queued question waits for a model slot, then say what the API's 503 says.
        if not pipeline.ready.wait(settings.read_timeout_s):
            error = pipeline.startup_error
            raise ToolError(f"the service could not start: {error}" if error else "the index is loading; try again in a few seconds")
        return pipeline

    def guarded(call: Callable[[], Any]) -> Any:
        """The failures the API answers with 503, as tool errors."""
        try:
            return call()
        except (Busy, IncompatibleStore, StoreUnavailable, StorageFull) as exc:
            raise ToolError(str(exc)) from None

    def ask(request: AskRequest) -> Annotated[CallToolResult, AskResponse]:
        """The result is the `POST /ask` contract: `answer` (null when the articles don't answer), `score` (the
        probability that it is right) and `citations`, each with its article and the answer's characters in
        the article's text. The text lists the citations as [1]..[n].
        """
        resp: AskResponse = guarded(lambda: ready().ask(request))
        return _result(render_answer(resp), resp.model_dump(mode="json"))

    def search(request: SearchRequest) -> Annotated[CallToolResult, SearchResponse]:
        """The result is the `POST /search` contract."""
        resp: SearchResponse = guarded(lambda: ready().search(request))
        return _result(render_passages(resp), resp.model_dump(mode="json"))

    def list_documents() -> Annotated[CallToolResult, list[DocumentSummary]]:
        """The result is `GET /documents`' list, as `result`."""
        docs = [DocumentSummary.of(d) for d in guarded(pipeline.list_documents)]
        text = "\n".join(f"{d.doc_id}\t{d.published or '-'}\t{d.title}" for d in docs) or "No documents."
        return _result(text, {"result": [d.model_dump(mode="json") for d in docs]})

    def get_document(
        doc_id: Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS, description="The article's id, as in citations and `list_documents`.")],
    ) -> DocumentOut:
        """The result is `GET /documents/{doc_id}`'s document."""
        d = guarded(lambda: pipeline.get_document(doc_id))
        if d is None:
            raise ToolError(f"no document {doc_id!r}")
        return DocumentOut.of(d)

    def add_document(request: DocumentIn, ctx: Context) -> IngestOut:
        """As `POST /documents`. Over HTTP, when the server sets QA_API_KEY, the request needs `Authorization: Bearer <key>`."""
        if over_http and not may_write(settings, _bearer(ctx.headers)):
            raise ToolError(KEY_REQUIRED)
        if len(request.text.encode()) > settings.max_upload_bytes:
            raise ToolError(f"document larger than {settings.max_upload_bytes} bytes")
        return IngestOut.of(guarded(lambda: pipeline.add_documents([as_document(request)])))

    tools = [
        _tool(ask, ask_route.ask, request=AskRequest, title="Ask the articles", read_only=True),
        _tool(search, search_route.search, request=SearchRequest, title="Search the articles", read_only=True),
        _tool(list_documents, documents_route.list_documents, title="List the articles", read_only=True),
        _tool(get_document, documents_route.get_document, title="Read one article", read_only=True),
        _tool(add_document, documents_route.add_document, request=DocumentIn, title="Add an article", read_only=False),
    ]
    return MCPServer(
        "qa",
        title="qa: cited answers from your articles",
        instructions=INSTRUCTIONS,
        version=__version__,
        tools=tools,
        # Logging is the app's (or `qa mcp`'s) own, configured before this: the SDK's setup then changes nothing.
        log_level=settings.log_level.upper() if settings.log_level.upper() in _LEVELS else "INFO",
    )


def http_routes(server: MCPServer, max_body_bytes: int) -> list[BaseRoute]:
    """The streamable HTTP endpoint at /mcp, for the API app's routes; enter `server.session_manager.run()`
    in the app's lifespan.

    Stateless with JSON responses: every request stands alone, so any worker of `qa serve --workers N`
    (or any replica) can answer it. The API's guard checks Host, Origin and body size in front of it, so
    the SDK's own Host/Origin check is off (it would know only its defaults, not QA_ALLOWED_HOSTS).
    """
    app = server.streamable_http_app(
        streamable_http_path=PATH,
        stateless_http=True,
        json_response=True,
        max_request_body_size=max_body_bytes,
        transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
    )
    return list(app.routes)


def serve_stdio(pipeline: Pipeline) -> None:
    """`qa mcp`: the tools over stdin/stdout for a local client; the models load in the background."""
    import threading

    threading.Thread(target=pipeline.start, daemon=True, name="warm-up").start()
    build(pipeline, over_http=False).run("stdio")
