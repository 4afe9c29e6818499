"""qa/data/measures.yaml as validated models: units, comparators, direction cues, population
qualifiers and the measures (clinical quantities) compared across sources."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from guideqa.ingest.models import SourceKind
from guideqa.qa.models import Comparator, MeasureKind


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _compiles(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"invalid pattern {pattern!r}: {exc}") from exc
    return pattern


class WordValue(_Model):
    """A value written without digits ('annually')."""

    pattern: str
    value: float

    _check = field_validator("pattern")(classmethod(lambda cls, v: _compiles(v)))


class UnitSpec(_Model):
    """A unit, how it is written, and how it is normalised to its base unit."""

    name: str
    base: str
    scale: float = Field(gt=0)
    patterns: tuple[str, ...]
    prefix: str | None = None
    words: tuple[WordValue, ...] = ()

    _check_prefix = field_validator("prefix")(
        classmethod(lambda cls, v: _compiles(v) if v is not None else v)
    )

    _check = field_validator("patterns")(classmethod(lambda cls, v: tuple(_compiles(p) for p in v)))


class MeasureSpec(_Model):
    """One clinical quantity: its unit families, the words that must surround it, the kinds of
    source read for it and the search that finds other sources' values."""

    name: str
    kind: MeasureKind
    units: tuple[str, ...]
    context: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    kinds: tuple[SourceKind, ...] = (SourceKind.GUIDELINE,)
    per_drug: bool = False
    bound: Comparator | None = None
    compare: Literal["range", "upper", "lower"] = "range"
    tolerance: float = Field(
        default=0.01,
        ge=0,
        lt=1,
        description="relative difference under which two values are the same (wider when "
        "sources write one quantity in different units, e.g. weeks and months)",
    )
    near: str | None = Field(
        default=None, description="a value counts only within a few words after this"
    )
    not_after: str | None = Field(
        default=None, description="a value right after this is another quantity's"
    )
    cross_kind_only: bool = False
    query: str
    asks: tuple[str, ...] = ()
    indication: tuple[str, ...] = Field(
        default=(), description="for a direction: in the statement, its title or headings"
    )

    _check_one = field_validator("near", "not_after")(
        classmethod(lambda cls, v: _compiles(v) if v is not None else v)
    )
    _check = field_validator("context", "exclude", "asks", "indication")(
        classmethod(lambda cls, v: tuple(_compiles(p) for p in v))
    )


class Directions(_Model):
    """Words that make a statement a recommendation for or against what it names, and words
    that make it neither ('insufficient evidence to recommend for or against')."""

    neither: str
    against: str
    for_: str = Field(alias="for")

    _check = field_validator("neither", "against", "for_")(classmethod(lambda cls, v: _compiles(v)))


class Comparators(_Model):
    """Comparator words before and after a number."""

    less: str
    greater: str
    less_after: str
    greater_after: str

    _check = field_validator("less", "greater", "less_after", "greater_after")(
        classmethod(lambda cls, v: _compiles(v))
    )


class MeasureFile(_Model):
    """qa/data/measures.yaml, validated."""

    units: tuple[UnitSpec, ...]
    comparators: Comparators
    directions: Directions
    qualifiers: dict[str, str]
    implies: dict[str, tuple[str, ...]] = {}
    exclusive: frozenset[str] = frozenset()
    measures: tuple[MeasureSpec, ...]

    _check = field_validator("qualifiers")(
        classmethod(lambda cls, v: {k: _compiles(p) for k, p in v.items()})
    )
