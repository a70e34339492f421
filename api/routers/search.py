"""POST /search: retrieval alone, the ranked passages a question would be answered from."""

from __future__ import annotations

from http import HTTPStatus

from fastapi import APIRouter, HTTPException
from fastapi.concurrency import run_in_threadpool

from api.deps import ReadyPipelineDep
from api.guard import WRITE_REFUSALS
from qa.pipeline import Busy
from qa.schema import SearchRequest, SearchResponse

router = APIRouter(prefix="/search", tags=["search"])


@router.post(
    "",
    response_model=SearchResponse,
    responses={**WRITE_REFUSALS, 422: {"description": "Invalid question or options"}, 503: {"description": "Index not ready or service busy"}},
)
async def search(body: SearchRequest, pipe: ReadyPipelineDep) -> SearchResponse:
    """The passages a question would be read from, best first, with each retriever's rank and score: for your own reader or model."""
    try:
        return await run_in_threadpool(pipe.search, body)
    except Busy as exc:
        raise HTTPException(HTTPStatus.SERVICE_UNAVAILABLE, detail=str(exc)) from None
