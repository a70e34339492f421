"""Shared FastAPI dependencies: the pipeline, settings and the write-key check."""

from __future__ import annotations

import secrets
from http import HTTPStatus
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from qa.pipeline import Pipeline
from qa.settings import Settings


def get_pipeline(request: Request) -> Pipeline:
    return request.app.state.pipeline


def get_ready_pipeline(request: Request) -> Pipeline:
    pipe: Pipeline = request.app.state.pipeline
    if not pipe.ready.is_set():
        error = pipe.startup_error
        detail = f"the service could not start: {error}" if error else "the index is loading; try again in a few seconds"
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, detail=detail)
    return pipe


def get_app_settings(request: Request) -> Settings:
    return request.app.state.pipeline.settings


_bearer = HTTPBearer(auto_error=False, description="Needed for writes when the server sets QA_API_KEY.")


def may_write(settings: Settings, token: str | None) -> bool:
    """Whether a write may go ahead: no QA_API_KEY is set, or `token` is the key (the API's routes and the MCP tools alike)."""
    key = settings.api_key
    if key is None or not key.get_secret_value():
        return True
    return secrets.compare_digest((token or "").encode(), key.get_secret_value().encode())


def require_write_key(request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> None:
    """With QA_API_KEY set, writes need `Authorization: Bearer <key>`; reads stay open."""
    if not may_write(request.app.state.pipeline.settings, credentials.credentials if credentials else None):
        raise HTTPException(
            HTTPStatus.UNAUTHORIZED,
            detail="this endpoint needs an API key: send 'Authorization: Bearer <key>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


PipelineDep = Annotated[Pipeline, Depends(get_pipeline)]
ReadyPipelineDep = Annotated[Pipeline, Depends(get_ready_pipeline)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
