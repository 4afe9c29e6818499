"""The answer contract shared by the API, the CLI and the evaluation."""

from __future__ import annotations

import secrets
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from guideqa.ingest.models import Population, SectionRole, SourceKind


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


class PopulationTag(_Frozen):
    """The patients a statement applies to (and only to): typed, with a readable label."""

    kind: Population
    label: str


class SupportSpan(_Frozen):
    """Where a generated sentence's support lies: reference n, characters [start, end)."""

    n: int
    start: int
    end: int


class Statement(_Frozen):
    """One unit of the answer (a sentence, a recommendation with its list, or a table row) and
    the references that support it. `quote` is verbatim from the cited passage. A generated
    sentence carries `verified` and the `support` span of its passage; one that failed
    verification is shown (struck through) only when asked for, with `failed_reason`."""

    text: str
    quote: str
    citations: tuple[int, ...]
    items: tuple[str, ...] = ()
    population: PopulationTag | None = None
    role: SectionRole | None = None
    verified: bool | None = None
    support: SupportSpan | None = None
    failed_reason: str | None = None


class Callout(_Frozen):
    """A warning shown beside the answer (the boxed warning), never in place of it."""

    kind: str
    title: str
    text: str
    quote: str
    citations: tuple[int, ...]


class Factor(_Frozen):
    """One factor of a statement's score: its value, its weight, and what it means."""

    name: str
    value: float
    weight: float
    note: str = ""


class ScoreBreakdown(_Frozen):
    """How a candidate statement was scored: the weighted factors and their sum."""

    factors: tuple[Factor, ...]
    total: float


class ChosenStatement(_Frozen):
    """Why a statement is in the answer."""

    kind: SourceKind
    chunk_id: str
    text: str
    score: ScoreBreakdown
    reason: str


class RejectedCandidate(_Frozen):
    """A candidate that is not in the answer, and why not."""

    kind: SourceKind
    chunk_id: str
    text: str
    score: float | None
    reason: str


class Explanation(_Frozen):
    """How the answer was built: what was understood, what was chosen and what was not."""

    question_type: str
    intent: Intent
    concepts: tuple[str, ...]
    chosen: tuple[ChosenStatement, ...]
    rejected: tuple[RejectedCandidate, ...]


class MeasureKind(StrEnum):
    """What sort of quantity a measure is."""

    DOSE = "dose"
    FREQUENCY = "frequency"
    THRESHOLD = "threshold"
    TARGET = "target"
    AGE = "age"
    DURATION = "duration"
    RATE = "rate"
    DIRECTION = "direction"


class Comparator(StrEnum):
    """How a stated value bounds the quantity."""

    EQUAL = "="
    LESS = "<"
    GREATER = ">"
    RANGE = "range"


class SourceValue(_Frozen):
    """One source's value for a quantity: verbatim, typed, and cited."""

    value: str
    normalised: str
    low: float
    high: float
    unit: str
    comparator: Comparator
    population: tuple[str, ...] = ()
    min_age: float | None = None
    max_age: float | None = None
    applies_to: str = Field(default="", description="who the value is for, as displayed")
    statement: str
    citation: int
    doc_id: str
    source: str
    year: int | None = None
    kind: SourceKind


def applies_to(value: SourceValue) -> str:
    """Who a value is stated for: 'renal impairment', 'aged 18-39', 'all patients'."""
    parts = [p.replace("_", " ") for p in value.population]
    if value.min_age is not None or value.max_age is not None:
        low, high = value.min_age, value.max_age
        if high is None:
            parts.append(f"aged {low:g}+")
        elif not low:
            parts.append(f"aged under {high:g}")
        else:
            parts.append(f"aged {low:g}-{high:g}")
    return ", ".join(parts) or "all patients"


class GenerationStats(_Frozen):
    """What a chat model wrote and how much of it failed verification (dropped)."""

    sentences: int
    dropped: int


class Discrepancy(_Frozen):
    """Current sources giving values for the same quantity and population that do not
    overlap. Superseded documents never take part."""

    quantity: str
    measure_kind: MeasureKind
    values: tuple[SourceValue, ...]


class AnswerSection(_Frozen):
    """'From the Guidelines', 'From the FDA Drug Label' or 'From the Research'."""

    kind: SourceKind
    title: str
    statements: tuple[Statement, ...]


def new_answer_id() -> str:
    """An unguessable answer id (128 random bits): a permalink reveals nothing about others."""
    return secrets.token_urlsafe(16)


class Answer(_Frozen):
    """A composed answer; every statement traces to a cited passage."""

    answer_id: str | None = None
    question: str
    interpreted_question: str
    summary: str
    summary_citations: tuple[int, ...] = ()
    sections: tuple[AnswerSection, ...] = ()
    references: tuple[Citation, ...] = ()
    abstained: bool = False
    gaps: tuple[str, ...] = ()
    callouts: tuple[Callout, ...] = ()
    discrepancies: tuple[Discrepancy, ...] = ()
    composer: str = Field(default="extractive", description="extractive, or generative")
    composer_note: str | None = Field(
        default=None, description="why the generative answer was not shown, when it was not"
    )
    generation: GenerationStats | None = Field(
        default=None, description="generated sentences and how many failed verification"
    )
    conversation_id: str | None = None
    index_version: str | None = None
    intent: Intent = Intent.GENERAL
    drugs: tuple[str, ...] = ()
    disclaimer: str = ""
    question_type: str = "general"
    explanation: Explanation | None = None
    timings_ms: dict[str, float] = {}
