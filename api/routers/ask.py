"""POST /ask: the answer contract."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from api.deps import ReadyPipelineDep
from api.guard import WRITE_REFUSALS
from qa.pipeline import Busy
from qa.schema import AskRequest, AskResponse

router = APIRouter(prefix="/ask", tags=["ask"])


@router.post(
    "",
    response_model=AskResponse,
    responses={**WRITE_REFUSALS, 422: {"description": "Invalid question or options"}, 503: {"description": "Index not ready or service busy"}},
)
async def ask(body: AskRequest, pipe: ReadyPipelineDep) -> AskResponse:
    """Answer a question with the exact words of the articles and where they stand."""
    try:
        return await run_in_threadpool(pipe.ask, body)
    except Busy as exc:
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, detail=str(exc)) from None
