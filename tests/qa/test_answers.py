"""Answer rules on real passages with the real embedding model (integration)."""

from __future__ import annotations

import re

import pytest

from guideqa.index.hybrid import HybridIndex
from guideqa.ingest.models import SourceKind
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine, EmptyQuestionError
from guideqa.qa.render import render_markdown

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def engine(real_index: HybridIndex) -> AnswerEngine:
    return AnswerEngine(real_index)


def _all_statements(answer: Answer):  # type: ignore[no-untyped-def]
    return [s for section in answer.sections for s in section.statements]


def assert_citations_valid(answer: Answer) -> None:
    numbers = {c.n for c in answer.references}
    assert [c.n for c in answer.references] == list(range(1, len(numbers) + 1))
    by_n = {c.n: c for c in answer.references}
    for statement in _all_statements(answer):
        assert statement.citations and statement.text.endswith(statement.quote)
        for n in statement.citations:
            assert statement.quote in by_n[n].passage  # verbatim from the cited passage
    rendered = render_markdown(answer)
    first_use = [int(n) for n in re.findall(r"\[(\d+)\]", rendered)]
    assert list(dict.fromkeys(first_use)) == sorted(numbers)  # numbered in order of first use


def test_osteoporosis_screening_cites_uspstf_with_grade(engine: AnswerEngine) -> None:
    answer = engine.ask("Should women 65 and older be screened for osteoporosis?")
    assert not answer.abstained
    guideline = next(s for s in answer.sections if s.kind is SourceKind.GUIDELINE)
    assert any(
        "USPSTF" in s.text and "grade B" in s.text and "bone measurement testing" in s.quote
        for s in guideline.statements
    )
    assert_citations_valid(answer)


def test_follow_up_is_interpreted_and_answered(engine: AnswerEngine) -> None:
    first = engine.ask("Should women 65 and older be screened for osteoporosis?")
    follow = engine.ask("What about in men?", conversation_id=first.conversation_id)
    assert "men" in follow.interpreted_question and "osteoporosis" in follow.interpreted_question
    assert follow.conversation_id == first.conversation_id
    quotes = " ".join(s.quote for s in _all_statements(follow))
    assert "insufficient to assess the balance of benefits and harms" in quotes
    assert "Interpreted as:" in render_markdown(follow)


def test_the_boxed_warning_is_a_callout_beside_the_answer(engine: AnswerEngine) -> None:
    answer = engine.ask("What is the usual starting dose of Glucophage?")
    assert "500 mg" in answer.summary  # the dose answers; the warning does not replace it
    [callout] = answer.callouts
    assert callout.title == "Boxed warning: Metformin" and "LACTIC ACIDOSIS" in callout.text
    label = next(s for s in answer.sections if s.kind is SourceKind.LABEL)
    assert all("LACTIC ACIDOSIS" not in s.quote for s in label.statements)
    assert_citations_valid(answer)
    asked = engine.ask("What is the boxed warning for Glucophage?")
    assert not asked.callouts and "LACTIC ACIDOSIS" in asked.summary


def test_renal_dosing_prefers_the_renal_label_section(engine: AnswerEngine) -> None:
    answer = engine.ask("How should metformin be used when eGFR is between 30 and 45?")
    label = next(s for s in answer.sections if s.kind is SourceKind.LABEL)
    assert any(
        "eGFR between 30" in s.quote or "eGFR between 30" in s.quote.replace("-", " ")
        for s in label.statements
    )
    references = {c.section for c in answer.references}
    assert any("Renal" in r for r in references)


def test_superseded_guideline_is_not_preferred(engine: AnswerEngine) -> None:
    answer = engine.ask("Should opioids be first-line therapy for acute low back pain?")
    cited = {c.doc_id for c in answer.references}
    assert "ngc-10953" not in cited
    current = [c for c in answer.references if c.doc_id == "cdc-opioid-prescribing-2022"]
    assert current and current[0].note and "supersedes" in current[0].note
    assert current[0].pages is not None


def test_unanswerable_question_abstains_and_reports_gaps(engine: AnswerEngine) -> None:
    answer = engine.ask("What is the recommended dose of teriparatide for osteoporosis in men?")
    assert "No FDA label for teriparatide is indexed." in answer.gaps
    unrelated = engine.ask("How is malaria in returning travellers treated with artemether?")
    assert unrelated.abstained and not unrelated.sections
    assert unrelated.summary.startswith("The indexed corpus holds no evidence")
    assert "Searched" in unrelated.summary and len(unrelated.gaps) == 3
    label_gap = next(g for g in unrelated.gaps if g.startswith("No FDA drug label passage"))
    assert "\u201cmalaria\u201d" in label_gap  # says what was searched for
    assert "the FDA label of a drug used for this would be needed" in label_gap


def test_management_question_leads_with_the_recommendation(engine: AnswerEngine) -> None:
    answer = engine.ask(
        "What is the management plan for a patient with diffuse osteopenia and possible "
        "insufficiency fractures?"
    )
    assert answer.summary.startswith("The USPSTF recommends screening for osteoporosis")
    guideline = next(s for s in answer.sections if s.kind is SourceKind.GUIDELINE)
    first = guideline.statements[0]
    assert first.quote.startswith("The USPSTF recommends screening for osteoporosis")
    assert first.text.startswith("USPSTF (grade B): ")
    assert_citations_valid(answer)


def test_labels_of_other_drugs_do_not_stand_in_for_a_missing_label(engine: AnswerEngine) -> None:
    answer = engine.ask("How should sitagliptin be dosed when eGFR is reduced in renal impairment?")
    assert "No FDA label for sitagliptin is indexed." in answer.gaps
    assert SourceKind.LABEL not in {s.kind for s in answer.sections}  # not metformin's label
    with_label = engine.ask("How should metformin be dosed when eGFR is reduced?")
    assert SourceKind.LABEL in {s.kind for s in with_label.sections}


def test_sections_without_evidence_are_omitted_with_a_gap(engine: AnswerEngine) -> None:
    answer = engine.ask(
        "What are the adverse reactions of apixaban?", kinds=(SourceKind.LABEL, SourceKind.RESEARCH)
    )
    kinds = {s.kind for s in answer.sections}
    assert SourceKind.LABEL in kinds and SourceKind.GUIDELINE not in kinds
    if SourceKind.RESEARCH not in kinds:
        assert any("research abstract" in g for g in answer.gaps)


def test_empty_question_is_refused(engine: AnswerEngine) -> None:
    with pytest.raises(EmptyQuestionError):
        engine.ask("   ")
