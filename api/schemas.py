"""Request and response schemas of the HTTP API (the Answer contract is qa.models.Answer)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from guideqa.ingest.models import DOC_ID_PATTERN, Document, SourceKind


class Problem(BaseModel):
    """An error as problem details (RFC 9457): what failed, for which input, what to do."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    instance: str


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for error statuses, answered as application/problem+json. Every route
    may also answer 429 (rate limit)."""
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    return {status: {"model": Problem, "content": content} for status in sorted({*statuses, 429})}


# a document id in a URL path: the one pattern of ingest.models, checked before any lookup
DocId = Annotated[str, Path(pattern=DOC_ID_PATTERN, description="a document id")]


class AskRequest(BaseModel):
    """A question, optionally continuing a conversation and restricted to some source kinds."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "Should women 65 and older be screened for osteoporosis?"},
                {"question": "What about in men?", "conversation_id": "3f2a..."},
            ]
        },
    )

    question: str = Field(description="free-text clinical question")
    conversation_id: str | None = Field(default=None, description="continue this conversation")
    kinds: list[SourceKind] | None = Field(
        default=None, max_length=3, description="source kinds to search (at most 3, no repeats)"
    )
    explain: bool = Field(
        default=False,
        description="include, per statement, the score breakdown and why it was chosen, and "
        "the rejected candidates with the reason",
    )

    @field_validator("kinds")
    @classmethod
    def _distinct(cls, kinds: list[SourceKind] | None) -> list[SourceKind] | None:
        return list(dict.fromkeys(kinds)) if kinds else kinds


class TurnOut(BaseModel):
    """One turn of a conversation."""

    question: str
    interpreted_question: str
    summary: str
    abstained: bool


class ConversationOut(BaseModel):
    """The turns of a conversation so far."""

    conversation_id: str
    turns: list[TurnOut]


class DocumentSummary(BaseModel):
    """A document as listed."""

    doc_id: str
    kind: SourceKind
    title: str
    issuer: str | None
    date: dt.date | None
    year: int | None
    version: str | None
    url: str | None
    identifier: str | None
    licence: str | None
    partial: bool
    supersedes: list[str]
    superseded_by: list[str]
    sections: int

    @classmethod
    def of(cls, doc: Document, superseded_by: list[str]) -> DocumentSummary:
        """The summary of a domain document."""
        return cls(
            doc_id=doc.doc_id,
            kind=doc.kind,
            title=doc.title,
            issuer=doc.issuer,
            date=doc.date,
            year=doc.year,
            version=doc.version,
            url=doc.url,
            identifier=doc.identifier,
            licence=doc.licence,
            partial=doc.partial,
            supersedes=list(doc.supersedes),
            superseded_by=superseded_by,
            sections=len(doc.sections),
        )


class SectionOut(BaseModel):
    """A section of a document."""

    heading: str
    number: str | None
    path: list[str]
    pages: tuple[int, int] | None
    text: str


class DocumentDetail(DocumentSummary):
    """A document with its sections and its version history."""

    section_list: list[SectionOut]
    versions: list[DocumentSummary]


class DocumentPage(BaseModel):
    """One page of a document listing."""

    items: list[DocumentSummary]
    total: int
    offset: int
    limit: int


class Health(BaseModel):
    """Liveness, and the GuideQA version serving."""

    status: str
    version: str


class Ready(BaseModel):
    """Readiness: the index that is loaded, and why the service is not ready when it is not."""

    status: str
    reason: str | None = Field(
        default=None, description="why not ready (answers still come from the index in memory)"
    )
    index_version: str
    documents: int
    chunks: int
    counts_by_kind: dict[str, int]
    recording: bool = Field(
        default=False, description="answers are recorded (permalinks, replay, feedback)"
    )
