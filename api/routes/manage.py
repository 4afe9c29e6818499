"""Write endpoints (upload, delete) behind a bearer token, and the index version listing.

Every write is checked before it changes anything: the token before the body is read (see
api/guards.py), the size while it streams, the file while it is parsed (in a worker thread, with
a time limit), and whether it would replace or hide an indexed document (only with
replace=true). Every write is recorded in the audit log."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Request, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from guideqa.api.audit import AuditLog
from guideqa.api.deps import StateDep
from guideqa.api.guards import check_bearer, token_fingerprint
from guideqa.api.problems import ApiProblem
from guideqa.api.schemas import DocId, problem_responses
from guideqa.index.models import IndexManifest
from guideqa.index.supersession import supersession
from guideqa.ingest.errors import IngestError
from guideqa.ingest.loaders import default_loaders, load_file
from guideqa.ingest.loaders.base import SourceMetadata, apply_metadata
from guideqa.ingest.models import Document, SourceKind
from guideqa.ingest.settings import IngestLimits

router = APIRouter(tags=["index"], responses=problem_responses())


class UploadedDocument(BaseModel):
    """A document as indexed from an upload."""

    doc_id: str
    title: str
    version: str | None
    chunks: int


class UploadResult(BaseModel):
    """The index version that now serves the uploaded or removed documents."""

    index_version: str | None
    documents: list[UploadedDocument] = []
    removed: list[str] = []
    replaced: list[str] = []


class IndexVersions(BaseModel):
    """Index versions kept on disk."""

    current: str | None
    versions: list[IndexManifest]


def require_token(state: StateDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """Bearer-token check (also done before the body is read); writes are off without a token
    of at least GUIDEQA_SERVER__MIN_TOKEN_LENGTH characters."""
    failed = check_bearer(authorization, state.settings.write_token())
    if failed is not None:
        status, detail = failed
        title = "Unauthorized" if status == 401 else "Write endpoints disabled"
        raise ApiProblem(status, title, detail)


Authorized = Depends(require_token)


def _safe_name(filename: str) -> str:
    name = Path(filename).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".")[:120] or "upload"


def uploads_dir(state: StateDep) -> Path:
    """Where uploaded files are kept (absolute, so that a later `--prune` run finds them)."""
    return (state.settings.index.directory / "uploads").resolve()


def _audit(state: StateDep) -> AuditLog:
    return AuditLog(state.settings.index.directory.resolve() / "audit.jsonl")


async def _save_upload(file: UploadFile, state: StateDep) -> Path:
    """Stream the upload to a uniquely named file, counting bytes; nothing is kept on error."""
    server = state.settings.server
    name = _safe_name(file.filename or "")
    suffix = "".join(Path(name).suffixes[-2:]).lower()
    if not any(suffix.endswith(t) for t in server.upload_types):
        raise ApiProblem(
            415,
            "Unsupported file type",
            f"{name}: accepted types are {', '.join(server.upload_types)}",
        )
    folder = uploads_dir(state)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex[:12]}-{name}"
    size = 0
    try:
        with target.open("xb") as out:
            while chunk := await file.read(1024 * 1024):
                size += len(chunk)
                if size > server.max_upload_bytes:
                    raise ApiProblem(
                        413, "Upload too large", f"the limit is {server.max_upload_bytes} bytes"
                    )
                out.write(chunk)
        if size == 0:
            raise ApiProblem(422, "Empty upload", f"{name} is empty")
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def _parse(path: Path, meta: SourceMetadata, original: str, limits: IngestLimits) -> list[Document]:
    documents = load_file(path, default_loaders(limits))
    if meta.id and len(documents) > 1:
        raise ApiProblem(
            422,
            "Id for several documents",
            f"{original} holds {len(documents)} documents; an id names one: leave id out",
        )
    return [apply_metadata(d, meta) for d in documents]


def _displaced(state: StateDep, documents: list[Document]) -> list[str]:
    """Indexed documents the upload would replace (same id) or hide (supersedes, series)."""
    indexed = state.qa.engine.index.documents
    ids = {d.doc_id for d in indexed}
    hit = [d.doc_id for d in documents if d.doc_id in ids]
    merged = {d.doc_id: d for d in (*indexed, *documents)}
    hidden = supersession(tuple(merged.values()))
    for doc in documents:
        hit += [old for old in hidden.get(doc.doc_id, ()) if old in ids]
    return sorted(set(hit))


def _metadata(fields: dict[str, object]) -> SourceMetadata:
    supersedes = str(fields.pop("supersedes") or "")
    try:
        return SourceMetadata.model_validate(
            {**fields, "supersedes": [s.strip() for s in supersedes.split(",") if s.strip()]}
        )
    except ValueError as exc:
        raise ApiProblem(422, "Invalid metadata", str(exc)) from exc


@router.post(
    "/v1/documents",
    response_model=UploadResult,
    status_code=201,
    dependencies=[Authorized],
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 503),
)
async def upload_document(
    request: Request,
    state: StateDep,
    file: UploadFile,
    kind: Annotated[SourceKind | None, Form()] = None,
    doc_id: Annotated[str | None, Form(alias="id")] = None,
    title: Annotated[str | None, Form()] = None,
    issuer: Annotated[str | None, Form()] = None,
    date: Annotated[str | None, Form(description="YYYY-MM-DD")] = None,
    version: Annotated[str | None, Form()] = None,
    url: Annotated[str | None, Form(description="http(s) only")] = None,
    licence: Annotated[str | None, Form()] = None,
    supersedes: Annotated[str | None, Form(description="ids, comma-separated")] = None,
    series_id: Annotated[str | None, Form()] = None,
    replace: Annotated[
        bool, Form(description="allow replacing or hiding indexed documents")
    ] = False,
) -> UploadResult:
    """Ingest one file incrementally and serve it from the next request on."""
    meta = _metadata(
        {
            "id": doc_id,
            "kind": kind,
            "title": title,
            "issuer": issuer,
            "date": date,
            "version": version,
            "url": url,
            "licence": licence,
            "series_id": series_id,
            "supersedes": supersedes,
        }
    )
    stored = await _save_upload(file, state)
    original = _safe_name(file.filename or "")
    try:
        documents = await _parse_in_worker(state, stored, meta, original)
        displaced = _displaced(state, documents)
        if displaced and not replace:
            raise ApiProblem(
                409,
                "Would replace indexed documents",
                f"{original} would replace or hide {', '.join(displaced)}; send replace=true "
                "to do that",
            )
        # the first write loads the ingest model: in a worker thread, like the write itself
        summary = await run_in_threadpool(state.qa.add_documents, documents)
    except BaseException:
        stored.unlink(missing_ok=True)
        raise
    index = state.qa.engine.index
    _audit(state).record(
        "upload",
        token=token_fingerprint(state.settings.write_token()),
        client=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
        file=original,
        documents=[d.doc_id for d in documents],
        replaced=displaced,
        index_version=index.version,
    )
    uploaded = [
        UploadedDocument(
            doc_id=d.doc_id,
            title=d.title,
            version=d.version,
            chunks=index.chunk_count(d.doc_id),
        )
        for d in documents
    ]
    return UploadResult(
        index_version=index.version, documents=uploaded if summary else [], replaced=displaced
    )


async def _parse_in_worker(
    state: StateDep, stored: Path, meta: SourceMetadata, original: str
) -> list[Document]:
    """Parse off the event loop, within the upload time limit."""
    seconds = state.settings.server.upload_parse_seconds
    # the loaders' own budget stops the worker thread too (a thread cannot be killed)
    limits = state.settings.ingest.model_copy(
        update={"max_seconds": min(seconds, state.settings.ingest.max_seconds)}
    )
    try:
        return await asyncio.wait_for(
            run_in_threadpool(_parse, stored, meta, original, limits), seconds
        )
    except TimeoutError:
        raise ApiProblem(
            422, "Document could not be ingested", f"{original}: parsing took over {seconds:g} s"
        ) from None
    except IngestError as exc:
        raise ApiProblem(
            422, "Document could not be ingested", f"{original}: {exc.reason}"
        ) from exc


@router.delete(
    "/v1/documents/{doc_id}",
    response_model=UploadResult,
    dependencies=[Authorized],
    responses=problem_responses(401, 403, 404, 409, 422, 503),
)
async def delete_document(doc_id: DocId, request: Request, state: StateDep) -> UploadResult:
    """Remove one document; a new index version without it is published."""
    document = state.qa.engine.index.document(doc_id)
    if document is None:
        raise ApiProblem(404, "Unknown document", f"no document {doc_id!r} is indexed")
    await run_in_threadpool(state.qa.remove, [doc_id])
    _remove_upload(state, document)
    version = state.qa.engine.index.version
    _audit(state).record(
        "delete",
        token=token_fingerprint(state.settings.write_token()),
        client=request.client.host if request.client else None,
        request_id=getattr(request.state, "request_id", None),
        documents=[doc_id],
        index_version=version,
    )
    return UploadResult(index_version=version, removed=[doc_id])


def _remove_upload(state: StateDep, document: Document) -> None:
    """Delete the uploaded file behind a removed document, once nothing else comes from it."""
    source = Path(document.source_path)
    if source.parent != uploads_dir(state):
        return
    if not any(d.source_path == document.source_path for d in state.qa.engine.index.documents):
        source.unlink(missing_ok=True)


@router.get("/v1/index", response_model=IndexVersions, summary="Index versions kept")
def index_versions(state: StateDep) -> IndexVersions:
    backend = state.qa.backend  # folders on disk, or Milvus collections
    return IndexVersions(current=backend.published_version(), versions=backend.versions())
