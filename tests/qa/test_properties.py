"""Property-based tests (hypothesis): the follow-up rewrite is bounded for any input, and
citation numbering is consistent for any question over the fake source."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from guideqa.ingest.models import SourceKind
from guideqa.qa.conversation import ConversationFullError, InMemoryConversationStore, Turn
from guideqa.qa.followup import resolve
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine
from tests.qa.fakes import FakeSource
from tests.qa.test_rules import BOXED, BUPROPION, DOCUMENTS, MDD, MEN, PREGNANCY, SETTINGS, WOMEN

HITS = [BOXED, PREGNANCY, BUPROPION, MDD, WOMEN, MEN]
# Words of the passages, pronouns and regex-template characters: the rewrite's worst inputs.
VOCABULARY = sorted(
    {w.lower() for h in HITS for w in re.findall(r"[A-Za-z]{3,}", h.text)}
    | {"it", "its", "this", "that", "they", "them", "what", "about", "and", "in", "dose"}
    | {"\\1", "\\g<0>", "\\", "$1", "(", "[", "?"}
)
words = st.lists(st.sampled_from(VOCABULARY), min_size=0, max_size=40).map(" ".join)
free_text = st.text(min_size=0, max_size=3000)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _turn(topic: str, focus: str, drugs: list[str]) -> Turn:
    return Turn(
        question=topic,
        interpreted_question=topic,
        topic=topic,
        drugs=tuple(drugs),
        summary="",
        abstained=False,
        focus=focus,
    )


@PROPERTY
@given(
    question=st.one_of(free_text, words, st.just("it " * 666)),
    topic=free_text,
    focus=free_text,
    drugs=st.lists(st.text(max_size=200), max_size=5),
    has_aspect=st.booleans(),
)
def test_follow_up_rewrite_is_bounded_for_any_input(
    question: str, topic: str, focus: str, drugs: list[str], has_aspect: bool
) -> None:
    previous = _turn(topic, focus, drugs)
    rewritten = resolve(question, previous, lambda _: (), has_aspect, 2000)
    assert len(rewritten) <= 2000


def test_pronouns_are_replaced_once_and_backslashes_are_text() -> None:
    previous = _turn("dose of drug \\1 with \\g<0>", "", [])
    rewritten = resolve("it " * 666, previous, lambda _: (), False, 2000)
    assert rewritten.count("\\1") <= 2 and len(rewritten) <= 2000


def _engine(max_turns: int = 50) -> AnswerEngine[FakeSource]:
    source = FakeSource(list(HITS), DOCUMENTS)  # type: ignore[arg-type]
    store = InMemoryConversationStore(max_turns=max_turns)
    return AnswerEngine(source, SETTINGS, store)


@PROPERTY
@given(turns=st.lists(st.one_of(words, free_text.map(lambda t: t[:2000])), min_size=1, max_size=5))
def test_a_conversation_never_grows_its_question(turns: list[str]) -> None:
    engine = _engine()
    conversation_id = None
    for text in ["What is the dose of naproxen in pregnancy " + "\\" * 50, *turns]:
        if not text.strip():
            continue
        answer = engine.ask(text, conversation_id)
        conversation_id = answer.conversation_id
        assert len(answer.interpreted_question) <= SETTINGS.max_question_chars


def test_turns_per_conversation_are_capped() -> None:
    engine = _engine(max_turns=3)
    answer = engine.ask("Naproxen in pregnancy?")
    for _ in range(2):
        engine.ask("and it?", answer.conversation_id)
    with pytest.raises(ConversationFullError, match="3 turns"):
        engine.ask("and it?", answer.conversation_id)


def _cited_numbers(answer: Answer) -> list[int]:
    numbers = list(answer.summary_citations)
    for section in answer.sections:
        for statement in section.statements:
            numbers += statement.citations
    for callout in answer.callouts:
        numbers += callout.citations
    return numbers


@PROPERTY
@given(question=words.filter(lambda q: q.strip()), kinds=st.sets(st.sampled_from(SourceKind)))
def test_citations_are_numbered_by_first_use_and_all_resolve(
    question: str, kinds: set[SourceKind]
) -> None:
    answer = _engine().ask(question, kinds=tuple(kinds))
    numbers = _cited_numbers(answer)
    references = [r.n for r in answer.references]
    assert references == list(range(1, len(references) + 1))
    assert set(numbers) == set(references)  # every reference is cited, every citation exists
    first_use = list(dict.fromkeys(numbers))
    assert sorted(first_use) == first_use  # [1] is used before [2], ...
    by_number = {r.n: r for r in answer.references}
    for section in answer.sections:
        for statement in section.statements:
            [n] = statement.citations
            assert statement.quote in by_number[n].passage  # the number points at its passage
    for n, reference in by_number.items():
        assert sum(1 for r in answer.references if r.chunk_id == reference.chunk_id) == 1, n
