"""Section roles and populations: assigned once at ingest from codes, numbers and headings.

The knowledge lives in `ingest/data/section_roles.yaml`, validated on load. Cues match whole
words only, so "childbearing" is not "child" and "pharmacist" is not "harm"."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from guideqa.ingest.errors import GuideQAError
from guideqa.ingest.models import Document, Population, Section, SectionRole, SourceKind

DATA_FILE = Path(__file__).parent / "data" / "section_roles.yaml"
_GRADE = re.compile(r"\(Grade ([A-DI])\)\s*$")


class KnowledgeFileError(GuideQAError):
    """A clinical knowledge data file is missing or malformed."""


class RoleRule(BaseModel):
    """What a code, number or heading says about a section."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: SectionRole | None = None
    population: Population | None = None


def cue_pattern(phrases: Iterable[str]) -> re.Pattern[str]:
    """One case-insensitive regex matching any of the phrases as whole words."""
    ordered = sorted({p.strip().lower() for p in phrases if p.strip()}, key=len, reverse=True)
    body = "|".join(re.escape(p) for p in ordered) or r"(?!x)x"
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])", re.IGNORECASE)


def load_yaml(path: Path) -> object:
    """Read a YAML data file, naming it when it cannot be read."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise KnowledgeFileError(f"cannot read the knowledge file {path}: {exc}") from exc


class SectionKnowledge(BaseModel):
    """Codes, numbers and cue words that give sections their role and population."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    loinc: dict[str, RoleRule]
    unclassified_codes: tuple[str, ...] = ()
    exact_headings: dict[str, RoleRule] = {}
    label_numbers: dict[str, RoleRule]
    role_cues: dict[SectionRole, tuple[str, ...]]
    population_cues: dict[Population, tuple[str, ...]]

    @classmethod
    def load(cls, path: Path = DATA_FILE) -> SectionKnowledge:
        """Read and validate the data file."""
        try:
            return cls.model_validate(load_yaml(path))
        except ValidationError as exc:
            raise KnowledgeFileError(f"{path} is not valid section knowledge: {exc}") from exc

    @cached_property
    def _role_patterns(self) -> tuple[tuple[SectionRole, re.Pattern[str]], ...]:
        return tuple((role, cue_pattern(cues)) for role, cues in self.role_cues.items())

    @cached_property
    def _population_patterns(self) -> tuple[tuple[Population, re.Pattern[str]], ...]:
        return tuple((pop, cue_pattern(cues)) for pop, cues in self.population_cues.items())

    def roles_named(self, text: str) -> tuple[SectionRole, ...]:
        """Every role whose cue words appear in the text, in data-file order. A cue inside a
        longer cue of another role does not count ('warning' in 'boxed warning')."""
        matches = [
            (m.start(), m.end(), order, role)
            for order, (role, pattern) in enumerate(self._role_patterns)
            for m in pattern.finditer(text)
        ]
        kept: list[tuple[int, int, int, SectionRole]] = []
        for match in sorted(matches, key=lambda m: m[0] - m[1]):  # longest first
            if not any(match[0] < other[1] and other[0] < match[1] for other in kept):
                kept.append(match)
        return tuple(dict.fromkeys(role for *_, role in sorted(kept, key=lambda m: m[2])))

    def populations_named(self, text: str) -> tuple[Population, ...]:
        """Every population whose cue words appear in the text, first mentioned first."""
        found = [(m.start(), pop) for pop, p in self._population_patterns if (m := p.search(text))]
        return tuple(pop for _, pop in sorted(found, key=lambda item: item[0]))

    def population_cue(self, population: Population) -> re.Pattern[str]:
        """The compiled cue pattern of one population."""
        return dict(self._population_patterns)[population]

    def classify(self, section: Section, kind: SourceKind, parent: RoleRule) -> RoleRule:
        """The role and population of one section (parent: the enclosing section's rule)."""
        heading = section.heading.strip()
        exact = self.exact_headings.get(heading)
        if exact is not None:
            return exact
        coded = self._by_code(section.code)
        named_roles = self.roles_named(heading)
        named_populations = self.populations_named(heading)
        numbered = self._by_number(section.number) if kind is SourceKind.LABEL else RoleRule()
        role = (
            coded.role or (named_roles[0] if named_roles else None) or numbered.role or parent.role
        )
        if kind is SourceKind.GUIDELINE and role is None and section.grade:
            role = SectionRole.RECOMMENDATION
        population = (
            coded.population
            or (named_populations[0] if named_populations else None)
            or numbered.population
            or parent.population
        )
        return RoleRule(role=role, population=population)

    def _by_code(self, code: str | None) -> RoleRule:
        if not code or code in self.unclassified_codes:
            return RoleRule()
        return self.loinc.get(code, RoleRule())

    def _by_number(self, number: str | None) -> RoleRule:
        while number:
            if number in self.label_numbers:
                return self.label_numbers[number]
            number = number.rpartition(".")[0]
        return RoleRule()


def heading_grade(heading: str) -> str | None:
    """The recommendation grade a heading ends with, e.g. '... (Grade B)' -> 'B'."""
    found = _GRADE.search(heading)
    return found.group(1) if found else None


def assign_roles(document: Document, knowledge: SectionKnowledge) -> Document:
    """The document with every section's role, population and grade filled in."""
    rules: dict[tuple[str, ...], RoleRule] = {}
    sections = []
    for section in document.sections:
        grade = section.grade or heading_grade(section.heading)
        graded = section.model_copy(update={"grade": grade})
        parent = _parent_rule(section.path, rules)
        rule = knowledge.classify(graded, document.kind, parent)
        rules[section.path] = rule
        sections.append(
            graded.model_copy(
                update={
                    "role": section.role or rule.role or SectionRole.OTHER,
                    "population": section.population or rule.population,
                }
            )
        )
    grades = document.grades or tuple(sorted({s.grade for s in sections if s.grade}))
    return document.model_copy(update={"sections": tuple(sections), "grades": grades})


def _parent_rule(path: tuple[str, ...], rules: Mapping[tuple[str, ...], RoleRule]) -> RoleRule:
    for depth in range(len(path) - 1, 0, -1):
        if path[:depth] in rules:
            return rules[path[:depth]]
    return RoleRule()
