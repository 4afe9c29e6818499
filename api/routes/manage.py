"""Write endpoints (upload, delete) behind a bearer token, and the index version listing."""

from __future__ import annotations

import hmac
import os
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Header, Request, UploadFile
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.deps import StateDep
from api.problems import ApiProblem
from api.runtime import index_writer
from index.models import IndexManifest
from index.versions import current_version, list_versions
from ingest.errors import IngestError
from ingest.loaders import load_file
from ingest.loaders.base import SourceMetadata, apply_metadata
from ingest.models import SourceKind

router = APIRouter(tags=["index"])


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


class IndexVersions(BaseModel):
    """Index versions kept on disk."""

    current: str | None
    versions: list[IndexManifest]


def require_token(state: StateDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """Bearer-token check; the write endpoints are off when no token is configured."""
    token = state.settings.api_token
    if token is None:
        raise ApiProblem(
            403,
            "Write endpoints disabled",
            "set GUIDEQA_API_TOKEN on the server to enable uploads and deletions",
        )
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given, token.get_secret_value()):
        raise ApiProblem(
            401, "Unauthorized", "send the API token as 'Authorization: Bearer <token>'"
        )


Authorized = Depends(require_token)


def _safe_name(filename: str) -> str:
    name = Path(filename).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip(".") or "upload"


async def _save_upload(request: Request, file: UploadFile, state: StateDep) -> Path:
    server = state.settings.server
    declared = int(request.headers.get("content-length") or 0)
    if declared > server.max_upload_bytes + 64 * 1024:
        raise ApiProblem(
            413,
            "Upload too large",
            f"the limit is {server.max_upload_bytes} bytes; this upload is {declared}",
        )
    name = _safe_name(file.filename or "")
    suffix = "".join(Path(name).suffixes[-2:]).lower()
    if not any(suffix.endswith(t) for t in server.upload_types):
        raise ApiProblem(
            415,
            "Unsupported file type",
            f"{name}: accepted types are {', '.join(server.upload_types)}",
        )
    folder = state.settings.index.directory / "uploads"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.{os.getpid()}.part"
    size = 0
    with tmp.open("wb") as out:
        while chunk := await file.read(1024 * 1024):
            size += len(chunk)
            if size > server.max_upload_bytes:
                out.close()
                tmp.unlink(missing_ok=True)
                raise ApiProblem(
                    413, "Upload too large", f"the limit is {server.max_upload_bytes} bytes"
                )
            out.write(chunk)
    if size == 0:
        tmp.unlink(missing_ok=True)
        raise ApiProblem(422, "Empty upload", f"{name} is empty")
    return tmp


def _writer(state: StateDep):  # type: ignore[no-untyped-def]
    writer = getattr(state, "writer", None)
    if writer is None:  # loaded on the first write only: it holds an ingest embedder
        index_settings = state.settings.index.model_copy(
            update={"lock_timeout_s": state.settings.server.write_wait_seconds}
        )
        writer = index_writer(state.settings.model_copy(update={"index": index_settings}))
        state.writer = writer
    return writer


@router.post(
    "/v1/documents",
    response_model=UploadResult,
    status_code=201,
    dependencies=[Authorized],
    responses={401: {}, 403: {}, 409: {}, 413: {}, 415: {}, 422: {}},
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
    url: Annotated[str | None, Form()] = None,
    licence: Annotated[str | None, Form()] = None,
    supersedes: Annotated[str | None, Form(description="ids, comma-separated")] = None,
    series_id: Annotated[str | None, Form()] = None,
) -> UploadResult:
    """Ingest one document incrementally and serve it from the next request on."""
    try:
        meta = SourceMetadata.model_validate(
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
                "supersedes": [s.strip() for s in (supersedes or "").split(",") if s.strip()],
            }
        )
    except ValueError as exc:
        raise ApiProblem(422, "Invalid metadata", str(exc)) from exc
    tmp = await _save_upload(request, file, state)
    target = tmp.with_name(tmp.name.removeprefix(".").rsplit(".", 2)[0])
    try:
        documents = [apply_metadata(d, meta) for d in load_file(tmp.rename(target))]
    except IngestError as exc:
        target.unlink(missing_ok=True)
        raise ApiProblem(
            422, "Document could not be ingested", f"{file.filename}: {exc.reason}"
        ) from exc
    summary = await run_in_threadpool(_writer(state).ingest, documents)
    await run_in_threadpool(state.reloader.check)
    index = state.holder.engine.index
    return (
        UploadResult(
            index_version=index.version,
            documents=[
                UploadedDocument(
                    doc_id=d.doc_id,
                    title=d.title,
                    version=d.version,
                    chunks=len(index.store.rows_of_document(d.doc_id)),
                )
                for d in documents
            ],
        )
        if summary
        else UploadResult(index_version=index.version)
    )


@router.delete(
    "/v1/documents/{doc_id}",
    response_model=UploadResult,
    dependencies=[Authorized],
    responses={401: {}, 403: {}, 404: {}, 409: {}},
)
async def delete_document(doc_id: str, state: StateDep) -> UploadResult:
    """Remove one document; a new index version without it is published."""
    if state.holder.engine.index.store.document(doc_id) is None:
        raise ApiProblem(404, "Unknown document", f"no document {doc_id!r} is indexed")
    await run_in_threadpool(_writer(state).ingest, [], remove=[doc_id])
    await run_in_threadpool(state.reloader.check)
    return UploadResult(index_version=state.holder.engine.index.version, removed=[doc_id])


@router.get("/v1/index", response_model=IndexVersions, summary="Index versions on disk")
def index_versions(state: StateDep) -> IndexVersions:
    root = state.settings.index.directory
    return IndexVersions(current=current_version(root), versions=list_versions(root))
