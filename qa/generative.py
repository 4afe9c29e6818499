"""Prose answers from any LangChain chat model, written only from the passages the answer
pipeline selected, every sentence verified before it is shown; the extractive answer (with a
note saying why) when the model fails, times out or too much of what it wrote fails."""

from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from guideqa.index.models import Hit
from guideqa.ingest.models import SourceKind
from guideqa.qa.compose import SECTION_TITLES, Composer, CompositionInput, Numbering
from guideqa.qa.models import Answer, AnswerSection, GenerationStats, Statement, SupportSpan
from guideqa.qa.prompt import (
    SYSTEM_PROMPT,
    GeneratedAnswer,
    GeneratedSentence,
    NumberedPassage,
    number_passages,
    parse_reply,
    user_prompt,
)
from guideqa.qa.settings import LLMSettings
from guideqa.qa.verify import Verifier

_SECTIONS = (
    ("guidelines", SourceKind.GUIDELINE),
    ("label", SourceKind.LABEL),
    ("research", SourceKind.RESEARCH),
)


class GenerationError(Exception):
    """The model gave nothing usable (an error, a timeout or output that does not parse)."""


@dataclass(frozen=True)
class _Checked:
    sentence: GeneratedSentence
    verified: bool
    reason: str
    support: SupportSpan | None


class GenerativeComposer:
    """A `Composer` over a LangChain chat model, falling back to another composer."""

    def __init__(
        self,
        model: BaseChatModel,
        fallback: Composer,
        verifier: Verifier,
        settings: LLMSettings,
    ) -> None:
        self.model = model
        self.fallback = fallback
        self.verifier = verifier
        self.settings = settings

    def compose(self, request: CompositionInput) -> Answer:
        """The verified prose answer, or the fallback's answer with a note saying why."""
        extractive = self.fallback.compose(request)
        if request.abstained:
            return extractive
        passages = number_passages(_hits(request))
        try:
            generated = self._generate(request.interpreted_question, passages)
        except GenerationError as exc:
            return _fall_back(extractive, f"the chat model failed ({exc})")
        if not generated.answerable:
            return _fall_back(extractive, "the chat model found that the passages do not answer")
        texts = {p.n: p.hit.text for p in passages}
        checked = {
            name: [self._check(s, texts) for s in getattr(generated, name)]
            for name in ("bottom_line", *(n for n, _ in _SECTIONS))
        }
        every = [c for items in checked.values() for c in items]
        failed = [c for c in every if not c.verified]
        stats = GenerationStats(sentences=len(every), dropped=len(failed))
        if not every or not any(c.verified for c in checked["bottom_line"]):
            why = "no bottom-line sentence passed verification"
            return _fall_back(extractive, why, stats)
        if len(failed) / len(every) > self.settings.max_failed_share:
            why = (
                f"{len(failed)} of {len(every)} generated sentences failed verification "
                f"(first: {failed[0].reason})"
            )
            return _fall_back(extractive, why, stats)
        answer = self._answer(extractive, checked, passages, request.notes)
        return answer.model_copy(update={"generation": stats})

    def _generate(self, question: str, passages: list[NumberedPassage]) -> GeneratedAnswer:
        messages: list[BaseMessage] = [
            SystemMessage(SYSTEM_PROMPT),
            HumanMessage(user_prompt(question, passages)),
        ]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
        try:
            future = pool.submit(self._invoke, messages)
            return future.result(timeout=self.settings.timeout_seconds)
        except concurrent.futures.TimeoutError as exc:
            raise GenerationError(f"no reply within {self.settings.timeout_seconds:g} s") from exc
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def _invoke(self, messages: list[BaseMessage]) -> GeneratedAnswer:
        try:
            if self.settings.structured_output:
                structured = _structured(self.model)
                if structured is not None:
                    reply = structured.invoke(messages)
                    if isinstance(reply, GeneratedAnswer):
                        return reply
            text = self.model.invoke(messages).text
        except Exception as exc:  # any provider error: the answer falls back, with the reason
            raise GenerationError(f"{type(exc).__name__}: {str(exc)[:200]}") from exc
        parsed = parse_reply(text)
        if parsed is None:
            raise GenerationError("its reply is neither the answer schema nor cited sentences")
        return parsed

    def _check(self, sentence: GeneratedSentence, texts: dict[int, str]) -> _Checked:
        check = self.verifier.check(sentence.text, tuple(sentence.citations), texts)
        support = check.support
        span = SupportSpan(n=support.n, start=support.start, end=support.end) if support else None
        return _Checked(sentence, check.verified, check.reason, span)

    def _answer(
        self,
        extractive: Answer,
        checked: dict[str, list[_Checked]],
        passages: list[NumberedPassage],
        notes: dict[str, str],
    ) -> Answer:
        cite = _Cite({p.n: p.hit for p in passages}, Numbering(notes))
        shown = {
            name: [c for c in items if c.verified or self.settings.show_failed]
            for name, items in checked.items()
        }
        lead = [c for c in shown["bottom_line"] if c.verified]
        summary = " ".join(f"{c.sentence.text} {cite.marks(c)}" for c in lead)
        summary_citations = tuple(dict.fromkeys(n for c in lead for n in cite.numbers(c)))
        sections = []
        for name, kind in _SECTIONS:
            statements = tuple(cite.statement(c) for c in shown[name])
            if statements:
                sections.append(
                    AnswerSection(kind=kind, title=SECTION_TITLES[kind], statements=statements)
                )
        return extractive.model_copy(
            update={
                "summary": summary,
                "summary_citations": summary_citations,
                "sections": tuple(sections),
                **cite.carried_over(extractive),
                "composer": "generative",
            }
        )


@dataclass
class _Cite:
    """Numbers the passages a generated answer cites, in order of first use."""

    by_n: dict[int, Hit]
    numbering: Numbering

    def numbers(self, checked: _Checked) -> list[int]:
        """The reference numbers of a sentence's citations (the ones given to the model)."""
        cited = [n for n in checked.sentence.citations if n in self.by_n]
        return list(dict.fromkeys(self.numbering.cite(self.by_n[n]) for n in cited))

    def marks(self, checked: _Checked) -> str:
        """'[1][3]'."""
        return "".join(f"[{n}]" for n in self.numbers(checked))

    def statement(self, checked: _Checked) -> Statement:
        """A generated sentence as a statement: verified with its supporting span, or (when
        failed ones are shown) struck through with the reason."""
        citations = tuple(self.numbers(checked))
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

    def carried_over(self, extractive: Answer) -> dict[str, object]:
        """The extractive answer's callouts and discrepancy rows, renumbered and appended."""
        old = {c.n: c for c in extractive.references}
        callouts = tuple(
            c.model_copy(
                update={"citations": tuple(self.numbering.adopt(old[n]) for n in c.citations)}
            )
            for c in extractive.callouts
        )
        rows = tuple(
            d.model_copy(
                update={
                    "values": tuple(
                        v.model_copy(update={"citation": self.numbering.adopt(old[v.citation])})
                        for v in d.values
                    )
                }
            )
            for d in extractive.discrepancies
        )
        return {
            "callouts": callouts,
            "discrepancies": rows,
            "references": self.numbering.references(),
        }


def _structured(model: BaseChatModel):  # type: ignore[no-untyped-def]
    """The model bound to the answer schema, or None when it cannot do structured output."""
    try:
        return model.with_structured_output(GeneratedAnswer)
    except (NotImplementedError, ValueError, TypeError):
        return None


def _hits(request: CompositionInput) -> list[Hit]:
    """The passages the pipeline selected: the bottom line's, then each section's."""
    hits = [c.unit.hit for c in request.summary_evidence]
    for kind in (SourceKind.GUIDELINE, SourceKind.LABEL, SourceKind.RESEARCH):
        hits += [c.unit.hit for c in request.evidence.get(kind, [])]
    return hits


def _fall_back(answer: Answer, why: str, stats: GenerationStats | None = None) -> Answer:
    note = f"The generated answer was not shown: {why}. This is the extractive answer."
    return answer.model_copy(update={"composer_note": note, "generation": stats})
