"""The clinical question set: typed, validated on load."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from guideqa.ingest.errors import GuideQAError
from guideqa.ingest.models import SourceKind

QUESTIONS_DIR = Path(__file__).parent / "questions"


class GoldDocument(BaseModel):
    """A document (manifest id) that should be retrieved, with the section where it matters."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    doc: str
    section: str | None = None


class EvalQuestion(BaseModel):
    """One graded question."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    question: str
    area: str = Field(description="clinical area, for grouping in reports")
    kinds: tuple[SourceKind, ...]
    gold: tuple[GoldDocument, ...] = ()
    required: tuple[str, ...] = Field(default=(), description="regexes a correct answer matches")
    lead: tuple[str, ...] = Field(
        default=(), description="regexes the bottom line itself must match (the key facts)"
    )
    topic: tuple[str, ...] = Field(
        default=(),
        description="concept regexes (synonyms as alternation); a statement is on-topic when "
        "it matches every one of them",
    )
    forbidden: tuple[str, ...] = ()
    answerable: bool = True
    follow_up_of: str | None = None
    tags: tuple[str, ...] = ()
    differ: tuple[str, ...] = Field(
        default=(),
        description="quantities on which current indexed sources really differ for this "
        "question (measure names of qa/data/measures.yaml, or a description when no measure "
        "covers it): a complete answer shows each in its discrepancies block",
    )

    @field_validator("required", "forbidden", "lead", "topic")
    @classmethod
    def _valid_patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            re.compile(pattern)
        return patterns

    @property
    def category(self) -> str:
        """The reporting category: follow-up, unanswerable, multi-kind or the single kind."""
        if self.follow_up_of:
            return "follow-up"
        if not self.answerable:
            return "unanswerable"
        if len(self.kinds) > 1:
            return "multi-kind"
        return self.kinds[0].value


class EvalSetError(GuideQAError):
    """The question file is malformed."""


class KnownDisagreement(BaseModel):
    """Two current documents that really give different values for one quantity, written
    down from reading both passages (quoted)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    quantity: str
    docs: tuple[str, str]
    quotes: tuple[str, str]
    why: str


class KnownDisagreements(BaseModel):
    """eval/questions/disagreements.yaml: the truth a discrepancy row is judged against."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    disagreements: tuple[KnownDisagreement, ...]

    def holds(self, quantity: str, a: str, b: str) -> bool:
        """Whether documents a and b are known to differ on the quantity."""
        return any(d.quantity == quantity and {a, b} == set(d.docs) for d in self.disagreements)

    def quotes_of(self, quantity: str, doc_id: str) -> list[str]:
        """The passages of a document recorded for a quantity."""
        return [
            quote
            for d in self.disagreements
            if d.quantity == quantity
            for doc, quote in zip(d.docs, d.quotes, strict=True)
            if doc == doc_id
        ]


def load_disagreements(path: Path | None = None) -> KnownDisagreements:
    """Read and validate the known disagreements (default: eval/questions/disagreements.yaml)."""
    path = path or QUESTIONS_DIR / "disagreements.yaml"
    try:
        return KnownDisagreements.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise EvalSetError(f"{path}: not a valid list of known disagreements ({exc})") from exc


def load_questions(path: Path) -> list[EvalQuestion]:
    """Read and validate a question file; follow-ups must come after what they follow."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or []
        questions = [EvalQuestion.model_validate(item) for item in raw]
    except (OSError, yaml.YAMLError, ValidationError, re.error) as exc:
        raise EvalSetError(f"{path}: not a valid question set ({exc})") from exc
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise EvalSetError(f"{path}: duplicate question id {question.id!r}")
        if question.follow_up_of and question.follow_up_of not in seen:
            raise EvalSetError(
                f"{path}: {question.id} follows {question.follow_up_of!r}, "
                "which must come earlier in the file"
            )
        seen.add(question.id)
    return questions


def question_set(name: str) -> Path:
    """The file of a named set in eval/questions (or a path)."""
    candidate = Path(name)
    if candidate.exists():
        return candidate
    return QUESTIONS_DIR / f"{name}.yaml"


def split_name(set_name: str) -> str:
    """The report name of a question set: the clinical set is the dev split."""
    stem = Path(set_name).stem
    return "dev" if stem == "clinical" else stem
