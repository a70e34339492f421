"""POST /ask: the answer contract."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from api.deps import ReadyPipelineDep, SettingsDep
from qa.pipeline import Busy
from qa.schema import AskRequest, AskResponse

router = APIRouter(prefix="/ask", tags=["ask"])


@router.post(
    "",
    response_model=AskResponse,
    responses={413: {"description": "Request body too large"}, 422: {"description": "Invalid question or options"}, 503: {"description": "Index not ready or service busy"}},
)
async def ask(body: AskRequest, pipe: ReadyPipelineDep, settings: SettingsDep) -> AskResponse:
    """Answer a question with the exact words of the articles and where they stand."""
    if body.top_k is not None and body.top_k > settings.max_top_k:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=f"top_k must be at most {settings.max_top_k}")
    try:
        return await run_in_threadpool(pipe.ask, body.question, body.top_k, body.filters)
    except Busy as exc:
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, detail=str(exc)) from None
