"""Typed quantities in statements: a number (or range) with a normalised unit, a comparator and
the population it is stated for, for each clinical measure of qa/data/measures.yaml."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from guideqa.ingest.models import SourceKind
from guideqa.ingest.sections import KnowledgeFileError, load_yaml
from guideqa.qa.models import Comparator, MeasureKind

DATA_DIR = Path(__file__).parent / "data"
_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|" + "|".join(_WORDS)
_TO = r"\s*(?:to|-|–|—|and)\s*"
_AGE_BAND = re.compile(
    r"\b(?:aged?|ages)\s+(?P<a>\d{1,3})(?:\s*(?:years?\s*)?(?:to|-|–|through)\s*(?P<b>\d{1,3})"
    r"|(?P<plus>\s*(?:years?\s*)?(?:and|or)\s+(?:older|over|above)))?"
    r"|\b(?:below|under|younger than|less than)\s+(?:age\s+)?(?P<under>\d{1,3})\s+years"
    r"|(?P<over>\d{1,3})\s+years\s+(?:of\s+age\s+)?(?:and|or)\s+(?:older|over)"
    r"|(?:>|≥|older than|over)\s*age\s*(?P<gt>\d{1,3})",
    re.IGNORECASE,
)


_PATIENT_AGE = re.compile(
    r"\b(\d{1,3})[- ](?:years?|yrs?)[- ]old\b|\baged? (\d{1,3})\b"
    r"|\b(\d{1,3}) (?:years|yrs) of age\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"\b(?:without|no (?:history|known)|absence of|not have|free of)\b", re.I)


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
    cross_kind_only: bool = False
    query: str

    _check = field_validator("context", "exclude")(
        classmethod(lambda cls, v: tuple(_compiles(p) for p in v))
    )


class Comparators(_Model):
    """Comparator words before and after a number."""

    less: str
    greater: str
    less_after: str
    greater_after: str


class MeasureFile(_Model):
    """qa/data/measures.yaml, validated."""

    units: tuple[UnitSpec, ...]
    comparators: Comparators
    qualifiers: dict[str, str]
    implies: dict[str, tuple[str, ...]] = {}
    exclusive: frozenset[str] = frozenset()
    measures: tuple[MeasureSpec, ...]

    _check = field_validator("qualifiers")(
        classmethod(lambda cls, v: {k: _compiles(p) for k, p in v.items()})
    )


@dataclass(frozen=True)
class AgeBand:
    """The ages a statement is limited to, in years: [low, high]."""

    low: float
    high: float

    def overlaps(self, other: AgeBand) -> bool:
        """Whether two bands share an age."""
        return self.low <= other.high and other.low <= self.high


@dataclass(frozen=True)
class TypedQuantity:
    """A value of a measure as a statement gives it: the verbatim span, the normalised
    interval [low, high] in the base unit, the comparator and the population."""

    measure: str
    kind: MeasureKind
    text: str
    low: float
    high: float
    unit: str
    comparator: Comparator
    qualifiers: frozenset[str]
    ages: AgeBand | None

    def overlaps(self, other: TypedQuantity) -> bool:
        """Whether two values can be the same (their stated numbers overlap, within 1%)."""
        slack = 0.01 * max(abs(self.high), abs(other.high), 1e-9)
        return self.low <= other.high + slack and other.low <= self.high + slack

    @property
    def normalised(self) -> str:
        """The value in the base unit: '< 140 mmHg', '8-9 %', '43.5 % per month'."""
        low, high = _short(self.low), _short(self.high)
        number = low if low == high else f"{low}-{high}"
        prefix = {Comparator.LESS: "< ", Comparator.GREATER: "> "}.get(self.comparator, "")
        return f"{prefix}{number} {self.unit}"


def _short(value: float) -> str:
    return f"{value:.3g}" if not value.is_integer() else str(int(value))


def _number(text: str) -> float:
    word = _WORDS.get(text.lower())
    return float(word) if word is not None else float(text.replace(",", ""))


class MeasureBook:
    """The measures, compiled: finds each measure's typed values in a statement."""

    def __init__(self, spec: MeasureFile) -> None:
        self.spec = spec
        self.units = {u.name: u for u in spec.units}
        missing = {u for m in spec.measures for u in m.units} - set(self.units)
        if missing:
            raise KnowledgeFileError(f"measures.yaml names unknown units: {sorted(missing)}")
        named = set(spec.exclusive) | set(spec.implies)
        named |= {q for implied in spec.implies.values() for q in implied}
        unknown = named - set(spec.qualifiers)
        if unknown:
            raise KnowledgeFileError(f"measures.yaml names unknown qualifiers: {sorted(unknown)}")
        for measure in spec.measures:
            bases = {self.units[u].base for u in measure.units}
            if len(bases) != 1:
                raise KnowledgeFileError(
                    f"measures.yaml: the units of {measure.name!r} must share one base unit "
                    f"so their values can be compared; they have {sorted(bases)}"
                )

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> MeasureBook:
        """Read and validate measures.yaml; a bad file fails with its name."""
        path = directory / "measures.yaml"
        try:
            return cls(MeasureFile.model_validate(load_yaml(path)))
        except ValidationError as exc:
            raise KnowledgeFileError(f"{path} is invalid: {exc}") from exc

    @cached_property
    def _qualifiers(self) -> dict[str, re.Pattern[str]]:
        return {k: re.compile(p, re.IGNORECASE) for k, p in self.spec.qualifiers.items()}

    @cached_property
    def _contexts(self) -> dict[str, tuple[list[re.Pattern[str]], list[re.Pattern[str]]]]:
        flags = re.IGNORECASE
        return {
            m.name: (
                [re.compile(p, flags) for p in m.context],
                [re.compile(p, flags) for p in m.exclude],
            )
            for m in self.spec.measures
        }

    @cached_property
    def _value_patterns(self) -> dict[str, re.Pattern[str]]:
        cmp = self.spec.comparators
        out = {}
        for unit in self.spec.units:
            written = "|".join(f"(?:{p})" for p in unit.patterns)
            prefix = rf"(?:{unit.prefix})\s+" if unit.prefix else ""
            out[unit.name] = re.compile(
                rf"(?<![\w.]){prefix}(?:(?P<before>{cmp.less}|{cmp.greater})\s*)?"
                rf"(?P<a>{_NUMBER})(?:\s*(?:{written}))?"
                rf"(?:{_TO}(?P<b>{_NUMBER}))?(?:\s*/\s*\d{{2,3}})?\s*(?:{written})"
                rf"(?:\s*(?P<after>{cmp.less_after}|{cmp.greater_after}))?(?![A-Za-z])",
                re.IGNORECASE,
            )
        return out

    def qualifiers_in(self, text: str) -> frozenset[str]:
        """The population qualifiers a text names, except where it names them to exclude
        them ('adults without a history of coronary artery disease') or as examples."""
        return frozenset(
            k
            for k, p in self._qualifiers.items()
            if any(_names(text, m.start()) for m in p.finditer(text))
        )

    def with_implied(self, qualifiers: frozenset[str]) -> frozenset[str]:
        """Qualifiers with those they imply (pregnancy: women)."""
        implied = {q for k in qualifiers for q in self.spec.implies.get(k, ())}
        return qualifiers | implied

    def measures_for(self, text: str, kind: SourceKind) -> list[MeasureSpec]:
        """The measures whose context words (and none of whose exclusions) a statement has."""
        found = []
        for measure in self.spec.measures:
            if kind not in measure.kinds:
                continue
            context, exclude = self._contexts[measure.name]
            if all(p.search(text) for p in context) and not any(p.search(text) for p in exclude):
                found.append(measure)
        return found

    def values(
        self,
        text: str,
        kind: SourceKind,
        population: frozenset[str] = frozenset(),
        lead: str | None = None,
    ) -> list[TypedQuantity]:
        """Every typed value a statement gives for each measure it is about. `population`
        adds qualifiers known from elsewhere (its document title, headings, label section); the
        statement's own qualifiers are read from its `lead` (a list's introduction), not from
        its items, which list risk factors and conditions rather than who it is for."""
        out: list[TypedQuantity] = []
        if not any(c.isdigit() for c in text) and not any(u.words for u in self.spec.units):
            return out
        qualifiers = self.qualifiers_in(lead or text) | population
        ages = age_band(text)
        for measure in self.measures_for(text, kind):
            for unit_name in measure.units:
                for span, low, high, comparator in self._unit_values(text, unit_name):
                    if measure.bound is not None and comparator is not measure.bound:
                        continue
                    out.append(
                        TypedQuantity(
                            measure=measure.name,
                            kind=measure.kind,
                            text=span,
                            low=low,
                            high=high,
                            unit=self.units[unit_name].base,
                            comparator=comparator,
                            qualifiers=qualifiers,
                            ages=ages,
                        )
                    )
        return out

    def _unit_values(self, text: str, unit_name: str) -> list[tuple[str, float, float, Comparator]]:
        unit = self.units[unit_name]
        found = []
        for match in self._value_patterns[unit_name].finditer(text):
            a = _number(match.group("a")) * unit.scale
            b = _number(match.group("b")) * unit.scale if match.group("b") else a
            found.append((match.group(0).strip(), min(a, b), max(a, b), _comparator(match, self)))
        for word in unit.words:
            for match in re.finditer(word.pattern, text, re.IGNORECASE):
                value = word.value * unit.scale
                found.append((match.group(0), value, value, Comparator.EQUAL))
        return found


def _comparator(match: re.Match[str], book: MeasureBook) -> Comparator:
    if match.group("b"):
        return Comparator.RANGE
    cmp = book.spec.comparators
    before, after = match.group("before") or "", match.group("after") or ""
    if re.fullmatch(cmp.less, before, re.IGNORECASE) or re.fullmatch(
        cmp.less_after, after, re.IGNORECASE
    ):
        return Comparator.LESS
    if before or after:
        return Comparator.GREATER
    return Comparator.EQUAL


def _names(text: str, at: int) -> bool:
    """Whether a qualifier found at `at` names who the statement is for: not negated
    ('without a history of'), not inside a parenthesis of examples ('(ie, diabetes)')."""
    if _NEGATED.search(text, max(0, at - 80), at):
        return False
    return text.rfind("(", 0, at) <= text.rfind(")", 0, at)


def patient_age(question: str) -> float | None:
    """The patient's age a question gives ('a 55-year-old', 'aged 72'), if any."""
    match = _PATIENT_AGE.search(question)
    return float(next(g for g in match.groups() if g)) if match else None


def age_band(text: str) -> AgeBand | None:
    """The age band a statement is limited to ('aged 18 to 39 years', 'below 60 years of
    age', '65 years or older'), if it names one."""
    match = _AGE_BAND.search(text)
    if match is None:
        return None
    if match.group("a"):
        low = float(match.group("a"))
        if match.group("b"):
            return AgeBand(low, float(match.group("b")))
        return AgeBand(low, math.inf) if match.group("plus") else None
    if match.group("under"):
        return AgeBand(0.0, float(match.group("under")))
    return AgeBand(float(match.group("over") or match.group("gt")), math.inf)
