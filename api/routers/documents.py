"""/documents: list, show, add (JSON, a file upload, or a fetched page) and delete articles."""

from __future__ import annotations

import dataclasses
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, HTTPException, Path, Query, Response, UploadFile
from fastapi.concurrency import run_in_threadpool

from api.deps import PipelineDep, SettingsDep, require_write_key
from api.guard import WRITE_REFUSALS
from index.documents import Document, normalize_newlines
from index.ids import MAX_ID_CHARS, UPLOAD_ORIGIN, InvalidId, check_given, derive
from index.load import LoadError, from_bytes
from qa.schema import DeleteOut, DocumentIn, DocumentOut, DocumentQuery, DocumentSummary, FetchIn, IngestOut

router = APIRouter(prefix="/documents", tags=["documents"])

DocId = Annotated[str, Path(min_length=1, max_length=MAX_ID_CHARS)]

TOTAL_HEADER = "X-Total-Count"


@router.get(
    "",
    response_model=list[DocumentSummary],
    responses={200: {"headers": {TOTAL_HEADER: {"description": "How many articles match, in all pages.", "schema": {"type": "integer"}}}}},
)
async def list_documents(query: Annotated[DocumentQuery, Query()], response: Response, pipe: PipelineDep) -> list[DocumentSummary]:
    """The indexed articles (without their text) that match, newest first unless `sort` says otherwise; one page of them with `limit` and `offset`."""
    total, docs = await run_in_threadpool(pipe.documents_page, query)
    response.headers[TOTAL_HEADER] = str(total)
    return [DocumentSummary.of(d) for d in docs]


@router.get("/{doc_id:path}", response_model=DocumentOut, responses={404: {"description": "No such document"}})
async def get_document(doc_id: DocId, pipe: PipelineDep) -> DocumentOut:
    """One article; its `text` is what every citation offset refers to."""
    d = await run_in_threadpool(pipe.get_document, doc_id)
    if d is None:
        raise HTTPException(HTTPStatus.NOT_FOUND, detail=f"no document {doc_id!r}")
    return DocumentOut.of(d)


def as_document(doc: DocumentIn) -> Document:
    """The document a JSON body describes (POST /documents and the MCP `add_document` tool)."""
    return Document(
        id=doc.doc_id or derive(doc.title, from_title=True),
        title=doc.title.strip(),
        text=normalize_newlines(doc.text),
        source=doc.source or "pasted",
        published=doc.published,
        derived_id=doc.doc_id is None,
    )


async def _ingest(pipe, docs: list[Document]) -> IngestOut:
    return IngestOut.of(await run_in_threadpool(pipe.add_documents, docs))


@router.post(
    "",
    response_model=IngestOut,
    dependencies=[Depends(require_write_key)],
    responses={**WRITE_REFUSALS, 401: {"description": "API key required"}},
)
async def add_document(doc: DocumentIn, pipe: PipelineDep) -> IngestOut:
    """Add or replace an article given as JSON. Posting the same one again changes nothing."""
    return await _ingest(pipe, [as_document(doc)])


@router.post(
    "/upload",
    response_model=IngestOut,
    dependencies=[Depends(require_write_key)],
    responses={**WRITE_REFUSALS, 401: {"description": "API key required"}, 422: {"description": "Unreadable document"}},
)
async def upload_document(
    file: Annotated[UploadFile, File(description=".txt, .md, .html, .pdf or .jsonl")],
    pipe: PipelineDep,
    settings: SettingsDep,
    title: Annotated[str | None, Form(description="Overrides the title found in the file.")] = None,
    doc_id: Annotated[
        str | None,
        Form(max_length=MAX_ID_CHARS, description="This document's id: uploading with the same id again replaces it (not for .jsonl, whose records carry their ids)."),
    ] = None,
    replace: Annotated[
        bool,
        Form(description="Replace the document that holds the id derived from the file name even if it is a different one "
             "(default: the upload gets an id of its own, named in `renamed`)."),
    ] = False,
) -> IngestOut:
    """Add articles from an uploaded file. Uploading the same file again changes nothing; a different file of the
    same name gets an id of its own unless `replace` is set (JSONL records replace by their own ids)."""
    limit = settings.max_upload_bytes
    if not file.filename:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail="the upload needs a 'file' field with a file name")
    data = await file.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, detail=f"document larger than {limit} bytes")
    title = title.strip() if title and title.strip() else None
    try:
        docs = await run_in_threadpool(from_bytes, file.filename, data, title=title, origin=UPLOAD_ORIGIN + file.filename)
    except LoadError as exc:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    if doc_id is not None:
        if len(docs) != 1 or not docs[0].derived_id:
            raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail="doc_id is for a file of one document (a .jsonl file's records carry their own ids)")
        try:
            docs = [dataclasses.replace(docs[0], id=check_given(doc_id), derived_id=False)]
        except InvalidId as exc:
            raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    elif replace:
        docs = [dataclasses.replace(d, replace=True) if d.derived_id else d for d in docs]
    return await _ingest(pipe, docs)


def _fetch_document(url: str, allow_hosts: list[str], max_bytes: int, deadline_s: float) -> Document:
    from index.feeds import canonical, document_from_page
    from index.fetch import AddressGuard, Fetcher

    # The guard checks the URL before anything is sent, and again at every redirect.
    fetcher = Fetcher(guard=AddressGuard(allow_hosts), max_bytes=max_bytes, retries=1, timeout_s=15.0, host_delay_s=0.0, deadline_s=deadline_s)
    with fetcher:
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
        504: {"description": "The page took longer than QA_FETCH_DEADLINE_S to fetch"},
    },
)
async def fetch_document(body: FetchIn, pipe: PipelineDep, settings: SettingsDep) -> IngestOut:
    """Fetch an article page by its URL and add it; fetching it again after the article changed replaces it. Off unless QA_FETCH_ENABLED."""
    from index.fetch import FetchError, Refused, TooSlow

    if not settings.fetch_enabled:
        raise HTTPException(HTTPStatus.FORBIDDEN, detail="fetching URLs is off on this server (set QA_FETCH_ENABLED=true to allow it)")
    try:
        # In a worker thread: the event loop goes on answering other requests while a page is fetched.
        doc = await run_in_threadpool(_fetch_document, body.url.strip(), settings.fetch_allow_hosts, settings.max_upload_bytes, settings.fetch_deadline_s)
    except Refused as exc:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    except TooSlow as exc:
        raise HTTPException(HTTPStatus.GATEWAY_TIMEOUT, detail=f"could not fetch {exc}") from None
    except FetchError as exc:
        code = HTTPStatus.REQUEST_ENTITY_TOO_LARGE if exc.reason.startswith("larger than") else HTTPStatus.BAD_GATEWAY
        raise HTTPException(code, detail=f"could not fetch {exc}") from None
    except LoadError as exc:
        raise HTTPException(HTTPStatus.UNPROCESSABLE_ENTITY, detail=str(exc)) from None
    return await _ingest(pipe, [doc])


@router.delete("/{doc_id:path}", response_model=DeleteOut, dependencies=[Depends(require_write_key)], responses={**WRITE_REFUSALS, 401: {"description": "API key required"}, 404: {"description": "No such document"}})
async def delete_document(doc_id: DocId, pipe: PipelineDep) -> DeleteOut:
    """Remove an article and its passages. Deleting a missing one is not an error (`deleted: false`)."""
    return DeleteOut(doc_id=doc_id, deleted=await run_in_threadpool(pipe.delete_document, doc_id))
