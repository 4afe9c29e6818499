"""Checking a generated sentence against the passages it cites, before it is shown: every
citation resolves, every number is in a cited passage, enough of its words are supported, and
it does not say the opposite of the span that supports it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guideqa.ingest.sections import KnowledgeFileError, load_yaml
from guideqa.qa.sentences import split_sentences

DATA_DIR = Path(__file__).parent / "data"
Tokens = Callable[[str], list[str]]


class DrugNames(Protocol):
    """The drugs and drug classes a text names (qa/drugs.py over the index's labels)."""

    def named(self, text: str) -> frozenset[str]:
        """What a sentence names: drugs, and classes by their own names."""
        ...

    def covered(self, text: str) -> frozenset[str]:
        """What a passage names: drugs, and classes by name or by a member."""
        ...


_NUMBER = r"(?<![\w.,])(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class UnitRule(_Model):
    """A unit a number may carry: how it is written, its family and its scale."""

    pattern: str
    family: str
    scale: float = Field(gt=0)


class StrengthRule(_Model):
    """Words of a firm recommendation, words that hedge one, and words that only allow."""

    firm: str
    hedge: str
    soft: str


class VerificationRules(_Model):
    """qa/data/verification.yaml, validated."""

    units: tuple[UnitRule, ...]
    negation: str
    scopeless_negation: str
    injection: str
    framing: frozenset[str]
    strength: StrengthRule
    number_words: dict[str, int]
    opposites: tuple[tuple[str, str], ...]
    opposite_idioms: str

    @classmethod
    def load(cls, directory: Path = DATA_DIR) -> VerificationRules:
        """Read and validate the rules; a bad file fails with its name."""
        path = directory / "verification.yaml"
        try:
            rules = cls.model_validate(load_yaml(path))
            strength = rules.strength
            patterns = (
                rules.negation,
                rules.scopeless_negation,
                rules.injection,
                rules.opposite_idioms,
                strength.firm,
                strength.hedge,
                strength.soft,
            )
            for pattern in (*patterns, *(u.pattern for u in rules.units)):
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
    scale: float = 1.0


class Verifier:
    """Checks generated sentences against numbered passages. `drugs` names the drugs and drug
    classes a text mentions (from the index's labels and the class lexicon)."""

    def __init__(
        self,
        rules: VerificationRules,
        tokens: Tokens,
        min_support: float,
        drugs: DrugNames | None = None,
    ) -> None:
        self.rules = rules
        self.tokens = tokens
        self.min_support = min_support
        self.drugs = drugs

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

    @cached_property
    def _words(self) -> re.Pattern[str]:
        word = "(?:" + "|".join(sorted(self.rules.number_words, key=len, reverse=True)) + ")"
        return re.compile(rf"\b{word}(?:(?:\s+and\s+|\s+|-){word})*\b", re.IGNORECASE)

    def numbers(self, text: str) -> list[NumberMention]:
        """Every number in a text, with its unit family when it has one (the first number
        of a range with the unit of the second: "65 to 100 years")."""
        return _with_range_units(text, self._mentions(text))

    def _mentions(self, text: str) -> list[tuple[int, int, NumberMention]]:
        found: list[tuple[int, int, NumberMention]] = []
        for match in self._numbers.finditer(text):
            value = float(match.group("number").replace(",", ""))
            unit = next((u for i, u in enumerate(self._units) if match.group(f"u{i}")), None)
            if unit is None:
                mention = NumberMention(match.group(0), value, None)
            else:
                mention = NumberMention(match.group(0), value * unit.scale, unit.family, unit.scale)
            found.append((match.start(), match.end(), mention))
        return found

    def passage_numbers(self, text: str) -> list[NumberMention]:
        """The numbers a passage offers as support: its digits and its number words."""
        return self.numbers(text) + self.spelled(text)

    def spelled(self, text: str) -> list[NumberMention]:
        """The numbers a text writes in words ("eight", "ninety-nine", "three hundred and
        seventeen"; "five and ten" is two numbers)."""
        return [
            NumberMention(m.group(0), float(value), None)
            for m in self._words.finditer(text)
            for value in _word_values(m.group(0), self.rules.number_words)
        ]

    def check(
        self,
        sentence: str,
        citations: tuple[int, ...],
        passages: Mapping[int, str],
        sources: Mapping[int, str] | None = None,
    ) -> Check:
        """Whether a sentence may be shown, and if not, why not. `sources` names each
        passage's document (a label's title names its drug when the passage does not)."""
        if not citations:
            return Check(False, "cites no passage")
        unknown = [n for n in citations if n not in passages]
        if unknown:
            return Check(False, f"cites [{unknown[0]}], a passage it was not given")
        cited = [passages[n] for n in citations]
        missing = self._unsupported_number(sentence, cited)
        if missing:
            return Check(False, f"the number '{missing}' is in none of the passages it cites")
        named = [*cited, *((sources or {}).get(n, "") for n in citations)]
        unnamed = self._unnamed_drug(sentence, named)
        if unnamed:
            return Check(False, f"it names {unnamed}, which none of the passages it cites names")
        words = self._content(sentence)
        covered = words & self._stems(" ".join(cited))
        share = len(covered) / len(words) if words else 0.0
        if share < self.min_support:
            return Check(False, f"only {share:.0%} of its words are in the passages it cites")
        spans = self._cover(words, citations, passages)
        support = spans[0]
        return self._meaning(sentence, support, [passages[s.n][s.start : s.end] for s in spans])

    def _meaning(self, sentence: str, support: Support, spans: list[str]) -> Check:
        """The rules on what the sentence says against the spans that support it."""
        best = spans[0]
        if re.search(self.rules.injection, best, re.IGNORECASE):
            return Check(False, "its support is an instruction written inside a document", support)
        negated = bool(self._negation.search(sentence))
        if negated and not self._negation_supported(sentence, spans):
            return Check(False, "its negation differs from the passage that supports it", support)
        if not negated and self._negation.search(best):
            return Check(False, "its negation differs from the passage that supports it", support)
        opposite = self._opposite(sentence, " ".join(spans))
        if opposite:
            return Check(False, f"it says {opposite}", support)
        if self._firmer(sentence, best):
            why = "it states firmly what its passage only suggests or allows"
            return Check(False, why, support)
        return Check(True, "supported by its passage", support)

    def _negation_supported(self, sentence: str, spans: list[str]) -> bool:
        """A negated sentence needs a supporting span that negates what it negates: a span
        with a negation and one of the words that follow the sentence's negation."""
        scope: set[str] = set()
        for match in self._negation.finditer(sentence):
            scope |= self._content(sentence[match.end() : match.end() + 50])
        if any(re.search(self.rules.scopeless_negation, span, re.I) for span in spans):
            return True
        negated = [span for span in spans if self._negation.search(span)]
        return any(not scope or scope & self._stems(span) for span in negated)

    def _firmer(self, sentence: str, span: str) -> bool:
        """A firm sentence (its own "may" aside) resting on a span that hedges or only allows."""
        rule = self.rules.strength
        firm = re.search(rule.firm, sentence, re.I) and not re.search(rule.hedge, sentence, re.I)
        hedged = re.search(rule.hedge, span, re.I) or (
            re.search(rule.soft, span, re.I) and not re.search(rule.firm, span, re.I)
        )
        return bool(firm and hedged)

    def _opposite(self, sentence: str, span: str) -> str | None:
        """A word of the sentence whose opposite, and not itself, is in its supporting spans."""
        idioms = self.rules.opposite_idioms
        said = set(_words(re.sub(idioms, " ", sentence, flags=re.I)))
        supported = set(_words(re.sub(idioms, " ", span, flags=re.I)))
        for a, b in self.rules.opposites:
            for word, other in ((a, b), (b, a)):
                if word in said and other in supported and word not in supported:
                    return f"'{word}' where its passage says '{other}'"
        return None

    def _unnamed_drug(self, sentence: str, cited: list[str]) -> str | None:
        if self.drugs is None:
            return None
        named = self.drugs.covered(" ".join(cited))
        return next((d for d in sorted(self.drugs.named(sentence)) if d not in named), None)

    def _unsupported_number(self, sentence: str, cited: list[str]) -> str | None:
        available = [m for text in cited for m in self.passage_numbers(text)]
        # "one" is left out of a sentence's number words: "one of the options" is no count
        spelled = [m for m in self.spelled(sentence) if m.value >= 2]
        for mention in self.numbers(sentence) + spelled:
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

    def _cover(
        self, words: set[str], citations: tuple[int, ...], passages: Mapping[int, str]
    ) -> list[Support]:
        """The spans (sentences of the cited passages) that support a sentence: the one that
        shares most of its words first, then each that adds at least two more of its words (a
        sentence may join two sentences of a passage)."""
        scored: list[tuple[int, int, Support, set[str]]] = []
        for n in citations:
            for span in split_sentences(passages[n]):
                shared = words & self._stems(passages[n][span.start : span.end])
                scored.append((len(shared), -len(scored), Support(n, span.start, span.end), shared))
        if not scored:
            n = citations[0]
            return [Support(n, 0, len(passages[n]))]
        scored.sort(key=lambda row: (row[0], row[1]), reverse=True)
        chosen, covered = [scored[0][2]], set(scored[0][3])
        for _, _, support, shared in scored[1:]:
            if len(shared - covered) >= 2:
                chosen.append(support)
                covered |= shared
        return chosen


def _numeric(token: str) -> bool:
    return token.replace(".", "").replace(",", "").isdigit()


def _same(a: NumberMention, b: NumberMention) -> bool:
    """The same number: equal values, and the same unit family when the sentence gives one."""
    if abs(a.value - b.value) > 1e-9 * max(1.0, abs(a.value)):
        return False
    return a.family is None or a.family == b.family


def _with_range_units(
    text: str, found: list[tuple[int, int, NumberMention]]
) -> list[NumberMention]:
    """Mentions in order; a bare number followed by 'to' or a dash and a number with a unit
    takes that unit."""
    out = [m for _, _, m in found]
    for i in range(len(found) - 1):
        (_, end, first), (start, _, second) = found[i], found[i + 1]
        ascending = first.value * second.scale < second.value  # '2008 to 23.7%' is no range
        if (
            first.family is None
            and second.family
            and ascending
            and _RANGE.fullmatch(text[end:start])
        ):
            out[i] = NumberMention(
                first.text, first.value * second.scale, second.family, second.scale
            )
    return out


_RANGE = re.compile(r"\s*(?:to|-|–|—|and)\s*")


def _word_values(phrase: str, words: Mapping[str, int]) -> list[int]:
    """The numbers a run of number words writes: 'three hundred and seventeen' -> [317],
    'twenty-five' -> [25], 'five and ten' -> [5, 10]."""
    values: list[int] = []
    total = current = 0
    previous: int | None = None  # the value of the word before, None at a number's start
    for word in re.findall(r"[a-z]+", phrase.lower()):
        if word == "and":
            if previous not in (100, 1000):  # 'and' joins only after hundred or thousand
                values.append(total + current)
                total = current = 0
                previous = None
            continue
        value = words[word]
        continues = previous is not None and (
            value in (100, 1000) or previous in (100, 1000) or (previous % 10 == 0 and value < 10)
        )
        if previous is not None and not continues:
            values.append(total + current)
            total = current = 0
        if value == 100:
            current = max(current, 1) * 100
        elif value == 1000:
            total, current = total + max(current, 1) * 1000, 0
        else:
            current += value
        previous = value
    values.append(total + current)
    return values


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())
