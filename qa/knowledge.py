"""Clinical knowledge as validated data: intents, question types, cue words, drug classes,
study designs, strength tags and issuer names (qa/data/*.yaml), loaded once per engine."""

from __future__ import annotations

import re
from enum import StrEnum
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from guideqa.ingest.models import SectionRole
from guideqa.ingest.sections import KnowledgeFileError, SectionKnowledge, cue_pattern, load_yaml
from guideqa.qa.models import Intent

DATA_DIR = Path(__file__).parent / "data"


class QuestionType(StrEnum):
    """What kind of answer leads the bottom line."""

    NUMBER = "number"
    RECOMMENDATION = "recommendation"
    POPULATION = "population"
    LIST = "list"
    GENERAL = "general"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class IntentRule(_Model):
    """Cue words of an intent, the label sections that answer it, and whether guideline
    recommendation statements answer it best."""

    intent: Intent
    cues: tuple[str, ...]
    roles: tuple[SectionRole, ...] = ()
    recommendation: bool = False
    label_first: bool = False


class QuestionTypeRule(_Model):
    """Cue words of a question type."""

    type: QuestionType
    cues: tuple[str, ...]


class StudyDesign(_Model):
    """A research design, how to recognise it, and its evidence weight."""

    name: str
    pattern: str
    weight: float = Field(gt=0)

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        re.compile(value)
        return value


class IssuerName(_Model):
    """A short name for an issuer whose full name contains `match`."""

    match: str
    short: str


class DrugClass(_Model):
    """A drug class: the names it goes by and its members (lowercase generic names)."""

    name: str
    aliases: tuple[str, ...] = Field(min_length=1)
    members: tuple[str, ...] = ()


class _ClassFile(_Model):
    classes: tuple[DrugClass, ...]


def _lowercase_keys(data: object) -> dict[str, tuple[str, ...]]:
    """Synonym entries: key -> related phrases (a list, or one phrase)."""
    if not isinstance(data, dict):
        return {}
    return {
        str(k).lower(): tuple(str(p) for p in v) if isinstance(v, list) else (str(v),)
        for k, v in data.items()
    }


class ClinicalKnowledge(_Model):
    """Everything the answer layer knows that is not in the documents."""

    intents: tuple[IntentRule, ...]
    question_types: tuple[QuestionTypeRule, ...]
    generic_words: frozenset[str]
    question_words: frozenset[str]
    recommendation_cues: tuple[str, ...]
    strength_tags: tuple[str, ...]
    boilerplate: tuple[str, ...]
    study_designs: tuple[StudyDesign, ...]
    quantity_pattern: str
    salts: frozenset[str]
    drug_suffixes: tuple[str, ...]
    not_drugs: frozenset[str]
    issuers: tuple[IssuerName, ...]
    drug_classes: tuple[DrugClass, ...] = ()
    abbreviations: dict[str, str | dict[str, dict[str, tuple[str, ...]]]] = {}
    synonyms: dict[str, tuple[str, ...]] = {}
    sections: SectionKnowledge

    @field_validator("generic_words", "question_words", mode="after")
    @classmethod
    def _lowercase(cls, words: frozenset[str]) -> frozenset[str]:
        return frozenset(w.lower() for w in words)

    @field_validator("strength_tags", "boilerplate")
    @classmethod
    def _patterns_compile(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        for value in values:
            re.compile(value)
        return values

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> ClinicalKnowledge:
        """Read and validate every knowledge file; a bad file fails with its name."""
        path = directory / "knowledge.yaml"
        raw = load_yaml(path)
        try:
            if not isinstance(raw, dict):
                raise KnowledgeFileError(f"{path} must be a mapping")
            classes = _ClassFile.model_validate(load_yaml(directory / "drug_classes.yaml"))
            return cls.model_validate(
                {
                    **raw,
                    "drug_classes": classes.classes,
                    "abbreviations": load_yaml(directory / "abbreviations.yaml") or {},
                    "synonyms": _lowercase_keys(load_yaml(directory / "synonyms.yaml")),
                    "sections": SectionKnowledge.load(),
                }
            )
        except ValidationError as exc:
            raise KnowledgeFileError(f"{path} (or a file beside it) is invalid: {exc}") from exc

    @cached_property
    def intent_patterns(self) -> tuple[tuple[IntentRule, re.Pattern[str]], ...]:
        """Each intent with its compiled whole-word cue pattern, in checking order."""
        return tuple((rule, cue_pattern(rule.cues)) for rule in self.intents)

    @cached_property
    def type_patterns(self) -> tuple[tuple[QuestionType, re.Pattern[str]], ...]:
        """Each question type with its compiled cue pattern, in checking order."""
        return tuple((rule.type, cue_pattern(rule.cues)) for rule in self.question_types)

    @cached_property
    def recommendation_pattern(self) -> re.Pattern[str]:
        """Words that make a sentence a recommendation."""
        return cue_pattern(self.recommendation_cues)

    @cached_property
    def strength_pattern(self) -> re.Pattern[str]:
        """A strength-of-recommendation tag; `.match(text, pos)` finds one right at pos, on the
        same line or the next."""
        return re.compile(
            r"[ \t]*\n?[ \t]*(?:" + "|".join(self.strength_tags) + r")", re.IGNORECASE
        )

    @cached_property
    def strength_anywhere(self) -> re.Pattern[str]:
        """A strength-of-recommendation tag anywhere in a text."""
        return re.compile("|".join(self.strength_tags), re.IGNORECASE)

    @cached_property
    def boilerplate_pattern(self) -> re.Pattern[str]:
        """Trial-conduct and cross-reference sentences that are never statements."""
        return re.compile("|".join(self.boilerplate), re.IGNORECASE | re.MULTILINE)

    @cached_property
    def quantity(self) -> re.Pattern[str]:
        """A number with a clinical unit ('400 mg', '3 to 5 years', '140/90 mmHg')."""
        return re.compile(self.quantity_pattern, re.IGNORECASE)

    def intent_rule(self, intent: Intent) -> IntentRule | None:
        """The rule of an intent (None for GENERAL)."""
        return next((rule for rule in self.intents if rule.intent is intent), None)

    def issuer_short(self, issuer: str | None) -> str:
        """A short issuer name for statement prefixes."""
        if not issuer:
            return "Guideline"
        for name in self.issuers:
            if name.match.lower() in issuer.lower():
                return name.short
        return issuer if len(issuer) <= 40 else issuer[:37].rstrip() + "..."
