"""Numbers the question gives ('22 weeks pregnant', 'CrCl of 20 mL/min', 'a 25 kg child') and
whether a statement's range covers them ('between about 20 and 30 weeks', '>15 to 29 mL/min',
'15 kg to <30 kg'): the row or band that applies to the patient asked about."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_UNITS = {
    "weeks": r"weeks?|wks?",
    "years": r"years?|yrs?|year-olds?|yo",
    "months": r"months?|mos?",
    "kg": r"kg|kilograms?",
    "ml/min": r"mL/min(?:/1\.73 ?m2|/1\.73 ?m²)?",
    "hours": r"hours?|hrs?",
    "days": r"days?",
}
_UNIT = "|".join(f"(?P<{name.replace('/', '_')}>{pattern})" for name, pattern in _UNITS.items())
_ANY_UNIT = "|".join(_UNITS.values())
_NUMBER = r"\d+(?:\.\d+)?"
_QUESTION_QUANTITY = re.compile(
    rf"(?<![\d.])(?P<value>{_NUMBER})\s*-?\s*(?:{_UNIT})(?![a-z])", re.IGNORECASE
)
_LOWER = r"(?:≥|>=|>|greater than|more than|over|at least|above)"
_UPPER = r"(?:≤|<=|<|less than|under|below|up to)"
_RANGE = re.compile(
    rf"(?P<low_cmp>{_LOWER}|{_UPPER})?\s*(?P<a>{_NUMBER})\s*(?:(?:{_ANY_UNIT})\s*)?"
    rf"(?:\([^)]{{0,15}}\)\s*)?"
    rf"(?:(?:to|-|–|and|through)\s*(?P<high_cmp>{_UPPER})?\s*(?P<b>{_NUMBER}))?"
    rf"(?P<open>\s*(?:years? (?:of age )?)?"
    rf"(?:and (?:older|over|above)|or (?:older|more|greater)))?",
    re.IGNORECASE,
)
_NEAR = 40  # characters between a range and the unit that names what it measures


@dataclass(frozen=True)
class Quantity:
    """A number the question gives, with its unit family."""

    value: float
    unit: str


@dataclass(frozen=True)
class Band:
    """A range a statement gives for a unit family: [low, high]."""

    low: float
    high: float
    unit: str

    def covers(self, quantity: Quantity) -> bool:
        """Whether the question's number falls in this band."""
        return self.unit == quantity.unit and self.low <= quantity.value <= self.high


def _unit_family(match: re.Match[str]) -> str:
    for name in _UNITS:
        if match.group(name.replace("/", "_")):
            return name
    return ""


def question_quantities(question: str) -> tuple[Quantity, ...]:
    """The numbers with units in a question."""
    return tuple(
        Quantity(float(m.group("value")), _unit_family(m))
        for m in _QUESTION_QUANTITY.finditer(question)
    )


def _units_near(text: str, start: int, end: int) -> set[str]:
    window = text[max(0, start - _NEAR) : end + _NEAR]
    found = set()
    for match in re.finditer(_UNIT, window, re.IGNORECASE):
        found.add(_unit_family(match))
    return found


def bands(text: str, units: set[str]) -> list[Band]:
    """Ranges in a text whose unit (named within a few words) is one of `units`."""
    out: list[Band] = []
    for match in _RANGE.finditer(text):
        near = _units_near(text, match.start(), match.end()) & units
        if not near:
            continue
        low, high = float(match.group("a")), float(match.group("b") or match.group("a"))
        cmp = (match.group("low_cmp") or "").lower()
        if match.group("b") is None and cmp:
            low, high = (low, math.inf) if re.match(_LOWER, cmp) else (0.0, low)
        elif match.group("open"):
            high = math.inf
        out += [Band(low, high, unit) for unit in near]
    return out


def number_fit(quantities: tuple[Quantity, ...], text: str) -> float:
    """1 when the text's ranges cover the question's numbers, -1 when a range of the same unit
    excludes one of them (another band of the table), 0 when it says nothing about them."""
    if not quantities:
        return 0.0
    found = bands(text, {q.unit for q in quantities})
    if not found:
        return 0.0
    covered = 0
    for quantity in quantities:
        same_unit = [band for band in found if band.unit == quantity.unit]
        if same_unit and not any(band.covers(quantity) for band in same_unit):
            return -1.0  # a band for another patient (another row of the table)
        covered += 1 if same_unit else 0
    return 1.0 if covered else 0.0
