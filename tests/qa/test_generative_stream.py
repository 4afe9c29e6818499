"""The generative composer, streamed: each part is verified and sent while the model is still
writing, in reading order, with numbers that the whole answer keeps; a failure after parts
were sent withdraws them with a `FallbackPart` and sends the extractive answer."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from langchain_core.language_models import BaseChatModel

from guideqa.ingest.models import SourceKind
from guideqa.qa.compose import ExtractiveComposer
from guideqa.qa.generative import GenerativeComposer
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.settings import LLMSettings
from guideqa.qa.streaming import (
    AnswerFinished,
    AnswerStarted,
    BottomLinePart,
    FallbackPart,
    SectionPart,
    final_answer,
)
from guideqa.qa.verify import VerificationRules, Verifier
from tests.qa.chat_fakes import GatedChatModel, split_after
from tests.qa.fakes import FakeSource
from tests.qa.test_generative import GOOD, QUESTION, fake
from tests.qa.test_rules import MEN, SETTINGS, WOMEN

BAD = {"text": "Everyone should take 5000 mg of vitamin D daily.", "citations": [1]}


def engine(model: BaseChatModel, **settings: Any) -> AnswerEngine[FakeSource]:
    source = FakeSource([WOMEN, MEN])
    knowledge = ClinicalKnowledge.load()
    llm = LLMSettings(provider="openai-compatible", model="fake", **settings)
    verifier = Verifier(VerificationRules.load(), source.tokens, llm.min_support)
    composer = GenerativeComposer(model, ExtractiveComposer(knowledge), verifier, llm)
    return AnswerEngine(source, SETTINGS, composer=composer, knowledge=knowledge)


def gated(reply: dict[str, Any], after: str = '"guidelines"') -> GatedChatModel:
    """A model that writes the reply up to `after`, then waits for the test."""
    pieces = split_after(json.dumps(reply), after)
    return GatedChatModel(pieces=pieces, gate_at=1)


def stream(model: BaseChatModel, **settings: Any) -> Iterator[object]:
    return engine(model, **settings).stream(QUESTION, kinds=(SourceKind.GUIDELINE,))


def test_the_bottom_line_is_sent_while_the_model_is_still_writing() -> None:
    model = gated(GOOD)
    events = stream(model)
    started = next(events)
    assert isinstance(started, AnswerStarted) and started.composer == "generative"
    bottom = next(events)
    assert isinstance(bottom, BottomLinePart)
    assert not model.gate.is_set() and model.written == 1  # the sections are not written yet
    assert bottom.summary.startswith("The USPSTF recommends screening") and bottom.references
    model.gate.set()
    section = next(events)
    assert isinstance(section, SectionPart)
    assert all(s.verified and s.support for s in section.section.statements)
    finished = next(events)
    assert isinstance(finished, AnswerFinished)
    whole = finished.answer
    # what was sent early keeps its numbers in the whole answer
    assert whole.answer_id == started.answer_id and whole.summary == bottom.summary
    assert whole.sections == (section.section,)
    assert whole.references[: len(bottom.references)] == bottom.references


def test_parts_go_out_in_reading_order_whatever_order_the_model_writes() -> None:
    reply = {
        "answerable": True,
        "guidelines": GOOD["guidelines"],
        "bottom_line": GOOD["bottom_line"],
    }
    model = GatedChatModel(pieces=[json.dumps(reply)])
    parts = [e for e in stream(model) if isinstance(e, (BottomLinePart, SectionPart))]
    assert [type(p) for p in parts] == [BottomLinePart, SectionPart]


def test_too_many_failures_after_the_bottom_line_withdraw_what_was_sent() -> None:
    model = gated({**GOOD, "guidelines": [BAD, BAD]})
    events = list_after_opening(model)
    names = [type(e).__name__ for e in events]
    assert names[:3] == ["AnswerStarted", "BottomLinePart", "FallbackPart"]
    fallback = events[2]
    assert isinstance(fallback, FallbackPart)
    assert "2 of 3 generated sentences failed verification" in fallback.composer_note
    whole = final_answer(e for e in events if isinstance(e, AnswerFinished))
    assert whole.composer == "extractive" and whole.composer_note == fallback.composer_note
    [after] = [e for e in events[3:] if isinstance(e, BottomLinePart)]
    assert after.summary == whole.summary  # the extractive bottom line follows the fallback


def list_after_opening(model: GatedChatModel, **settings: Any) -> list[Any]:
    events = stream(model, **settings)
    taken = [next(events), next(events)]  # the start, and the bottom line
    model.gate.set()
    return taken + list(events)


def test_a_model_that_stops_writing_times_out_after_the_bottom_line() -> None:
    model = gated(GOOD)
    events = list(stream(model, timeout_seconds=0.3))  # the gate is never opened
    assert isinstance(events[1], BottomLinePart) and isinstance(events[2], FallbackPart)
    assert "the reply did not finish within 0.3 s" in events[2].composer_note
    model.gate.set()


def test_a_reply_cut_off_part_way_falls_back() -> None:
    model = GatedChatModel(pieces=[json.dumps(GOOD)[:-30]])
    events = list(stream(model))
    assert any(isinstance(e, FallbackPart) for e in events)
    whole = final_answer(e for e in events if isinstance(e, AnswerFinished))
    assert "stopped before the answer was complete" in (whole.composer_note or "")


def test_the_whole_answer_is_the_same_streamed_or_not() -> None:
    streamed = final_answer(stream(GatedChatModel(pieces=[json.dumps(GOOD)])))  # type: ignore[arg-type]
    whole = engine(GatedChatModel(pieces=[json.dumps(GOOD)]), structured_output=False).ask(
        QUESTION, kinds=(SourceKind.GUIDELINE,)
    )
    assert isinstance(streamed, Answer)
    keep = ("summary", "summary_citations", "sections", "references", "composer", "generation")
    assert streamed.model_dump(include=set(keep)) == whole.model_dump(include=set(keep))


def test_a_streamed_answer_is_remembered_for_follow_ups() -> None:
    qa = engine(GatedChatModel(pieces=[json.dumps(GOOD)]))
    finished = final_answer(qa.stream(QUESTION, kinds=(SourceKind.GUIDELINE,)))
    assert finished.conversation_id is not None
    [turn] = qa.conversations.get(finished.conversation_id).turns
    assert turn.summary == finished.summary


def test_langchains_fake_model_streamed_word_by_word() -> None:
    # GenericFakeChatModel streams its reply in whitespace-separated pieces
    events = list(stream(fake(GOOD)))
    names = [type(e).__name__ for e in events]
    assert names == ["AnswerStarted", "BottomLinePart", "SectionPart", "AnswerFinished"]
    whole = final_answer(e for e in events if isinstance(e, AnswerFinished))
    assert whole.composer == "generative" and whole.generation is not None
    assert whole.generation.sentences == 2 and whole.generation.dropped == 0


def test_answers_beyond_the_models_capacity_get_the_extractive_answer() -> None:
    model = gated(GOOD)
    qa = engine(model, max_concurrent=1, queue_seconds=0)
    first = qa.stream(QUESTION, kinds=(SourceKind.GUIDELINE,))
    assert isinstance(next(first), AnswerStarted) and isinstance(next(first), BottomLinePart)
    # the model is writing the first answer: a second one does not wait for it
    busy = qa.ask(QUESTION, kinds=(SourceKind.GUIDELINE,))
    assert busy.composer == "extractive"
    assert "the chat model is busy (1 answers being written)" in (busy.composer_note or "")
    model.gate.set()
    assert final_answer(first).composer == "generative"  # type: ignore[arg-type]
    # once it is free again, answers are written by the model
    assert qa.ask(QUESTION, kinds=(SourceKind.GUIDELINE,)).composer == "generative"
