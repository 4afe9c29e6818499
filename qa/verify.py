"""Checking a generated sentence against the passages it cites, before it is shown: every
citation resolves, every number is in a cited passage, enough of its words are supported, and
it does not say the opposite of the span that supports it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guideqa.ingest.sections import KnowledgeFileError, load_yaml
from guideqa.qa.sentences import split_sentences

DATA_DIR = Path(__file__).parent / "data"
Tokens = Callable[[str], list[str]]
_NUMBER = r"(?<![\w.,])(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UnitRule(_Model):
    """A unit a number may carry: how it is written, its family and its scale."""

    pattern: str
    family: str
    scale: float = Field(gt=0)


class VerificationRules(_Model):
    """qa/data/verification.yaml, validated."""

    units: tuple[UnitRule, ...]
    negation: str
    injection: str
    framing: frozenset[str]

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> VerificationRules:
        """Read and validate the rules; a bad file fails with its name."""
        path = directory / "verification.yaml"
        try:
            rules = cls.model_validate(load_yaml(path))
            for pattern in (rules.negation, rules.injection, *(u.pattern for u in rules.units)):
                re.compile(pattern)
            return rules
        except (ValidationError, re.error) as exc:
            raise KnowledgeFileError(f"{path} is invalid: {exc}") from exc


@dataclass(frozen=True)
class Support:
    """The span of a cited passage that supports a sentence: passage n, [start, end)."""

    n: int
    start: int
    end: int


@dataclass(frozen=True)
class Check:
    """The verdict on one sentence."""

    verified: bool
    reason: str
    support: Support | None = None


@dataclass(frozen=True)
class NumberMention:
    """A number as written, its value scaled to its unit family, and the family."""

    text: str
    value: float
    family: str | None


class Verifier:
    """Checks generated sentences against numbered passages."""

    def __init__(self, rules: VerificationRules, tokens: Tokens, min_support: float) -> None:
        self.rules = rules
        self.tokens = tokens
        self.min_support = min_support

    @cached_property
    def _units(self) -> list[UnitRule]:
        """The units, longest spelling first (so 'mg/dL' wins over 'mg')."""
        return sorted(self.rules.units, key=lambda u: -len(u.pattern))

    @cached_property
    def _numbers(self) -> re.Pattern[str]:
        written = "|".join(f"(?P<u{i}>{u.pattern})" for i, u in enumerate(self._units))
        return re.compile(rf"{_NUMBER}(?:\s?(?:{written})(?![A-Za-z]))?", re.IGNORECASE)

    @cached_property
    def _negation(self) -> re.Pattern[str]:
        return re.compile(self.rules.negation, re.IGNORECASE)

    def numbers(self, text: str) -> list[NumberMention]:
        """Every number in a text, with its unit family when it has one."""
        found = []
        for match in self._numbers.finditer(text):
            value = float(match.group("number").replace(",", ""))
            unit = next((u for i, u in enumerate(self._units) if match.group(f"u{i}")), None)
            if unit is None:
                found.append(NumberMention(match.group(0), value, None))
            else:
                found.append(NumberMention(match.group(0), value * unit.scale, unit.family))
        return found

    def check(
        self, sentence: str, citations: tuple[int, ...], passages: Mapping[int, str]
    ) -> Check:
        """Whether a sentence may be shown, and if not, why not."""
        if not citations:
            return Check(False, "cites no passage")
        unknown = [n for n in citations if n not in passages]
        if unknown:
            return Check(False, f"cites [{unknown[0]}], a passage it was not given")
        cited = [passages[n] for n in citations]
        missing = self._unsupported_number(sentence, cited)
        if missing:
            return Check(False, f"the number '{missing}' is in none of the passages it cites")
        words = self._content(sentence)
        covered = words & self._stems(" ".join(cited))
        share = len(covered) / len(words) if words else 0.0
        if share < self.min_support:
            return Check(False, f"only {share:.0%} of its words are in the passages it cites")
        support = self._best_span(words, citations, passages)
        span = passages[support.n][support.start : support.end]
        if re.search(self.rules.injection, span, re.IGNORECASE):
            return Check(False, "its support is an instruction written inside a document", support)
        if bool(self._negation.search(sentence)) != bool(self._negation.search(span)):
            return Check(False, "its negation differs from the passage that supports it", support)
        return Check(True, "supported by its passage", support)

    def _unsupported_number(self, sentence: str, cited: list[str]) -> str | None:
        available = [m for text in cited for m in self.numbers(text)]
        for mention in self.numbers(sentence):
            if not any(_same(mention, other) for other in available):
                return mention.text
        return None

    def _stems(self, text: str) -> set[str]:
        return set(self.tokens(text))

    @cached_property
    def _framing(self) -> set[str]:
        return self._stems(" ".join(self.rules.framing))

    def _content(self, sentence: str) -> set[str]:
        # numbers are checked on their own; here only words count
        return {t for t in self._stems(sentence) if t not in self._framing and not _numeric(t)}

    def _best_span(
        self, words: set[str], citations: tuple[int, ...], passages: Mapping[int, str]
    ) -> Support:
        best, best_overlap = Support(citations[0], 0, len(passages[citations[0]])), -1
        for n in citations:
            for span in split_sentences(passages[n]):
                overlap = len(words & self._stems(passages[n][span.start : span.end]))
                if overlap > best_overlap:
                    best, best_overlap = Support(n, span.start, span.end), overlap
        return best


def _numeric(token: str) -> bool:
    return token.replace(".", "").replace(",", "").isdigit()


def _same(a: NumberMention, b: NumberMention) -> bool:
    """The same number: equal values, and the same unit family when the sentence gives one."""
    if abs(a.value - b.value) > 1e-9 * max(1.0, abs(a.value)):
        return False
    return a.family is None or a.family == b.family
