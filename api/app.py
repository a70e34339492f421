"""The FastAPI application: routers, limits, error shapes, the static chat page."""

from __future__ import annotations

import asyncio
import logging
import re
import threading
from contextlib import asynccontextmanager
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import mcp
from api.guard import Guard
from api.routers import ask, documents, health, samples, search
from index.space import StorageFull
from index.store import IncompatibleStore, StoreUnavailable
from qa import __version__
from qa.pipeline import Pipeline
from qa.settings import Settings, get_settings

STATIC = Path(__file__).parent / "static"
MAX_JSON_BODY = 64_000  # /ask bodies; document uploads have their own limit


@lru_cache(maxsize=1)
def _route_table(app: FastAPI) -> tuple[tuple[re.Pattern, frozenset[str]], ...]:
    """Each API path of the OpenAPI schema as a pattern with its methods, plus the page, static files and the MCP endpoint."""
    table = [(re.compile(r"^/$"), frozenset({"GET"})), (re.compile(r"^/static/.+$"), frozenset({"GET"})), (re.compile(rf"^{mcp.PATH}$"), frozenset({"POST"}))]
    for template, operations in app.openapi()["paths"].items():
        pattern = "^" + re.sub(r"\\{[^}]+\\}", ".+", re.escape(template)) + "$"
        table.append((re.compile(pattern), frozenset(m.upper() for m in operations)))
    return tuple(table)


def methods_for(app: FastAPI, path: str) -> set[str]:
    """The methods a path answers (for OPTIONS' Allow header)."""
    return {m for pattern, methods in _route_table(app) if pattern.match(path) for m in methods}


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    pipeline = Pipeline(settings)
    tools = mcp.build(pipeline, over_http=True)

    def body_limit(path: str) -> int:
        # An upload's form fields and multipart framing ride on top of the document itself; a
        # document reaches the MCP endpoint as a tool's JSON arguments.
        return settings.max_upload_bytes + 64_000 if path.startswith(("/documents", mcp.PATH)) else MAX_JSON_BODY

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if settings.warm_before_serving:
            # Uvicorn starts accepting on a worker only after its startup: with several
            # workers on one socket, requests then only reach workers that can answer.
            await asyncio.to_thread(pipeline.start)
            threading.Thread(target=pipeline.warm_writes, daemon=True, name="warm-writes").start()
        else:
            # One process: models load in the background so /health and the page answer at
            # once; /ask says 503 until ready.
            threading.Thread(target=lambda: (pipeline.start(), pipeline.warm_writes()), daemon=True, name="warm-up").start()
        # The MCP endpoint's session manager runs its requests in a task group of its own.
        async with tools.session_manager.run():
            yield

    app = FastAPI(
        title="qa: cited answers from your articles",
        version=__version__,
        description="Extractive question answering: every answer is the exact words of an article, with its sources.",
        lifespan=lifespan,
    )
    app.state.pipeline = pipeline

    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["GET", "POST", "DELETE"], allow_headers=["Authorization", "Content-Type"], expose_headers=["X-Total-Count"])

    # Outermost of the app's own layers, so its headers and refusals cover CORS answers too.
    app.add_middleware(
        Guard,
        limit_for=body_limit,
        allowed_origins=settings.cors_origins,
        methods_for=lambda path: methods_for(app, path),
        allowed_hosts=settings.allowed_hosts,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        errors = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in exc.errors()]
        return JSONResponse({"detail": errors}, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400:
            # A body that can't be read at all (not JSON, not UTF-8) is an invalid request like any
            # other: 422, in the documented shape of one.
            detail = [{"loc": ["body"], "msg": str(exc.detail), "type": "body_unreadable"}]
            return JSONResponse({"detail": detail}, status_code=HTTPStatus.UNPROCESSABLE_ENTITY)
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(IncompatibleStore)
    @app.exception_handler(StoreUnavailable)
    async def store_down(request: Request, exc: Exception):
        return JSONResponse({"detail": str(exc)}, status_code=HTTPStatus.SERVICE_UNAVAILABLE)

    @app.exception_handler(StorageFull)
    async def disk_full(request: Request, exc: StorageFull):
        return JSONResponse({"detail": str(exc)}, status_code=HTTPStatus.INSUFFICIENT_STORAGE)

    app.include_router(ask.router)
    app.include_router(search.router)
    app.include_router(documents.router)
    app.include_router(samples.router)
    app.include_router(health.router)
    app.router.routes.extend(mcp.http_routes(tools, body_limit(mcp.PATH)))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    return app
