"""Prose answers from any LangChain chat model, written only from the passages the answer
pipeline selected, every sentence verified before it is shown; the extractive answer (with a
note saying why) when the model fails, times out or too much of what it wrote fails.

Streamed, the model's reply is read field by field as it arrives: the bottom line, then each
section, is verified and sent as soon as the model has finished writing it."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from guideqa.index.models import Hit
from guideqa.ingest.models import SourceKind
from guideqa.qa.assembly import Abandoned, Assembly, CheckedSentence, ReadingOrder
from guideqa.qa.compose import Composer, CompositionInput, Numbering
from guideqa.qa.models import Answer, GenerationStats, SupportSpan
from guideqa.qa.prompt import (
    SYSTEM_PROMPT,
    GeneratedAnswer,
    GeneratedSentence,
    NumberedPassage,
    number_passages,
    user_prompt,
)
from guideqa.qa.reply_reader import ReplyError, ReplyField, ReplyReader
from guideqa.qa.settings import LLMSettings
from guideqa.qa.streaming import AnswerPart, FallbackPart, parts_of
from guideqa.qa.verify import Verifier

Chunks = Callable[[list[BaseMessage]], Iterator[str]]


class GenerationError(Exception):
    """The model gave nothing usable (an error, a timeout or output that does not parse)."""


class GenerativeComposer:
    """A `Composer` (and `StreamingComposer`) over a LangChain chat model, falling back to
    another composer."""

    name = "generative"

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
        self._writers = threading.BoundedSemaphore(settings.max_concurrent)

    def compose(self, request: CompositionInput) -> Answer:
        """The verified prose answer (the model asked for the answer schema where it can do
        structured output), or the fallback's answer with a note saying why."""
        for item in self._compose(request, streamed=False):
            if isinstance(item, Answer):  # the last item of a composition
                return item
        raise RuntimeError("the composition ended without an answer")

    def compose_stream(self, request: CompositionInput) -> Iterator[AnswerPart | Answer]:
        """Each part as soon as it is verified, from the model's streamed reply, then the
        Answer. A `FallbackPart` withdraws what was sent; the extractive parts follow it."""
        return self._compose(request, streamed=True)

    def _compose(self, request: CompositionInput, streamed: bool) -> Iterator[AnswerPart | Answer]:
        extractive = self.fallback.compose(request)
        if request.abstained:
            yield from parts_of(extractive)
            yield extractive
            return
        # a bounded number of answers are written at once; the others get the extractive one
        if not self._writers.acquire(timeout=self.settings.queue_seconds):
            busy = f"the chat model is busy ({self.settings.max_concurrent} answers being written)"
            yield from _withdrawn(_fall_back(extractive, busy))
            return
        try:
            yield from self._generated(request, extractive, streamed)
        finally:
            self._writers.release()

    def _generated(
        self, request: CompositionInput, extractive: Answer, streamed: bool
    ) -> Iterator[AnswerPart | Answer]:
        passages = number_passages(_hits(request))
        assembly = Assembly(
            {p.n: p.hit for p in passages},
            Numbering(request.notes),
            extractive,
            self.settings.show_failed,
        )
        try:
            question = request.interpreted_question
            yield from self._verified_parts(question, passages, assembly, streamed)
        except Abandoned as abandoned:
            yield from _withdrawn(_fall_back(extractive, abandoned.why, abandoned.stats))
            return
        yield assembly.answer()

    def _verified_parts(
        self,
        question: str,
        passages: list[NumberedPassage],
        assembly: Assembly,
        streamed: bool,
    ) -> Iterator[AnswerPart]:
        """The parts of the generated answer as each field of the reply is verified."""
        texts = {p.n: p.hit.text for p in passages}
        sources = {p.n: _source_names(p.hit) for p in passages}
        order = ReadingOrder()
        try:
            for reply_field in self._fields(question, passages, streamed):
                if not reply_field.answerable:
                    raise Abandoned("the chat model found that the passages do not answer")
                checked = [self._check(s, texts, sources) for s in reply_field.sentences]
                for name in order.ready(reply_field.name, checked):
                    yield from assembly.add(name, order.done[name])
        except GenerationError as exc:
            stats = assembly.stats() if assembly.checked else None
            raise Abandoned(f"the chat model failed ({exc})", stats) from exc
        for name in order.rest():
            yield from assembly.add(name, order.done[name])
        assembly.check_share(self.settings.max_failed_share)

    def _fields(
        self, question: str, passages: list[NumberedPassage], streamed: bool
    ) -> Iterator[ReplyField]:
        """The reply's fields, each as soon as the model has finished writing it."""
        messages: list[BaseMessage] = [
            SystemMessage(SYSTEM_PROMPT),
            HumanMessage(user_prompt(question, passages)),
        ]
        reader = ReplyReader()
        produce = self._streamed_text if streamed else self._whole_text
        try:
            for chunk in self._before_deadline(produce, messages):
                yield from reader.feed(chunk)
            yield from reader.close()
        except ReplyError as exc:
            raise GenerationError(str(exc)) from exc

    def _whole_text(self, messages: list[BaseMessage]) -> Iterator[str]:
        """The whole reply at once: the answer schema as JSON where the model can do
        structured output, else its text."""
        if self.settings.structured_output:
            structured = _structured(self.model)
            if structured is not None:
                reply = structured.invoke(messages)
                if isinstance(reply, GeneratedAnswer):
                    yield reply.model_dump_json()
                    return
        yield self.model.invoke(messages).text

    def _streamed_text(self, messages: list[BaseMessage]) -> Iterator[str]:
        """The reply's text as the model writes it."""
        for chunk in self.model.stream(messages):
            yield chunk.text

    def _before_deadline(self, produce: Chunks, messages: list[BaseMessage]) -> Iterator[str]:
        """The model's text, read on a worker thread so a slow or silent model cannot hold
        the answer past the timeout; its errors become GenerationError."""
        limit = self.settings.timeout_seconds
        deadline = time.monotonic() + limit
        chunks: queue.Queue[str | BaseException | None] = queue.Queue()
        stop = threading.Event()
        threading.Thread(target=_pump, args=(produce, messages, chunks, stop), daemon=True).start()
        received = False
        try:
            while True:
                try:
                    item = chunks.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    what = "the reply did not finish" if received else "no reply"
                    raise GenerationError(f"{what} within {limit:g} s") from None
                if item is None:
                    return
                if isinstance(item, BaseException):
                    # any provider error: the answer falls back, with the reason
                    raise GenerationError(f"{type(item).__name__}: {str(item)[:200]}") from item
                received = True
                yield item
        finally:
            stop.set()

    def _check(
        self, sentence: GeneratedSentence, texts: dict[int, str], sources: dict[int, str]
    ) -> CheckedSentence:
        check = self.verifier.check(sentence.text, tuple(sentence.citations), texts, sources)
        support = check.support
        span = SupportSpan(n=support.n, start=support.start, end=support.end) if support else None
        return CheckedSentence(sentence, check.verified, check.reason, span)


def _pump(
    produce: Chunks,
    messages: list[BaseMessage],
    out: queue.Queue[str | BaseException | None],
    stop: threading.Event,
) -> None:
    """Runs on the worker thread: the model's text into the queue, then None (or the error)."""
    try:
        for text in produce(messages):
            if stop.is_set():  # the answer has moved on (timed out, or the client left)
                return
            out.put(text)
        out.put(None)
    except Exception as exc:  # reported to the reader, which falls back with the reason
        out.put(exc)


def _structured(model: BaseChatModel):  # type: ignore[no-untyped-def]
    """The model bound to the answer schema, or None when it cannot do structured output."""
    try:
        return model.with_structured_output(GeneratedAnswer)
    except (NotImplementedError, ValueError, TypeError):
        return None


def _source_names(hit: Hit) -> str:
    """What the model is told a passage comes from: the title, and a label's drug names."""
    return " ".join((hit.title, *hit.provenance.drug_names))


def _hits(request: CompositionInput) -> list[Hit]:
    """The passages the pipeline selected: the bottom line's, then each section's."""
    hits = [c.unit.hit for c in request.summary_evidence]
    for kind in (SourceKind.GUIDELINE, SourceKind.LABEL, SourceKind.RESEARCH):
        hits += [c.unit.hit for c in request.evidence.get(kind, [])]
    return hits


def _withdrawn(fallen: Answer) -> Iterator[AnswerPart | Answer]:
    """The fallback part (withdrawing anything generated that was sent), then the extractive
    answer's parts and the answer."""
    yield FallbackPart(composer_note=fallen.composer_note or "")
    yield from parts_of(fallen)
    yield fallen


def _fall_back(answer: Answer, why: str, stats: GenerationStats | None = None) -> Answer:
    note = f"The generated answer was not shown: {why}. This is the extractive answer."
    return answer.model_copy(update={"composer_note": note, "generation": stats})
