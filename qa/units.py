"""Statement units: the verbatim pieces of a passage that can be quoted on their own.

A unit is a sentence; a sentence that introduces a list together with its items; or a table row
with its column headers. A strength-of-recommendation tag that follows a unit stays attached.
Flattened table fragments, trial-conduct boilerplate and headings are not units."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from guideqa.index.models import Hit
from guideqa.ingest.models import SectionRole
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.sentences import SentenceSpan, split_sentences

_LIST_INTRO = re.compile(
    r"(?::|\b(?:include|includes|including|the following|as follows))\s*$", re.IGNORECASE
)
_BULLET = re.compile(r"^[ \t]*(?:[-•*▪◦]|\d{1,2}[.)]|[a-z][.)])[ \t]+")
_SAMPLE_SIZE = re.compile(r"\bN\s*=\s*\d")
# "( 2.9 , 2.10 , 4.1 )": the cross-references of a label's highlights, not a statement
# (written with spaces inside the parentheses, as label highlights are)
_CROSS_REFERENCES = re.compile(r"\(\s+\d+(?:\.\d+)?(?:\s*,\s*\d+(?:\.\d+)?)*\s+\)")
# Research statements report what a study found: its methods are not statements.
_NOT_FINDINGS = frozenset({SectionRole.METHODS})
_MAX_ITEMS = 20


class UnitKind(StrEnum):
    """How a unit was cut from its passage."""

    SENTENCE = "sentence"
    LIST = "list"
    TABLE_ROW = "table_row"


@dataclass(frozen=True)
class Unit:
    """A verbatim [start, end) slice of a hit's text that can be quoted and cited on its own."""

    hit: Hit
    start: int
    end: int
    kind: UnitKind
    items: tuple[tuple[int, int], ...] = ()

    @property
    def text(self) -> str:
        """The verbatim quote."""
        return self.hit.text[self.start : self.end]

    @property
    def lead(self) -> str:
        """The unit without its list items (the introducing sentence, or the whole unit)."""
        if not self.items:
            return self.text
        return self.hit.text[self.start : self.items[0][0]].rstrip(" \t\n-•*▪")

    def item_texts(self) -> tuple[str, ...]:
        """The list items, verbatim."""
        return tuple(self.hit.text[a:b] for a, b in self.items)

    def inline(self) -> str:
        """The unit on one line: a list's items joined by '; ', and a trailing tag kept."""
        if not self.items:
            return " ".join(self.text.split())
        tail = self.hit.text[self.items[-1][1] : self.end].strip()
        joined = f"{self.lead} {'; '.join(self.item_texts())}"
        return " ".join(f"{joined} {tail}".split())


@dataclass(frozen=True)
class Refusal:
    """A piece of a passage that is not a unit, and why."""

    hit: Hit
    text: str
    reason: str


def build_units(
    hit: Hit, knowledge: ClinicalKnowledge, min_words: int = 5, max_words: int = 90
) -> tuple[list[Unit], list[Refusal]]:
    """The units of one passage, and what was refused with the reason."""
    units: list[Unit] = [Unit(hit, a, b, UnitKind.TABLE_ROW) for a, b in hit.table_rows]
    refused: list[Refusal] = []
    spans = [s for s in split_sentences(hit.text) if not _inside_rows(s, hit.table_rows)]
    i = 0
    while i < len(spans):
        span = spans[i]
        items, i = _list_items(hit.text, spans, i)
        end = items[-1][1] if items else span.end
        end = _with_strength_tag(hit.text, end, knowledge)
        unit = Unit(hit, span.start, end, UnitKind.LIST if items else UnitKind.SENTENCE, items)
        reason = _refusal(unit, knowledge, min_words, max_words)
        if reason:
            refused.append(Refusal(hit, unit.text, reason))
        else:
            units.append(unit)
    units.sort(key=lambda u: u.start)
    return units, refused


def _inside_rows(span: SentenceSpan, rows: tuple[tuple[int, int], ...]) -> bool:
    return any(a <= span.start < b for a, b in rows)


def _is_item(text: str, span: SentenceSpan) -> bool:
    """A span that begins a bullet line, or follows an inline bullet ('... • item')."""
    line_start = text.rfind("\n", 0, span.start) + 1
    if _BULLET.match(text[line_start : span.start + 1]):
        return True
    before = text[line_start : span.start].rstrip(" \t")
    return before.endswith(("•", "▪")) or before.endswith((" -", "\t-"))


def _list_items(
    text: str, spans: list[SentenceSpan], index: int
) -> tuple[tuple[tuple[int, int], ...], int]:
    """Items that follow a list-introducing sentence (bullet lines after ':' or 'include')."""
    intro = spans[index]
    if not _LIST_INTRO.search(text[intro.start : intro.end]):
        return (), index + 1
    items: list[tuple[int, int]] = []
    j = index + 1
    while j < len(spans) and len(items) < _MAX_ITEMS and _is_item(text, spans[j]):
        items.append((spans[j].start, spans[j].end))
        j += 1
    return tuple(items), j if items else index + 1


def _with_strength_tag(text: str, end: int, knowledge: ClinicalKnowledge) -> int:
    """The end of the unit, moved past a strength tag like '(Strong For)' or '[B]'."""
    tag = knowledge.strength_pattern.match(text, end)
    return tag.end() if tag else end


def looks_like_table_fragment(sentence: str) -> bool:
    """A flattened table row (numbers, arm sizes, cells) rather than a statement."""
    if "|" in sentence or len(_SAMPLE_SIZE.findall(sentence)) >= 2:
        return True
    tokens = sentence.split()
    numeric = sum(1 for t in tokens if not any(c.isalpha() for c in t))
    return numeric >= 0.4 * len(tokens)


def _refusal(unit: Unit, knowledge: ClinicalKnowledge, min_words: int, max_words: int) -> str:
    lead = unit.lead
    words = len(lead.split())
    if unit.hit.provenance.section_role in _NOT_FINDINGS:
        return "describes the study's methods, not its findings"
    if len(_CROSS_REFERENCES.findall(lead)) >= 2:
        return "a summary line of label cross-references, not a statement"
    if words < min_words and not unit.items:
        return "too short to stand alone"
    if words > max_words:
        return "too long to quote as one statement"
    if looks_like_table_fragment(_CROSS_REFERENCES.sub("", lead)):
        return "a flattened table fragment, not a statement"
    if knowledge.boilerplate_pattern.search(lead):
        return "boilerplate (how a trial was run, or a cross-reference), not a finding"
    if lead.rstrip().endswith(":") and not unit.items:
        return "introduces a list whose items are not in this passage"
    return ""
