"""Request and response schemas of the HTTP API (the Answer contract is qa.models.Answer)."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from ingest.models import Document, SourceKind


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
    kinds: list[SourceKind] | None = Field(default=None, description="source kinds to search")
    explain: bool = Field(
        default=False,
        description="include, per statement, the score breakdown and why it was chosen, and "
        "the rejected candidates with the reason",
    )


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
    """Liveness."""

    status: str


class Ready(BaseModel):
    """Readiness: the index that is loaded."""

    status: str
    index_version: str
    documents: int
    chunks: int
    counts_by_kind: dict[str, int]
