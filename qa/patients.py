"""Who a statement or a question is about: the age band a statement is limited to, the
patient's age a question gives, and whether a population word found in a statement names who
it is for (not negated, not an example in parentheses)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_AGE_BAND = re.compile(
    r"\b(?:aged?|ages)\s+(?P<a>\d{1,3})(?:\s*(?:years?\s*)?(?:to|-|–|through)\s*(?P<b>\d{1,3})"
    r"|(?P<plus>\s*(?:years?\s*)?(?:and|or)\s+(?:older|over|above)))?"
    r"|\b(?:below|under|younger than|less than)\s+(?:age\s+(?P<under_age>\d{1,3})|"
    r"(?P<under>\d{1,3})\s+years\s+(?:of\s+age|old))"
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


@dataclass(frozen=True)
class AgeBand:
    """The ages a statement is limited to, in years: [low, high]."""

    low: float
    high: float
    open_high: bool = False  # 'below 60 years of age': 60 itself is not in the band

    def overlaps(self, other: AgeBand) -> bool:
        """Whether two bands share an age ('below 60' and '60 and over' do not)."""
        below = self.high > other.low or (self.high == other.low and not self.open_high)
        above = other.high > self.low or (other.high == self.low and not other.open_high)
        return below and above

    def holds(self, age: float) -> bool:
        """Whether an age is in the band."""
        return self.low <= age and (age < self.high or (age == self.high and not self.open_high))


def names_who(text: str, at: int) -> bool:
    """Whether a qualifier found at `at` names who the statement is for: not negated
    ('without a history of'), not inside a parenthesis of examples ('(ie, diabetes)')."""
    if re.search(r"\bnon[- ]?$", text[max(0, at - 4) : at], re.IGNORECASE):
        return False  # 'non-pregnant', 'non-diabetic'
    window = text[max(0, at - 80) : at]
    clause = re.split(r"[,;:]", window)[-1]  # a negation in an earlier clause is not this one's
    if _NEGATED.search(clause):
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
    under = match.group("under") or match.group("under_age")
    if under:
        return AgeBand(0.0, float(under), open_high=True)
    return AgeBand(float(match.group("over") or match.group("gt")), math.inf)
