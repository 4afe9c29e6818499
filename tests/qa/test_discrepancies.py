"""Where sources differ, on real passages: flagged on real disagreements, never on look-alikes,
never through a superseded version; populations and ages kept apart; the block composed,
cited and rendered."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from guideqa.index.models import Hit
from guideqa.ingest.models import Population, SourceKind
from guideqa.qa.compose import CompositionInput, ExtractiveComposer
from guideqa.qa.discrepancies import DiscrepancyFinder, FoundDiscrepancy, Patient
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.measures import MeasureBook
from guideqa.qa.models import Answer, Intent
from guideqa.qa.render import render_markdown
from guideqa.qa.settings import DiscrepancySettings
from guideqa.qa.units import Unit, build_units
from tests.qa.fakes import FakeSource, make_hit

CASES = yaml.safe_load(
    (Path(__file__).parents[1] / "data" / "discrepancies" / "cases.yaml").read_text()
)
DRUGS = (
    "acetaminophen",
    "atorvastatin",
    "ibuprofen",
    "aspirin",
    "prednisone",
    "tramadol",
    "tamsulosin",
)
# CDC 2016 (ngc-10953), superseded by CDC 2022: verbatim from its Major Recommendations
CDC_2016 = (
    "Clinicians should use caution when prescribing opioids at any dosage, should carefully "
    "reassess evidence of individual benefits and risks when considering increasing dosage to "
    "≥50 morphine milligram equivalents (MME)/day, and should avoid increasing dosage to ≥90 "
    "MME/day or carefully justify a decision to titrate dosage to ≥90 MME/day."
)


@pytest.fixture(scope="module")
def knowledge() -> ClinicalKnowledge:
    return ClinicalKnowledge.load()


@pytest.fixture(scope="module")
def book() -> MeasureBook:
    return MeasureBook.load()


def drugs_in(text: str) -> tuple[str, ...]:
    return tuple(d for d in DRUGS if d in text.lower())


def side_hit(side: dict[str, object], chunk: int = 0) -> Hit:
    kind = SourceKind(str(side["kind"]))
    label = kind is SourceKind.LABEL
    population = side.get("population")
    return make_hit(
        str(side["quote"]),
        kind=kind,
        doc_id=str(side["doc_id"]),
        title=str(side["title"]),
        issuer=str(side["issuer"]),
        year=side["year"],  # type: ignore[arg-type]
        section=str(side.get("section") or ("Dosage" if label else "Major Recommendations")),
        role=None,
        population=Population(str(population)) if population else None,
        drugs=tuple(side.get("drugs") or ()),  # type: ignore[arg-type]
        chunk=chunk,
    )


def compose(knowledge: ClinicalKnowledge, found: list[FoundDiscrepancy]) -> Answer:
    """An answer made of nothing but the discrepancy block."""
    request = CompositionInput(
        question="q",
        interpreted_question="q",
        intent=Intent.GENERAL,
        drugs=(),
        evidence={},
        summary_evidence=[],
        gaps=(),
        abstained=False,
        abstention_message="",
        discrepancies=found,
    )
    return ExtractiveComposer(knowledge).compose(request)


def finder(
    book: MeasureBook, knowledge: ClinicalKnowledge, superseded: frozenset[str] = frozenset()
) -> DiscrepancyFinder:
    return DiscrepancyFinder(book, knowledge, DiscrepancySettings(), superseded, drugs_in)


def units_of(hit: Hit, knowledge: ClinicalKnowledge) -> list[Unit]:
    return build_units(hit, knowledge)[0]


def find(
    book: MeasureBook,
    knowledge: ClinicalKnowledge,
    question: str,
    hits: list[Hit],
    superseded: frozenset[str] = frozenset(),
) -> list[FoundDiscrepancy]:
    """The first passage is the answer's evidence; the others are found by the search."""
    patient = Patient.of(question, (), book)
    seeds = units_of(hits[0], knowledge)
    return finder(book, knowledge, superseded).find(FakeSource(hits), seeds, patient)


@pytest.mark.parametrize("case", [c for c in CASES if "differ" in c], ids=lambda c: c["id"])
def test_real_disagreements_are_flagged(
    case: dict[str, object], book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    sides = case["sides"]
    hits = [side_hit(s, i) for i, s in enumerate(sides)]  # type: ignore[arg-type]
    [row] = find(book, knowledge, str(case["question"]), hits)
    assert row.measure.name == case["differ"]
    assert {v.hit.doc_id for v in row.values} == {s["doc_id"] for s in sides}  # type: ignore[index,union-attr]
    values = list(row.values)
    measure = row.measure
    assert not values[0].quantity.agrees(
        values[1].quantity, measure.compare, measure.tolerance, measure.bound is None
    )
    for value in values:  # every value is verbatim from its statement
        assert value.quantity.text in value.unit.text


@pytest.mark.parametrize("case", [c for c in CASES if "differ" not in c], ids=lambda c: c["id"])
def test_look_alikes_are_not_flagged(
    case: dict[str, object], book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    hits = [side_hit(s, i) for i, s in enumerate(case["sides"])]  # type: ignore[arg-type]
    assert find(book, knowledge, str(case["question"]), hits) == []
    # nor with the other side as the answer's evidence
    assert find(book, knowledge, str(case["question"]), hits[::-1]) == []


def _case(case_id: str) -> dict[str, object]:
    return next(c for c in CASES if c["id"] == case_id)


def test_a_superseded_version_never_makes_a_discrepancy(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    washington = side_hit(_case("R2")["sides"][0])  # type: ignore[index]
    cdc_2016 = make_hit(
        CDC_2016,
        kind=SourceKind.GUIDELINE,
        doc_id="ngc-10953",
        title="CDC guideline for prescribing opioids for chronic pain — United States, 2016",
        year=2016,
        role=None,
        chunk=1,
    )
    question = "Above what daily morphine equivalent dose should opioids not be increased?"
    # 120 vs (50 and 90): they differ while CDC 2016 counts as current
    assert find(book, knowledge, question, [washington, cdc_2016])
    assert find(book, knowledge, question, [washington, cdc_2016], frozenset({"ngc-10953"})) == []
    assert find(book, knowledge, question, [cdc_2016, washington], frozenset({"ngc-10953"})) == []


def test_a_superseded_version_is_left_out_of_a_row(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    va, washington = (side_hit(s, i) for i, s in enumerate(_case("R2")["sides"]))  # type: ignore[arg-type]
    cdc_2016 = make_hit(CDC_2016, kind=SourceKind.GUIDELINE, doc_id="ngc-10953", role=None)
    question = "Above what daily morphine equivalent dose should opioids not be increased?"
    [row] = find(book, knowledge, question, [va, washington, cdc_2016], frozenset({"ngc-10953"}))
    assert {v.hit.doc_id for v in row.values} == {"ngc-9597", "ngc-11178"}


def test_a_subgroup_value_is_compared_only_for_that_subgroup(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    hits = [side_hit(s, i) for i, s in enumerate(_case("R6")["sides"])]  # type: ignore[arg-type]
    # the CKD guideline's goal applies to a patient with CKD, not to every hypertensive adult
    assert find(book, knowledge, "What blood pressure goal for a 55-year-old with CKD?", hits)
    assert find(book, knowledge, "What blood pressure goal for a 55-year-old?", hits) == []


def test_values_for_other_ages_are_not_compared(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    hits = [side_hit(s, i) for i, s in enumerate(_case("R9")["sides"])]  # type: ignore[arg-type]
    # USPSTF's 3-5 years is for adults aged 18 to 39
    assert find(
        book, knowledge, "How often should a 30-year-old be screened for high blood pressure?", hits
    )
    assert (
        find(
            book,
            knowledge,
            "How often should a 45-year-old be screened for high blood pressure?",
            hits,
        )
        == []
    )


def test_pediatric_and_adult_values_are_not_compared(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    # the same BP goal sentence, once in a pediatric section: not a discrepancy with adults'
    adult, _ = (side_hit(s, i) for i, s in enumerate(_case("R6")["sides"]))  # type: ignore[arg-type]
    child = make_hit(
        "In children with hypertension, the panel recommends that blood pressure targets should "
        "be less than 120/80 mmHg.",
        kind=SourceKind.GUIDELINE,
        doc_id="pediatric-guideline",
        title="Pediatric hypertension guideline",
        role=None,
        chunk=3,
    )
    assert (
        find(book, knowledge, "What blood pressure goal for a 55-year-old?", [adult, child]) == []
    )
    assert find(book, knowledge, "What blood pressure goal for children?", [child, adult]) == []


def test_nothing_is_compared_when_switched_off(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    hits = [side_hit(s, i) for i, s in enumerate(_case("R13")["sides"])]  # type: ignore[arg-type]
    off = DiscrepancyFinder(
        book, knowledge, DiscrepancySettings(enabled=False), frozenset(), drugs_in
    )
    patient = Patient.of(str(_case("R13")["question"]), (), book)
    assert off.find(FakeSource(hits), units_of(hits[0], knowledge), patient) == []


def test_the_block_is_cited_and_rendered(book: MeasureBook, knowledge: ClinicalKnowledge) -> None:
    case = _case("R13")
    hits = [side_hit(s, i) for i, s in enumerate(case["sides"])]  # type: ignore[arg-type]
    found = find(book, knowledge, str(case["question"]), hits)
    answer = compose(knowledge, found)
    [block] = answer.discrepancies
    assert block.quantity == "low-dose aspirin for preeclampsia prevention"
    by_n = {c.n: c for c in answer.references}
    for value in block.values:
        cited = by_n[value.citation]
        assert cited.doc_id == value.doc_id and value.value in cited.passage
    assert [v.value for v in block.values] == ["81 mg/d", "100-150 mg daily"]
    assert [v.source for v in block.values] == ["USPSTF", "VA/DoD 2018"]
    markdown = render_markdown(answer)
    assert "**Where sources differ: low-dose aspirin for preeclampsia prevention**" in markdown
    assert "| USPSTF [1] | 81 mg/d | high risk, pregnancy, women | guideline | - |" in markdown
    assert "| VA/DoD 2018 [2] | 100-150 mg daily |" in markdown
    # JSON carries it too
    assert answer.model_dump(mode="json")["discrepancies"][0]["values"][1]["low"] == 100.0


def test_a_pregnancy_question_takes_values_stated_for_women(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    hits = [side_hit(s, i) for i, s in enumerate(_case("R13")["sides"])]  # type: ignore[arg-type]
    question = "Which aspirin dose prevents preeclampsia in a high-risk pregnancy?"
    [row] = find(book, knowledge, question, hits)  # 'in women ...' applies to a pregnancy
    assert len(row.values) == 2


def test_a_measure_the_question_is_not_about_is_not_compared(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    case = _case("R2")
    hits = [side_hit(s, i) for i, s in enumerate(case["sides"])]  # type: ignore[arg-type]
    source = FakeSource(hits)
    seeds = units_of(hits[0], knowledge)
    differ = finder(book, knowledge)
    asked = str(case["question"])
    follow_up = "I'm starting hydrocodone for knee pain. How soon should I see her back?"
    assert differ.find(source, seeds, Patient.of(asked, (), book), asked)
    assert differ.find(source, seeds, Patient.of(follow_up, (), book), follow_up) == []


def test_a_direction_row_reads_for_and_against(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    case = _case("D2")
    hits = [side_hit(s, i) for i, s in enumerate(case["sides"])]  # type: ignore[arg-type]
    [row] = find(book, knowledge, str(case["question"]), hits)
    by_doc = {v.hit.doc_id: v.quantity for v in row.values}
    assert by_doc["ngc-10536"].normalised == "for"
    assert by_doc["cdc-opioid-prescribing-2022"].normalised == "against"
    assert by_doc["cdc-opioid-prescribing-2022"].text == "no longer considered"
    markdown = render_markdown(compose(knowledge, [row]))
    assert "| for (should consider) |" in markdown
    assert "| against (no longer considered) |" in markdown


def _goal(doc: str, sentence: str, chunk: int) -> Hit:
    return make_hit(
        sentence,
        kind=SourceKind.GUIDELINE,
        doc_id=doc,
        title=f"{doc} hypertension guideline",
        role=None,
        chunk=chunk,
    )


def test_a_row_always_shows_the_sources_that_disagree(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    agreeing = [
        _goal(f"agree-{i}", "The panel recommends a blood pressure goal of <140 mmHg.", i)
        for i in range(4)
    ]
    other = _goal("differ", "The panel recommends a blood pressure goal of <150 mmHg.", 9)
    [row] = find(book, knowledge, "What blood pressure goal?", [*agreeing, other])
    assert len(row.values) == 4 and "differ" in {v.hit.doc_id for v in row.values}


def test_every_value_of_a_source_is_compared(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    many = _goal(
        "many",
        "The goal is <150 mmHg in older adults, <140 mmHg in most adults, or <130 mmHg if "
        "tolerated.",
        0,
    )
    one = _goal("one", "The panel recommends a blood pressure goal of <130 mmHg.", 1)
    assert find(book, knowledge, "What blood pressure goal?", [many, one]) == []


def test_a_sentence_naming_two_drugs_gives_no_per_drug_value(
    book: MeasureBook, knowledge: ClinicalKnowledge
) -> None:
    both = make_hit(
        "Unlike aspirin, ibuprofen should not exceed a maximum of 1200 mg daily without advice.",
        kind=SourceKind.GUIDELINE,
        doc_id="two-drugs",
        title="Pain guideline",
        role=None,
    )
    label = make_hit(
        "Do not exceed 3200 mg total daily dose.",
        doc_id="label-ibuprofen",
        title="Ibuprofen label",
        drugs=("Ibuprofen",),
        chunk=1,
    )
    assert find(book, knowledge, "What is the maximum daily dose?", [both, label]) == []
