"""Typed quantities: units normalised, comparators, population qualifiers, age bands, and the
measures file validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from guideqa.ingest.models import SourceKind
from guideqa.ingest.sections import KnowledgeFileError
from guideqa.qa.measures import DATA_DIR, MeasureBook
from guideqa.qa.models import Comparator
from guideqa.qa.patients import AgeBand, age_band, patient_age

GUIDELINE = SourceKind.GUIDELINE


@pytest.fixture(scope="module")
def book() -> MeasureBook:
    return MeasureBook.load()


def _only(book: MeasureBook, text: str, kind: SourceKind = GUIDELINE):  # type: ignore[no-untyped-def]
    values = book.values(text, kind)
    assert values, f"no value read from {text!r}"
    return values


def test_micrograms_and_milligrams_are_one_unit(book: MeasureBook) -> None:
    uspstf = _only(
        book,
        "The USPSTF recommends that all women who are planning or capable of pregnancy take a "
        "daily supplement containing 0.4 to 0.8 mg (400 to 800 μg) of folic acid.",
    )
    va = _only(
        book,
        "The Work Group recommends folic acid (at least 400 micrograms daily) to be taken "
        "starting one month before conception and continued throughout pregnancy.",
    )
    # '0.4 to 0.8 mg' and '400 to 800 μg' are the same range once normalised
    assert {(v.low, v.high, v.unit) for v in uspstf} == {(0.4, 0.8, "mg/day")}
    assert va[0].low == pytest.approx(0.4) and va[0].comparator is Comparator.GREATER
    assert uspstf[0].overlaps(va[0])


def test_grams_become_milligrams(book: MeasureBook) -> None:
    [value] = _only(
        book,
        "Do not exceed a maximum of 4 g per day of acetaminophen from all sources.",
    )
    assert (value.low, value.unit, value.comparator) == (4000.0, "mg/day", Comparator.LESS)


def test_ml_per_min_variants_are_one_unit(book: MeasureBook) -> None:
    per_area = _only(
        book,
        "Metformin hydrochloride tablets are contraindicated in patients with an estimated "
        "glomerular filtration rate (eGFR) below 30 mL/minute/1.73 m 2 .",
        SourceKind.LABEL,
    )
    plain = _only(
        book, "Contraindicated in patients with creatinine clearance less than 30 mL/min."
    )
    assert per_area[0].unit == plain[0].unit == "mL/min"
    assert per_area[0].low == plain[0].low == 30.0


def test_morphine_equivalent_spellings(book: MeasureBook) -> None:
    texts = {
        "The Work Group recommends against opioid doses over 90 mg morphine equivalent daily "
        "dose for treating chronic pain.": 90.0,
        "Consultation with a pain management specialist if the worker's dose is above 120 mg/d "
        "morphine equivalent dose (MED) and there is no CMIF.": 120.0,
        "Before increasing total opioid dosage to ≥50 MME/day, clinicians should pause.": 50.0,
        "Clinicians should avoid increasing dosage to ≥90 morphine milligram equivalents "
        "(MME)/day.": 90.0,
    }
    for text, number in texts.items():
        [value] = _only(book, text)
        assert (value.low, value.unit, value.comparator) == (number, "MME/day", Comparator.GREATER)


def test_a_threshold_is_only_a_bounded_number(book: MeasureBook) -> None:
    # a band of doses ('20-50') is not the threshold the statement sets ('over 90')
    text = (
        "Patients on 20-50 mg morphine equivalent daily dose need monitoring, and the Work "
        "Group recommends against doses over 90 mg morphine equivalent daily dose."
    )
    assert [v.low for v in book.values(text, GUIDELINE)] == [90.0]


def test_weekly_and_monthly_rates_are_compared_per_month(book: MeasureBook) -> None:
    [weekly] = _only(book, "A gradual taper of approximately 10% per week can be carried out.")
    [monthly] = _only(book, "Tapers of 10% per month or slower are likely to be better tolerated.")
    assert weekly.unit == monthly.unit == "% per month"
    assert weekly.low == pytest.approx(43.45) and monthly.comparator is Comparator.LESS
    assert not weekly.overlaps(monthly)


def test_frequencies_in_words_and_numbers(book: MeasureBook) -> None:
    annual = _only(book, "Refer patients for diabetic retinopathy screening annually.")
    biennial = _only(
        book, "The Work Group suggests screening for retinopathy at least every other year."
    )
    months = _only(book, "Screen for retinopathy with a dilated eye exam every 6 months.")
    both = _only(
        book, "For a normal dilated retinal examination, re-screen at 1 to 2 year intervals."
    )
    assert (annual[0].low, biennial[0].low, months[0].low) == (1.0, 2.0, pytest.approx(0.5))
    assert (both[0].low, both[0].high) == (1.0, 2.0)
    assert both[0].overlaps(biennial[0]) and not annual[0].overlaps(biennial[0])


def test_a_diastolic_goal_is_not_the_systolic_goal(book: MeasureBook) -> None:
    text = "The Work Group recommends treating to a diastolic blood pressure goal <90 mmHg."
    assert book.values(text, GUIDELINE) == []
    [value] = _only(book, "Blood pressure targets should be less than 140/90 mmHg.")
    assert (value.low, value.comparator) == (140.0, Comparator.LESS)


def test_context_and_kind_decide_the_measure(book: MeasureBook) -> None:
    # a number with the right unit but without the measure's words is no value of it
    assert book.values("The mean systolic pressure fell by 12 mmHg.", GUIDELINE) == []
    # research abstracts report study results, not recommendations
    text = "Blood pressure targets should be less than 140/90 mmHg."
    assert book.values(text, SourceKind.RESEARCH) == []


def test_qualifiers_skip_negations_and_examples(book: MeasureBook) -> None:
    text = (
        "Adults without a history of coronary artery disease with 1 or more risk factors "
        "(ie, dyslipidemia, diabetes, hypertension) and children"
    )
    assert book.qualifiers_in(text) == {"pediatric"}
    assert book.qualifiers_in("chronic non-cancer pain") == frozenset()
    assert book.qualifiers_in("adults with stage 3 CKD") == {"renal_impairment"}


def test_a_qualifier_implies_others(book: MeasureBook) -> None:
    # a question about a pregnancy is about a woman: values stated 'in women' apply
    assert book.with_implied(frozenset({"pregnancy"})) == {"pregnancy", "women"}
    assert book.with_implied(frozenset({"renal_impairment"})) == {"renal_impairment"}


def test_recommendation_directions(book: MeasureBook) -> None:
    where = "VA/DoD clinical practice guideline for the management of low back pain"
    against = book.values(
        "For patients with acute or chronic low back pain, the Work Group recommends against the "
        "use of systemic corticosteroids (oral or intramuscular injection).",
        GUIDELINE,
        where=where,
    )
    assert [(v.normalised, v.text) for v in against] == [("against", "recommends against")]
    # the same intervention for another indication (COPD) is not this decision
    copd = (
        "For acute COPD exacerbations, the guideline panel recommends a course of systemic "
        "corticosteroids (oral preferred) of 30-40 mg prednisone equivalent daily for 5-7 days."
    )
    assert book.values(copd, GUIDELINE, where="VA/DoD guideline for COPD") == []
    # the indication may be named only by the document's title
    first_line = "Clinicians should consider acetaminophen or oral NSAIDs as first line treatment."
    assert book.values(first_line, GUIDELINE) == []
    [value] = book.values(first_line, GUIDELINE, where="hip and knee osteoarthritis")
    assert (value.normalised, value.low) == ("for", 1.0)


def test_age_bands_and_patient_ages() -> None:
    assert age_band("Adults aged 18 to 39 years with normal blood pressure") == AgeBand(18, 39)
    assert age_band("For patients below 60 years of age") == AgeBand(0, 60, open_high=True)
    # 'below 60' and '60 and over' share no age; a life expectancy is no age band
    assert not AgeBand(0, 60, open_high=True).overlaps(AgeBand(60, float("inf")))
    assert AgeBand(0, 60).overlaps(AgeBand(60, float("inf")))
    assert age_band("for patients with a life expectancy less than 10 years") is None
    assert age_band("For patients 60 years and over") == AgeBand(60, float("inf"))
    assert age_band("Adults aged 40 years or older") == AgeBand(40, float("inf"))
    assert age_band("the 10-year risk of a cardiovascular event") is None
    assert patient_age("a 55-year-old with hypertension") == 55
    assert patient_age("What 10-year cardiovascular risk should prompt a statin?") is None


def _write_measures(tmp_path: Path, text: str) -> Path:
    (tmp_path / "measures.yaml").write_text(text)
    return tmp_path


def test_a_bad_measures_file_names_itself(tmp_path: Path) -> None:
    good = (DATA_DIR / "measures.yaml").read_text()
    with pytest.raises(KnowledgeFileError, match=r"measures\.yaml"):
        MeasureBook.load(_write_measures(tmp_path, good.replace("kind: dose", "kind: dosage", 1)))
    with pytest.raises(KnowledgeFileError, match="unknown units"):
        MeasureBook.load(_write_measures(tmp_path, good.replace("[mmhg]", "[mm_hg]")))
    with pytest.raises(KnowledgeFileError, match="one base unit"):
        MeasureBook.load(_write_measures(tmp_path, good.replace("[mmhg]", "[mmhg, percent]")))
    with pytest.raises(KnowledgeFileError, match="a direction has no units"):
        MeasureBook.load(_write_measures(tmp_path, good.replace("units: []", "units: [percent]")))
    with pytest.raises(KnowledgeFileError, match="unknown qualifiers"):
        MeasureBook.load(_write_measures(tmp_path, good.replace("[pediatric]", "[children]")))
    with pytest.raises(KnowledgeFileError, match="invalid pattern"):
        MeasureBook.load(_write_measures(tmp_path, good.replace("'\\btaper'", "'(taper'")))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "There is insufficient evidence to recommend for or against benzodiazepines for PTSD.",
            [],
        ),
        ("We do not recommend benzodiazepines for PTSD.", ["against"]),
        ("Clinicians cannot recommend benzodiazepines for PTSD.", ["against"]),
        ("Evidence suggests benzodiazepines worsen PTSD.", []),
        ("The Work Group recommends benzodiazepines for PTSD.", ["for"]),
        (
            "The Work Group recommends benzodiazepines for PTSD; opioids are not recommended.",
            ["for"],
        ),
    ],
)
def test_direction_wording(book: MeasureBook, text: str, expected: list[str]) -> None:
    values = book.values(text, GUIDELINE, where="VA/DoD guideline for PTSD")
    assert [v.normalised for v in values] == expected


def test_review_regressions(book: MeasureBook) -> None:
    # a subacute definition is not how long acute pain lasts
    subacute = (
        "Subacute pain is defined in this guideline as pain that has been present for 1-3 "
        "months, and acute pain as pain of shorter duration."
    )
    assert book.values(subacute, GUIDELINE) == []
    # 4 weeks and 1 month are the same bound for a definition (tolerance 10%)
    four_weeks = book.values("Acute pain is defined as lasting less than 4 weeks.", GUIDELINE)
    one_month = book.values("Acute pain is defined as a duration of <1 month.", GUIDELINE)
    assert four_weeks[0].agrees(one_month[0], "upper", 0.1)
    assert not four_weeks[0].agrees(one_month[0], "upper", 0.01)
    # 'non-pregnant' names no pregnancy; a negation in an earlier clause is not this one's
    assert "pregnancy" not in book.qualifiers_in("a goal for non-pregnant women")
    clause = "For adults without heart failure, who have chronic kidney disease, goal <130 mmHg"
    assert "renal_impairment" in book.qualifiers_in(clause)
    # a diastolic goal is not read as the systolic goal
    both = (
        "Treat to a diastolic blood pressure goal <90 mmHg and a systolic blood pressure goal "
        "of <150 mmHg."
    )
    assert [v.low for v in book.values(both, GUIDELINE)] == [150.0]
    # a maximum dose is the number after 'maximum', not the starting dose
    dose = "Start 500 mg daily; the maximum daily dose is 2,000 mg daily."
    assert [v.low for v in book.values(dose, SourceKind.LABEL)] == [2000.0]
    assert book.values("Do not exceed 1,5 mg daily.", SourceKind.LABEL) == []


def test_comparators_reach_where_no_bound_is_set(book: MeasureBook) -> None:
    [slow] = book.values("Tapers of 10% per month or slower are better tolerated.", GUIDELINE)
    [five] = book.values("A taper of 5% per month can be used.", GUIDELINE)
    assert slow.agrees(five) and not slow.agrees(five, reach=False)


def test_hostile_numbers_are_refused_quickly(book: MeasureBook) -> None:
    huge = "Do not exceed " + "9" * 400 + " mg daily."
    assert all(v.low < 1e8 for v in book.values(huge, SourceKind.LABEL))
    grouped = "Do not exceed 1" + ",000" * 2000 + " mg daily."
    assert all(v.low < 1e8 for v in book.values(grouped, SourceKind.LABEL))


def test_bad_comparators_fail_when_loaded(tmp_path: Path) -> None:
    good = (DATA_DIR / "measures.yaml").read_text()
    broken = good.replace("  less: '<|", "  less: '(<|", 1)
    with pytest.raises(KnowledgeFileError, match="invalid pattern"):
        MeasureBook.load(_write_measures(tmp_path, broken))
