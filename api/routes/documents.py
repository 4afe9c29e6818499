"""GET /v1/documents (filtered, paginated) and GET /v1/documents/{id}."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from guideqa.api.deps import EngineDep
from guideqa.api.problems import ApiProblem
from guideqa.api.schemas import (
    DocId,
    DocumentDetail,
    DocumentPage,
    DocumentSummary,
    SectionOut,
    problem_responses,
)
from guideqa.index.supersession import supersession
from guideqa.ingest.models import Document, SourceKind

router = APIRouter(prefix="/v1/documents", tags=["documents"], responses=problem_responses())


def _superseded_by(documents: tuple[Document, ...]) -> dict[str, list[str]]:
    relation: dict[str, list[str]] = {}
    for newer, olds in supersession(documents).items():
        for older in olds:
            relation.setdefault(older, []).append(newer)
    return relation


@router.get(
    "",
    response_model=DocumentPage,
    responses=problem_responses(422),
    summary="List indexed documents",
)
def list_documents(
    engine: EngineDep,
    kind: SourceKind | None = None,
    q: Annotated[str | None, Query(description="words in the title")] = None,
    issuer: Annotated[str | None, Query(description="part of the issuer or journal")] = None,
    offset: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DocumentPage:
    documents = engine.index.documents
    words = (q or "").lower().split()
    matches = [
        d
        for d in documents
        if (kind is None or d.kind is kind)
        and all(w in d.title.lower() for w in words)
        and (not issuer or issuer.lower() in (d.issuer or "").lower())
    ]
    later = _superseded_by(documents)
    page = [
        DocumentSummary.of(d, later.get(d.doc_id, [])) for d in matches[offset : offset + limit]
    ]
    return DocumentPage(items=page, total=len(matches), offset=offset, limit=limit)


@router.get(
    "/{doc_id}",
    response_model=DocumentDetail,
    responses=problem_responses(404, 422),
    summary="A document's metadata, sections and versions",
)
def get_document(doc_id: DocId, engine: EngineDep) -> DocumentDetail:
    documents = engine.index.documents
    doc = engine.index.document(doc_id)
    if doc is None:
        raise ApiProblem(
            404,
            "Unknown document",
            f"no document {doc_id!r} is indexed; list them at /v1/documents",
        )
    later = _superseded_by(documents)
    by_id = {d.doc_id: d for d in documents}
    replaces = supersession(documents).get(doc_id, ())
    family = [by_id[i] for i in (*replaces, *later.get(doc_id, [])) if i in by_id]
    summary = DocumentSummary.of(doc, later.get(doc_id, []))
    sections = [
        SectionOut(
            heading=s.heading,
            number=s.number,
            path=list(s.path),
            pages=(s.page_start, s.page_end or s.page_start) if s.page_start else None,
            text=s.text,
        )
        for s in doc.sections
    ]
    versions = [DocumentSummary.of(d, later.get(d.doc_id, [])) for d in family]
    return DocumentDetail(**summary.model_dump(), section_list=sections, versions=versions)
