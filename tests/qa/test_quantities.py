"""The patient's number and the band that applies to it (table rows, gestational weeks)."""

from __future__ import annotations

from guideqa.qa.quantities import Quantity, number_fit, question_quantities


def test_numbers_with_units_are_read_from_questions() -> None:
    assert question_quantities("Neurontin at a creatinine clearance of 20 mL/min?") == (
        Quantity(20.0, "ml/min"),
    )
    assert question_quantities("a 9-year-old who weighs 25 kg") == (
        Quantity(9.0, "years"),
        Quantity(25.0, "kg"),
    )
    assert question_quantities("What is the dose of metformin?") == ()


def test_the_band_covering_the_number_fits_and_other_bands_do_not() -> None:
    crcl = question_quantities("CrCl of 20 mL/min")
    row = "Creatinine Clearance (mL/min): >15 to 29; Total Daily Dose Range (mg/day): 200 to 700"
    other = "Creatinine Clearance (mL/min): ≥ 60; Total Daily Dose Range (mg/day): 900 to 3600"
    assert number_fit(crcl, row) == 1.0
    assert number_fit(crcl, other) == -1.0
    weeks = question_quantities("22 weeks pregnant")
    limit = "limit use between about 20 and 30 weeks of gestation"
    assert number_fit(weeks, limit) == 1.0
    assert number_fit(weeks, "avoid use at about 30 weeks of gestation or later") == -1.0
    assert number_fit(weeks, "NSAIDs can cause fetal renal dysfunction") == 0.0


def test_every_number_of_the_question_must_fall_in_its_band() -> None:
    child = question_quantities("a 9-year-old who weighs 25 kg")
    lighter = "Pediatric Patients (4 to 17 years): 15 kg (33 lbs) to <30 kg (66 lbs); Dose: 20 mg"
    heavier = "Pediatric Patients (4 to 17 years): ≥30 kg (66 lbs); Dose: 40 mg every other week"
    assert number_fit(child, lighter) == 1.0
    assert number_fit(child, heavier) == -1.0
