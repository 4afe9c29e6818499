"""Putting a generated answer together from verified sentences, part by part and in reading
order, numbering references as the parts cite them so what was sent early keeps its numbers."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from guideqa.index.models import Hit
from guideqa.ingest.models import SourceKind
from guideqa.qa.compose import SECTION_TITLES, Numbering
from guideqa.qa.models import (
    Answer,
    AnswerSection,
    Citation,
    Discrepancy,
    GenerationStats,
    Statement,
    SupportSpan,
)
from guideqa.qa.prompt import GeneratedSentence
from guideqa.qa.streaming import AnswerPart, BottomLinePart, DiscrepancyPart, SectionPart

SECTION_FIELDS = {
    "guidelines": SourceKind.GUIDELINE,
    "label": SourceKind.LABEL,
    "research": SourceKind.RESEARCH,
}
READING_ORDER = ("bottom_line", *SECTION_FIELDS)


class Abandoned(Exception):
    """The generated answer will not be shown; `why` says so in the answer's note."""

    def __init__(self, why: str, stats: GenerationStats | None = None) -> None:
        super().__init__(why)
        self.why = why
        self.stats = stats


@dataclass(frozen=True)
class CheckedSentence:
    """A generated sentence and the verifier's verdict on it."""

    sentence: GeneratedSentence
    verified: bool
    reason: str
    support: SupportSpan | None


@dataclass
class ReadingOrder:
    """Holds a field the model finished early until the fields before it are done, so the
    parts go out as a clinician reads them."""

    done: dict[str, list[CheckedSentence]] = field(default_factory=dict)
    position: int = 0

    def ready(self, name: str, checked: list[CheckedSentence]) -> list[str]:
        """Record a finished field; the fields now ready to send, in order."""
        if name in READING_ORDER:
            self.done.setdefault(name, checked)
        out = []
        while self.position < len(READING_ORDER) and READING_ORDER[self.position] in self.done:
            out.append(READING_ORDER[self.position])
            self.position += 1
        return out

    def rest(self) -> list[str]:
        """The fields not sent yet, in order (empty when the model never wrote them)."""
        names = list(READING_ORDER[self.position :])
        self.position = len(READING_ORDER)
        for name in names:
            self.done.setdefault(name, [])
        return names


@dataclass
class Assembly:
    """The generated answer so far; the extractive answer lends its table and callouts."""

    by_n: dict[int, Hit]
    numbering: Numbering
    extractive: Answer
    show_failed: bool
    checked: list[CheckedSentence] = field(default_factory=list)
    summary: str = ""
    summary_citations: tuple[int, ...] = ()
    rows: list[Discrepancy] = field(default_factory=list)
    sections: list[AnswerSection] = field(default_factory=list)

    def add(self, name: str, items: list[CheckedSentence]) -> Iterator[AnswerPart]:
        """The parts a finished field makes: the bottom line (then where sources differ), or
        a section. Raises Abandoned when no bottom-line sentence passed."""
        self.checked += items
        if name == "bottom_line":
            yield from self._bottom_line(items)
            return
        shown = [c for c in items if c.verified or self.show_failed]
        if shown:
            before = self._sent()
            kind = SECTION_FIELDS[name]
            statements = tuple(self._statement(c) for c in shown)
            section = AnswerSection(kind=kind, title=SECTION_TITLES[kind], statements=statements)
            self.sections.append(section)
            yield SectionPart(section=section, references=self._since(before))

    def _bottom_line(self, items: list[CheckedSentence]) -> Iterator[AnswerPart]:
        lead = [c for c in items if c.verified]
        if not lead:
            raise Abandoned("no bottom-line sentence passed verification", self.stats())
        before = self._sent()
        self.summary = " ".join(f"{c.sentence.text} {self._marks(c)}" for c in lead)
        self.summary_citations = tuple(dict.fromkeys(n for c in lead for n in self._numbers(c)))
        yield BottomLinePart(
            summary=self.summary,
            summary_citations=self.summary_citations,
            references=self._since(before),
        )
        old = {c.n: c for c in self.extractive.references}
        for row in self.extractive.discrepancies:
            before = self._sent()
            values = tuple(
                v.model_copy(update={"citation": self.numbering.adopt(old[v.citation])})
                for v in row.values
            )
            self.rows.append(row.model_copy(update={"values": values}))
            yield DiscrepancyPart(row=self.rows[-1], references=self._since(before))

    def stats(self) -> GenerationStats:
        """How many sentences were written so far, and how many failed verification."""
        failed = sum(not c.verified for c in self.checked)
        return GenerationStats(sentences=len(self.checked), dropped=failed)

    def check_share(self, max_failed_share: float) -> None:
        """Raises Abandoned when more than the allowed share of sentences failed."""
        failed = [c for c in self.checked if not c.verified]
        if self.checked and len(failed) / len(self.checked) > max_failed_share:
            why = (
                f"{len(failed)} of {len(self.checked)} generated sentences failed verification "
                f"(first: {failed[0].reason})"
            )
            raise Abandoned(why, self.stats())

    def answer(self) -> Answer:
        """The whole generated answer, with the extractive answer's callouts renumbered."""
        old = {c.n: c for c in self.extractive.references}
        callouts = tuple(
            c.model_copy(
                update={"citations": tuple(self.numbering.adopt(old[n]) for n in c.citations)}
            )
            for c in self.extractive.callouts
        )
        return self.extractive.model_copy(
            update={
                "summary": self.summary,
                "summary_citations": self.summary_citations,
                "sections": tuple(self.sections),
                "discrepancies": tuple(self.rows),
                "callouts": callouts,
                "references": self.numbering.references(),
                "composer": "generative",
                "generation": self.stats(),
            }
        )

    def _sent(self) -> int:
        return len(self.numbering.by_chunk)

    def _since(self, before: int) -> tuple[Citation, ...]:
        return self.numbering.references()[before:]

    def _numbers(self, checked: CheckedSentence) -> list[int]:
        """The reference numbers of a sentence's citations (the ones given to the model)."""
        cited = [n for n in checked.sentence.citations if n in self.by_n]
        return list(dict.fromkeys(self.numbering.cite(self.by_n[n]) for n in cited))

    def _marks(self, checked: CheckedSentence) -> str:
        return "".join(f"[{n}]" for n in self._numbers(checked))

    def _statement(self, checked: CheckedSentence) -> Statement:
        """A generated sentence as a statement: verified with its supporting span, or (when
        failed ones are shown) struck through with the reason."""
        citations = tuple(self._numbers(checked))
        if not checked.verified or checked.support is None:
            return Statement(
                text=checked.sentence.text,
                quote="",
                citations=citations,
                verified=False,
                failed_reason=checked.reason,
            )
        span = checked.support
        hit = self.by_n[span.n]
        return Statement(
            text=checked.sentence.text,
            quote=hit.text[span.start : span.end],
            citations=citations,
            verified=True,
            support=SupportSpan(n=self.numbering.cite(hit), start=span.start, end=span.end),
        )
