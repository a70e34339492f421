"""/documents: list, show, add (JSON or file upload) and delete articles."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.deps import PipelineDep, SettingsDep, require_write_key
from api.guard import WRITE_REFUSALS
from index.documents import Document, normalize_newlines
from index.ids import MAX_ID_CHARS, derive
from index.load import LoadError, from_bytes
from qa.schema import DeleteOut, DocumentIn, DocumentOut, DocumentSummary, FetchIn, IngestOut

router = APIRouter(prefix="/documents", tags=["documents"])

DocId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS)]

_UPLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": DocumentIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary", "description": ".txt, .md, .html, .pdf or .jsonl"},
                        "title": {"type": "string", "description": "Overrides the title found in the file."},
                    },
                }
            },
        },
    }
}


@router.get("", response_model=list[DocumentSummary])
async def list_documents(pipe: PipelineDep) -> list[DocumentSummary]:
    """Every indexed article (without its text)."""
    return [DocumentSummary.of(d) for d in await run_in_threadpool(pipe.list_documents)]


@router.get("/{doc_id:path}", response_model=DocumentOut, responses={404: {"description": "No such document"}})
async def get_document(doc_id: DocId, pipe: PipelineDep) -> DocumentOut:
    """One article; its `text` is what every citation offset refers to."""
    d = await run_in_threadpool(pipe.get_document, doc_id)
    if d is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, detail=f"no document {doc_id!r}")
    return DocumentOut.of(d)


async def _documents_from_request(request: Request, limit: int) -> list[Document]:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail=f"document larger than {limit} bytes")
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        raw = await request.body()
        if len(raw) > limit:
            raise HTTPException(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail=f"document larger than {limit} bytes")
        try:
            doc = DocumentIn.model_validate_json(raw)
        except ValidationError as exc:
            raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=exc.errors(include_url=False, include_context=False, include_input=False)) from None
        text = normalize_newlines(doc.text)
        doc_id = doc.doc_id or derive(doc.title, from_title=True)
        return [
            Document(
                id=doc_id,
                title=doc.title.strip(),
                text=text,
                source=doc.source or "pasted",
                published=doc.published,
                derived_id=doc.doc_id is None,
            )
        ]
    if ctype == "multipart/form-data":
        try:
            form = await request.form(max_files=1, max_fields=5)
        except HTTPException:
            raise  # the body limit, enforced while the upload streams in
        except Exception as exc:  # noqa: BLE001 - malformed multipart bodies raise several types
            raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=f"malformed upload: {exc}") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail="the upload needs a 'file' field with a file name")
        data = await upload.read(limit + 1)
        if len(data) > limit:
            raise HTTPException(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail=f"document larger than {limit} bytes")
        title = form.get("title")
        title = title.strip() if isinstance(title, str) and title.strip() else None
        try:
            return await run_in_threadpool(from_bytes, upload.filename, data, title=title, origin=f"upload:{upload.filename}")
        except LoadError as exc:
            raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    raise HTTPException(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, detail="send application/json or multipart/form-data")


@router.post(
    "",
    response_model=IngestOut,
    dependencies=[Depends(require_write_key)],
    openapi_extra=_UPLOAD_SCHEMA,
    responses={**WRITE_REFUSALS, 401: {"description": "API key required"}, 422: {"description": "Unreadable document"}},
)
async def add_document(request: Request, pipe: PipelineDep, settings: SettingsDep) -> IngestOut:
    """Add or replace an article (JSON, or a file upload). Posting the same one again changes nothing."""
    docs = await _documents_from_request(request, settings.max_upload_bytes)
    report = await run_in_threadpool(pipe.add_documents, docs)
    return IngestOut(added=report.added, updated=report.updated, unchanged=report.unchanged, chunks=report.chunks)


def _fetch_document(url: str, allow_hosts: list[str], max_bytes: int) -> Document:
    from index.feeds import canonical, document_from_page
    from index.fetch import AddressGuard, Fetcher

    # The guard checks the URL before anything is sent, and again at every redirect.
    with Fetcher(guard=AddressGuard(allow_hosts), max_bytes=max_bytes, retries=1, timeout_s=15.0, host_delay_s=0.0) as fetcher:
        fetched = fetcher.get(url)
        return document_from_page(fetched, canonical(url))


@router.post(
    "/fetch",
    response_model=IngestOut,
    dependencies=[Depends(require_write_key)],
    responses={
        **WRITE_REFUSALS,
        401: {"description": "API key required"},
        403: {"description": "Fetching is off on this server (QA_FETCH_ENABLED)"},
        422: {"description": "A URL that is not http(s), resolves to a private, loopback, link-local or reserved address, or has no readable text"},
        502: {"description": "The page could not be fetched"},
    },
)
async def fetch_document(body: FetchIn, pipe: PipelineDep, settings: SettingsDep) -> IngestOut:
    """Fetch an article page by its URL and add it; fetching it again after the article changed replaces it. Off unless QA_FETCH_ENABLED."""
    from index.fetch import FetchError, Refused

    if not settings.fetch_enabled:
        raise HTTPException(HTTPStatus.FORBIDDEN, detail="fetching URLs is off on this server (set QA_FETCH_ENABLED=true to allow it)")
    try:
        doc = await run_in_threadpool(_fetch_document, body.url.strip(), settings.fetch_allow_hosts, settings.max_upload_bytes)
    except Refused as exc:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    except FetchError as exc:
        code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if exc.reason.startswith("larger than") else HTTPStatus.BAD_GATEWAY
        raise HTTPException(code, detail=f"could not fetch {exc}") from None
    except LoadError as exc:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    report = await run_in_threadpool(pipe.add_documents, [doc])
    return IngestOut(added=report.added, updated=report.updated, unchanged=report.unchanged, chunks=report.chunks)


@router.delete("/{doc_id:path}", response_model=DeleteOut, dependencies=[Depends(require_write_key)], responses={**WRITE_REFUSALS, 401: {"description": "API key required"}})
async def delete_document(doc_id: DocId, pipe: PipelineDep) -> DeleteOut:
    """Remove an article and its passages. Deleting a missing one is not an error (`deleted: false`)."""
    return DeleteOut(doc_id=doc_id, deleted=await run_in_threadpool(pipe.delete_document, doc_id))
