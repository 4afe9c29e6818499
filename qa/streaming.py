"""An answer in parts, in reading order, as it is composed: the start, the bottom line, each
row of where sources differ, each section, then the whole answer. A generative composer
yields each part once it is verified; any other composer's answer is cut into the same parts
at once. Framework-free: api/streaming.py turns parts into Server-Sent Events."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from guideqa.qa.compose import Composer, CompositionInput
from guideqa.qa.models import Answer, AnswerSection, Citation, Discrepancy


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True)


class AnswerStarted(_Part):
    """Sent before anything is composed: who asked what, and which composer is writing."""

    answer_id: str
    question: str
    interpreted_question: str
    conversation_id: str | None
    index_version: str | None
    composer: str
    abstained: bool


class BottomLinePart(_Part):
    """The bottom line, with the references it cites first."""

    summary: str
    summary_citations: tuple[int, ...]
    references: tuple[Citation, ...]


class DiscrepancyPart(_Part):
    """One row of where sources differ, with the references it cites first."""

    row: Discrepancy
    references: tuple[Citation, ...]


class SectionPart(_Part):
    """One section, verified, with the references it cites first."""

    section: AnswerSection
    references: tuple[Citation, ...]


class FallbackPart(_Part):
    """Everything sent so far is withdrawn: the parts that follow are the extractive answer,
    and the note says why."""

    composer_note: str


class AnswerFinished(_Part):
    """The whole answer, as `POST /v1/ask` returns it as JSON."""

    answer: Answer


AnswerPart = BottomLinePart | DiscrepancyPart | SectionPart | FallbackPart
AnswerEvent = AnswerStarted | AnswerPart | AnswerFinished


@runtime_checkable
class StreamingComposer(Protocol):
    """A composer that yields the answer's parts as they are ready, then the whole Answer."""

    def compose_stream(self, request: CompositionInput) -> Iterator[AnswerPart | Answer]:
        """The parts in reading order, then the Answer (whose numbering the parts share)."""
        ...


class NewReferences:
    """Which references a part cites for the first time, so each is sent once, with the
    first part that needs it."""

    def __init__(self, references: Iterable[Citation]) -> None:
        self.by_n = {c.n: c for c in references}
        self.sent: set[int] = set()

    def of(self, numbers: Iterable[int]) -> tuple[Citation, ...]:
        """The references among `numbers` not sent yet, in number order."""
        new = sorted({n for n in numbers if n in self.by_n} - self.sent)
        self.sent.update(new)
        return tuple(self.by_n[n] for n in new)


def parts_of(answer: Answer) -> Iterator[AnswerPart]:
    """A whole answer cut into its parts, in reading order."""
    references = NewReferences(answer.references)
    yield BottomLinePart(
        summary=answer.summary,
        summary_citations=answer.summary_citations,
        references=references.of(answer.summary_citations),
    )
    for row in answer.discrepancies:
        yield DiscrepancyPart(row=row, references=references.of(v.citation for v in row.values))
    for section in answer.sections:
        cited = (n for s in section.statements for n in s.citations)
        yield SectionPart(section=section, references=references.of(cited))


def compose_parts(composer: Composer, request: CompositionInput) -> Iterator[AnswerPart | Answer]:
    """The composer's parts as it produces them (or its whole answer cut into parts), then
    the Answer."""
    if isinstance(composer, StreamingComposer):
        yield from composer.compose_stream(request)
        return
    answer = composer.compose(request)
    yield from parts_of(answer)
    yield answer


def final_answer(events: Iterable[AnswerEvent]) -> Answer:
    """The whole answer at the end of a stream of events."""
    finished = [e.answer for e in events if isinstance(e, AnswerFinished)]
    if not finished:
        raise RuntimeError("the answer stream ended without an answer")
    return finished[-1]
