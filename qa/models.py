"""The answer contract shared by the API, the CLI and the evaluation."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from ingest.models import SourceKind


class Intent(StrEnum):
    """What the clinician wants to know; steers label sections and guideline passages."""

    TREATMENT = "treatment"
    DOSING = "dosing"
    CONTRAINDICATIONS = "contraindications"
    ADVERSE_EFFECTS = "adverse_effects"
    INTERACTIONS = "interactions"
    MONITORING = "monitoring"
    SCREENING = "screening"
    PREGNANCY = "pregnancy"
    PEDIATRIC = "pediatric"
    RENAL = "renal"
    GENERAL = "general"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Citation(_Frozen):
    """A numbered reference: the exact passage a statement came from, with its provenance."""

    n: int
    kind: SourceKind
    doc_id: str
    chunk_id: str
    title: str
    issuer: str | None = None
    year: int | None = None
    section: str
    pages: tuple[int, int] | None = None
    url: str | None = None
    identifier: str | None = None
    passage: str
    note: str | None = None


class Statement(_Frozen):
    """One sentence of the answer and the references that support it."""

    text: str
    quote: str
    citations: tuple[int, ...]


class AnswerSection(_Frozen):
    """'From the Guidelines', 'From the FDA Drug Label' or 'From the Research'."""

    kind: SourceKind
    title: str
    statements: tuple[Statement, ...]


class Answer(_Frozen):
    """A composed answer; every statement traces to a cited passage."""

    question: str
    interpreted_question: str
    summary: str
    summary_citations: tuple[int, ...] = ()
    sections: tuple[AnswerSection, ...] = ()
    references: tuple[Citation, ...] = ()
    abstained: bool = False
    gaps: tuple[str, ...] = ()
    conversation_id: str | None = None
    index_version: str | None = None
    intent: Intent = Intent.GENERAL
    drugs: tuple[str, ...] = ()
    disclaimer: str = ""
    timings_ms: dict[str, float] = {}
