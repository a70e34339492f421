"""/samples: the bundled sample articles an index may still hold, and their removal."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from api.deps import PipelineDep, require_write_key
from api.guard import WRITE_REFUSALS
from qa.schema import SamplesOut

router = APIRouter(prefix="/samples", tags=["documents"])


@router.get("", response_model=SamplesOut)
async def samples(pipe: PipelineDep) -> SamplesOut:
    """The bundled sample articles the index still holds (an empty index gets them at first start)."""
    return SamplesOut(doc_ids=await run_in_threadpool(pipe.sample_ids))


@router.delete("", response_model=SamplesOut, dependencies=[Depends(require_write_key)], responses={**WRITE_REFUSALS, 401: {"description": "API key required"}})
async def delete_samples(pipe: PipelineDep) -> SamplesOut:
    """Remove the bundled sample articles (the ids removed; none when they are gone already)."""
    return SamplesOut(doc_ids=await run_in_threadpool(pipe.delete_samples))
