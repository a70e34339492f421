"""GET /health: index size, models and store mode."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.deps import PipelineDep
from qa.schema import Health

router = APIRouter(prefix="/health", tags=["health"])


@router.get("", response_model=Health)
async def health(pipe: PipelineDep) -> Health:
    """Liveness and what is loaded; `status` is `loading` until the models are ready."""
    return await run_in_threadpool(pipe.health)
