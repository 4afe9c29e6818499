"""Systems compared by the harness: GuideQA and baselines, behind one small interface."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol

from guideqa.eval.dataset import EvalQuestion
from guideqa.index.backend import SearchIndex
from guideqa.ingest.models import SourceKind
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine


@dataclass(frozen=True)
class ShownValue:
    """One source's value in a discrepancy row: its document and its stated range."""

    doc_id: str
    low: float
    high: float
    text: str = ""


@dataclass(frozen=True)
class ShownDiscrepancy:
    """A discrepancy row as shown: the quantity and each source's value."""

    quantity: str
    values: tuple[ShownValue, ...]


@dataclass(frozen=True)
class SystemOutput:
    """What a system returned for one question, in the terms the metrics need."""

    ranked_docs: tuple[str, ...]
    answer_text: str
    abstained: bool
    summary: str = ""
    statements: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()
    citation_checks: tuple[bool, ...] | None = None
    section_checks: tuple[bool, ...] | None = None
    cited_docs: tuple[str, ...] = ()
    latency_ms: float = 0.0
    discrepancies: tuple[ShownDiscrepancy, ...] = ()
    generated_sentences: int = 0
    dropped_sentences: int = 0
    generation_fell_back: bool = False


class System(Protocol):
    """A question-answering system under evaluation."""

    name: str

    def answer(self, question: EvalQuestion) -> SystemOutput:
        """Answer one question (follow-ups continue the conversation of what they follow)."""
        ...


def statement_texts(answer: Answer) -> tuple[str, ...]:
    """The statements of the answer's sections, as displayed (source prefix and sentence)."""
    return tuple(s.text for section in answer.sections for s in section.statements)


def answer_text(answer: Answer) -> str:
    """Everything a reader sees: summary, where sources differ, statements, callouts, gaps."""
    callouts = [c.text for c in answer.callouts]
    differ = [f"{d.quantity}: {v.source} {v.value}" for d in answer.discrepancies for v in d.values]
    return "\n".join([answer.summary, *differ, *statement_texts(answer), *callouts, *answer.gaps])


def shown_discrepancies(answer: Answer) -> tuple[ShownDiscrepancy, ...]:
    """The answer's discrepancy rows, as the metrics judge them."""
    return tuple(
        ShownDiscrepancy(
            d.quantity, tuple(ShownValue(v.doc_id, v.low, v.high, v.value) for v in d.values)
        )
        for d in answer.discrepancies
    )


def quotes(answer: Answer) -> str:
    """The verbatim evidence sentences only."""
    return " ".join(s.quote for section in answer.sections for s in section.statements)


def citation_checks(answer: Answer) -> tuple[bool, ...]:
    """Per statement: every [n] resolves and its passage contains the statement's quote."""
    passages = {c.n: c.passage for c in answer.references}
    return tuple(
        bool(s.citations) and all(n in passages and s.quote in passages[n] for n in s.citations)
        for section in answer.sections
        for s in section.statements
    )


def section_checks(answer: Answer) -> tuple[bool, ...]:
    """Per statement: it sits in the section of its cited source's kind."""
    kinds = {c.n: c.kind for c in answer.references}
    return tuple(
        all(kinds.get(n) is section.kind for n in s.citations)
        for section in answer.sections
        for s in section.statements
    )


class GuideQASystem:
    """The full pipeline; ranked documents are the cited ones, then the hybrid search order."""

    name = "guideqa"

    def __init__(
        self,
        engine: AnswerEngine[SearchIndex],
        kinds: tuple[SourceKind, ...] = (),
        quotes_only: bool = False,
    ) -> None:
        self.engine = engine
        self.kinds = kinds
        self.quotes_only = quotes_only  # ROUGE against ideal answers: the evidence text only
        self._conversations: dict[str, str] = {}

    def answer(self, question: EvalQuestion) -> SystemOutput:
        conversation = self._conversations.get(question.follow_up_of or "")
        start = time.perf_counter()
        answer = self.engine.ask(question.question, conversation, self.kinds)
        latency = (time.perf_counter() - start) * 1000
        self._conversations[question.id] = answer.conversation_id or ""
        cited = tuple(dict.fromkeys(c.doc_id for c in answer.references))
        searched = [h.doc_id for h in self.engine.index.search(answer.interpreted_question, 20)]
        return SystemOutput(
            ranked_docs=tuple(dict.fromkeys([*cited, *searched])),
            answer_text=quotes(answer) if self.quotes_only else answer_text(answer),
            abstained=answer.abstained,
            summary="" if answer.abstained else answer.summary,
            statements=statement_texts(answer),
            gaps=answer.gaps,
            citation_checks=citation_checks(answer),
            section_checks=section_checks(answer),
            cited_docs=cited,
            latency_ms=latency,
            discrepancies=shown_discrepancies(answer),
            generated_sentences=answer.generation.sentences if answer.generation else 0,
            dropped_sentences=answer.generation.dropped if answer.generation else 0,
            generation_fell_back=answer.composer_note is not None,
        )


class SearchBaseline:
    """Retrieval only: the top passages concatenated as the 'answer' (no selection, no context)."""

    def __init__(self, index: SearchIndex, mode: str, passages: int = 3) -> None:
        self.index = index
        self.mode = mode
        self.passages = passages
        self.name = {"lexical": "bm25", "dense": "dense", "hybrid": "hybrid"}[mode]

    def answer(self, question: EvalQuestion) -> SystemOutput:
        start = time.perf_counter()
        hits = self.index.search(question.question, 20, mode=self.mode)
        latency = (time.perf_counter() - start) * 1000
        return SystemOutput(
            ranked_docs=tuple(dict.fromkeys(h.doc_id for h in hits)),
            answer_text="\n\n".join(h.text for h in hits[: self.passages]),
            abstained=False,
            summary=hits[0].text if hits else "",
            statements=tuple(h.text for h in hits[: self.passages]),
            cited_docs=tuple(h.doc_id for h in hits[: self.passages]),
            latency_ms=latency,
        )
