"""HTTP guards around the app: the Host header, body limits while streaming, cross-site writes, headers, HEAD/OPTIONS, access log."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from urllib.parse import parse_qsl, urlsplit

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("qa.api.access")

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# What the guard may answer on a write before any route runs: documented on every write route.
WRITE_REFUSALS: dict[int | str, dict] = {
    400: {"description": "An API key sent in the URL (send it in the Authorization header)"},
    403: {"description": "A cross-site write from a page of another origin"},
    413: {"description": "Request body too large"},
    415: {"description": "Unsupported content type"},
    507: {"description": "The data directory's disk is (nearly) full: nothing was stored (QA_MIN_FREE_MB)"},
}
# What the page itself sends; anything else on a write is refused before a route sees it.
WRITE_TYPES = {"/ask": {"application/json"}, "/search": {"application/json"}, "/documents": {"application/json"}, "/documents/upload": {"multipart/form-data"}, "/documents/fetch": {"application/json"}, "/mcp": {"application/json"}}
SECRET_PARAMS = {"api_key", "apikey", "key", "token", "access_token", "authorization", "bearer"}

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
# FastAPI's /docs and /redoc pages are inline scripts loading Swagger UI / ReDoc from a CDN.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src https://fonts.gstatic.com; img-src 'self' data: https://fastapi.tiangolo.com https://cdn.redoc.ly; "
    "worker-src blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
_SECURITY_NAMES = {name for name, _ in SECURITY_HEADERS} | {b"content-security-policy"}


async def send_json(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return None


def _host_name(value: str) -> str:
    """A Host header or a configured host as a bare lower-case name: no port, no brackets, no trailing dot."""
    value = value.strip().lower()
    if value.startswith("["):
        value = value[1:].split("]", 1)[0]
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    return value.rstrip(".")


class TooLarge(HTTPException):
    """The body went past its limit while streaming in.

    An HTTPException so that FastAPI's body parsing re-raises it as it is (it turns other
    errors into 400) and the app's handler answers 413.
    """

    def __init__(self, limit: int):
        super().__init__(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail=f"request body larger than {limit} bytes")


class Guard:
    """One pure ASGI layer for every request-level rule, so each is written once.

    Pure ASGI (not Starlette's BaseHTTPMiddleware) because the body limit has to count
    bytes as they arrive: a chunked upload has no Content-Length to check up front.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for: Callable[[str], int],
        allowed_origins: list[str],
        methods_for: Callable[[str], set[str]],
        allowed_hosts: list[str],
    ):
        self.app = app
        self.allowed_hosts = {_host_name(h) for h in allowed_hosts if h.strip()}
        self.limit_for = limit_for
        self.allowed_origins = {o.rstrip("/") for o in allowed_origins}
        self.methods_for = methods_for

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_seen = {"status": 0}
        send = self._with_headers(scope, send, status_seen)
        try:
            await self._guarded(scope, receive, send)
        finally:
            # Path only, never the query string: a secret sent there must not reach a log.
            log.info("%s %s %s %.1f ms", scope["method"], scope["path"], status_seen["status"], 1000 * (time.perf_counter() - started))

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        path = scope["path"]
        wrong_host = self._wrong_host(scope)
        if wrong_host:
            await send_json(send, HTTPStatus.BAD_REQUEST, wrong_host)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if any(k.lower() in SECRET_PARAMS for k, _ in query):
            await send_json(send, HTTPStatus.BAD_REQUEST, "send the API key in the 'Authorization: Bearer <key>' header, never in the URL")
            return
        if method == "OPTIONS" and not (self.allowed_origins and _header(scope, b"access-control-request-method")):
            await self._options(scope, send)
            return
        if method in UNSAFE:
            refusal = self._cross_site(scope) or self._content_type(method, path, scope)
            if refusal:
                await send_json(send, *refusal)
                return
        if method == "HEAD":
            await self._head(scope, receive, send)
            return
        await self._limited(scope, receive, send)

    # -- the Host header -------------------------------------------------------------------
    def _wrong_host(self, scope: Scope) -> str | None:
        """Refuse a Host this server is not known by: a page whose name was rebound to this
        server's address sends its own name, and would otherwise pass as same-origin."""
        if "*" in self.allowed_hosts:
            return None
        given = _header(scope, b"host")
        if given is None:
            return None  # HTTP/1.0 without Host: not a browser, nothing to rebind
        host = _host_name(given)
        bound = scope.get("server")
        # The address the connection came in on (the one `qa serve --host` listens on) is always this server.
        if host in self.allowed_hosts or (bound and host == _host_name(str(bound[0]))):
            return None
        return f"host {given!r} is not served here (allow it with QA_ALLOWED_HOSTS)"

    # -- writes ---------------------------------------------------------------------------
    def _cross_site(self, scope: Scope) -> tuple[int, str] | None:
        """Refuse a write a browser made for a page of another origin (CSRF), whatever the key setting.

        Browsers send Origin on cross-origin POSTs (also no-cors ones) and Sec-Fetch-Site on
        every request; tools such as curl and the CLI send neither and are not browsers.
        """
        origin = _header(scope, b"origin")
        site = _header(scope, b"sec-fetch-site")
        if origin is not None:
            own = _header(scope, b"host")
            parsed = urlsplit(origin)
            if origin.rstrip("/") in self.allowed_origins or (own is not None and parsed.netloc == own and parsed.scheme in ("http", "https")):
                return None
            return HTTPStatus.FORBIDDEN, f"cross-site write refused: origin {origin!r} is not this server (allow it with QA_CORS_ORIGINS)"
        if site is not None and site not in ("same-origin", "none"):
            return HTTPStatus.FORBIDDEN, f"cross-site write refused (Sec-Fetch-Site: {site})"
        return None

    @staticmethod
    def _content_type(method: str, path: str, scope: Scope) -> tuple[int, str] | None:
        if method not in ("POST", "PUT", "PATCH"):
            return None
        allowed = WRITE_TYPES.get(path.rstrip("/"))
        if allowed is None:
            return None
        ctype = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
        if ctype not in allowed:
            return HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"send {' or '.join(sorted(allowed))} (got {ctype or 'no content type'})"
        return None

    # -- body limit -------------------------------------------------------------------------
    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.limit_for(scope["path"])
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await send_json(send, HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body larger than {limit} bytes")
            return
        received = 0
        response_started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal response_started
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except TooLarge as exc:
            if not response_started:
                await send_json(send, exc.status_code, exc.detail, [(b"connection", b"close")])

    # -- HEAD and OPTIONS -------------------------------------------------------------------
    async def _head(self, scope: Scope, receive: Receive, send: Send) -> None:
        """HEAD is GET without the body (FastAPI's routes answer GET only)."""

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b""})
                return
            await send(message)

        await self._limited({**scope, "method": "GET"}, receive, headers_only)

    async def _options(self, scope: Scope, send: Send) -> None:
        methods = self.methods_for(scope["path"])
        if not methods:
            await send_json(send, HTTPStatus.NOT_FOUND, "Not Found")
            return
        if "GET" in methods:
            methods.add("HEAD")
        allow = ", ".join(sorted(methods | {"OPTIONS"})).encode()
        await send({"type": "http.response.start", "status": HTTPStatus.NO_CONTENT, "headers": [(b"allow", allow)]})
        await send({"type": "http.response.body", "body": b""})

    # -- response headers -------------------------------------------------------------------
    @staticmethod
    def _with_headers(scope: Scope, send: Send, seen: dict) -> Callable[[Message], Awaitable[None]]:
        csp = DOCS_CSP if scope["path"] in ("/docs", "/redoc", "/docs/oauth2-redirect") else PAGE_CSP

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                seen["status"] = message["status"]
                headers = [h for h in message.get("headers", []) if h[0].lower() not in _SECURITY_NAMES]
                message = {**message, "headers": [*headers, (b"content-security-policy", csp.encode()), *SECURITY_HEADERS]}
            await send(message)

        return wrapped
