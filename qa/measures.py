"""Typed quantities in statements: a number (or range) with a normalised unit, a comparator and
the population it is stated for, for each clinical measure of qa/data/measures.yaml."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError

from guideqa.ingest.models import SourceKind
from guideqa.ingest.sections import KnowledgeFileError, load_yaml
from guideqa.qa.measure_spec import MeasureFile, MeasureSpec
from guideqa.qa.models import Comparator, MeasureKind
from guideqa.qa.patients import AgeBand, age_band, names_who

__all__ = ["MeasureBook", "MeasureSpec", "TypedQuantity"]

DATA_DIR = Path(__file__).parent / "data"
_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
# at most 7 digits (a longer run is no dose, and would overflow to inf); a comma-grouped number
# starts after no digit or comma, so '1,5 mg' is not read as 5 mg
_NUMBER = r"(?:\d{1,3}(?:,\d{3}){1,2}|\d{1,7})(?:\.\d{1,4})?|" + "|".join(_WORDS)
_TO = r"\s*(?:to|-|–|—|and)\s*"

DIRECTION_UNIT = "direction (1 for, 0 against)"
_NEAR_CHARS = 40  # 'near' and 'not_after' look this far back from a value


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
        slack = _slack(self.high, other.high)
        return self.low <= other.high + slack and other.low <= self.high + slack

    def agrees(
        self,
        other: TypedQuantity,
        compare: str = "range",
        tolerance: float = 0.01,
        reach: bool = True,
    ) -> bool:
        """Whether two values agree: their ranges overlap (with `reach`, a '<' or '>' value
        reaches as far as it says: '10% per month or slower' covers 5%; without it, as for a
        threshold, the stated numbers must meet), or, for a definition ('acute pain lasts 0-6
        weeks'), the bound that matters is the same within `tolerance`."""
        if compare == "upper":
            return abs(self.high - other.high) <= tolerance * max(self.high, other.high, 1e-9)
        if compare == "lower":
            return abs(self.low - other.low) <= tolerance * max(self.low, other.low, 1e-9)
        a = self._reach() if reach else (self.low, self.high)
        b = other._reach() if reach else (other.low, other.high)
        slack = tolerance * max(abs(self.high), abs(other.high), 1e-9)
        return a[0] <= b[1] + slack and b[0] <= a[1] + slack

    def _reach(self) -> tuple[float, float]:
        if self.comparator is Comparator.LESS:
            return (-math.inf, self.high)
        if self.comparator is Comparator.GREATER:
            return (self.low, math.inf)
        return (self.low, self.high)

    @property
    def normalised(self) -> str:
        """The value in the base unit: '< 140 mmHg', '8-9 %', '43.5 % per month'; 'for' or
        'against' for a recommendation's direction."""
        if self.unit == DIRECTION_UNIT:
            return "for" if self.low else "against"
        low, high = _short(self.low), _short(self.high)
        number = low if low == high else f"{low}-{high}"
        prefix = {Comparator.LESS: "< ", Comparator.GREATER: "> "}.get(self.comparator, "")
        return f"{prefix}{number} {self.unit}"


def _slack(a: float, b: float) -> float:
    return 0.01 * max(abs(a), abs(b), 1e-9)


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
            if (measure.kind is MeasureKind.DIRECTION) != (not bases):
                raise KnowledgeFileError(
                    f"measures.yaml: {measure.name!r}: a direction has no units; any other "
                    "measure needs at least one"
                )
            if len(bases) > 1:
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
                rf"(?<![\w.,]){prefix}(?:(?P<before>{cmp.less}|{cmp.greater})\s*)?"
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
            if any(names_who(text, m.start()) for m in p.finditer(text))
        )

    def asked_about(self, measure: MeasureSpec, question: str) -> bool | None:
        """Whether a question asks about a measure by its `asks` cues (None: it has none)."""
        if not measure.asks:
            return None
        return any(re.search(p, question, re.IGNORECASE) for p in measure.asks)

    def with_implied(self, qualifiers: frozenset[str]) -> frozenset[str]:
        """Qualifiers with those they imply (pregnancy: women)."""
        implied = {q for k in qualifiers for q in self.spec.implies.get(k, ())}
        return qualifiers | implied

    def measures_for(self, text: str, kind: SourceKind, where: str = "") -> list[MeasureSpec]:
        """The measures whose context words (and none of whose exclusions) a statement has, and
        whose indication it or `where` (its document title and headings) names."""
        found = []
        for measure in self.spec.measures:
            if kind not in measure.kinds:
                continue
            context, exclude = self._contexts[measure.name]
            if not all(p.search(text) for p in context) or any(p.search(text) for p in exclude):
                continue
            place = f"{text} {where}"
            if all(re.search(p, place, re.IGNORECASE) for p in measure.indication):
                found.append(measure)
        return found

    def values(
        self,
        text: str,
        kind: SourceKind,
        population: frozenset[str] = frozenset(),
        lead: str | None = None,
        where: str = "",
    ) -> list[TypedQuantity]:
        """Every typed value a statement gives for each measure it is about. `population`
        adds qualifiers known from elsewhere (its document title, headings, label section); the
        statement's own qualifiers are read from its `lead` (a list's introduction), not from
        its items, which list risk factors and conditions rather than who it is for. `where` is
        its document title and headings, where a decision's indication may be named."""
        out: list[TypedQuantity] = []
        qualifiers = self.qualifiers_in(lead or text) | population
        ages = age_band(text)
        for measure in self.measures_for(text, kind, where):
            if measure.kind is MeasureKind.DIRECTION:
                out += self._direction(measure, text, qualifiers, ages)
            for unit_name in measure.units:
                for span, start, low, high, comparator in self._unit_values(text, unit_name):
                    if measure.bound is not None and comparator is not measure.bound:
                        continue
                    if not _placed(measure, text, start):
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

    @cached_property
    def _directions(self) -> tuple[re.Pattern[str], re.Pattern[str], re.Pattern[str]]:
        cues = self.spec.directions
        return tuple(  # type: ignore[return-value]
            re.compile(p, re.IGNORECASE) for p in (cues.neither, cues.against, cues.for_)
        )

    def _direction(
        self,
        measure: MeasureSpec,
        text: str,
        qualifiers: frozenset[str],
        ages: AgeBand | None,
    ) -> list[TypedQuantity]:
        """A recommendation for (1) or against (0) what the measure names, read in the clause
        that names it; 'recommends against' is read before 'recommends', and 'insufficient
        evidence to recommend for or against' is neither."""
        neither, against, for_ = self._directions
        clause = _clause(text, self._contexts[measure.name][0][0])
        if neither.search(clause):
            return []
        match, value = against.search(clause), 0.0
        if match is None:
            match, value = for_.search(clause), 1.0
        if match is None:
            return []
        return [
            TypedQuantity(
                measure.name,
                measure.kind,
                match.group(0),
                value,
                value,
                DIRECTION_UNIT,
                Comparator.EQUAL,
                qualifiers,
                ages,
            )
        ]

    def _unit_values(
        self, text: str, unit_name: str
    ) -> list[tuple[str, int, float, float, Comparator]]:
        """(verbatim, start, low, high, comparator) of each value with this unit."""
        unit = self.units[unit_name]
        found = []
        for match in self._value_patterns[unit_name].finditer(text):
            a = _number(match.group("a")) * unit.scale
            b = _number(match.group("b")) * unit.scale if match.group("b") else a
            comparator = _comparator(match, self)
            found.append((match.group(0).strip(), match.start(), min(a, b), max(a, b), comparator))
        for word in unit.words:
            for match in re.finditer(word.pattern, text, re.IGNORECASE):
                value = word.value * unit.scale
                found.append((match.group(0), match.start(), value, value, Comparator.EQUAL))
        return found


def _clause(text: str, subject: re.Pattern[str]) -> str:
    """The clause (between semicolons) that names the subject; the whole text otherwise."""
    for clause in text.split(";"):
        if subject.search(clause):
            return clause
    return text


def _placed(measure: MeasureSpec, text: str, start: int) -> bool:
    """Whether a value at `start` is where the measure's value is written: within a few words
    after its `near` words, and not right after its `not_after` words ('diastolic ... <90')."""
    before = text[max(0, start - _NEAR_CHARS) : start]
    if measure.not_after and re.search(measure.not_after, before, re.IGNORECASE):
        return False
    return not measure.near or bool(re.search(measure.near, before, re.IGNORECASE))


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
