"""Statement units: lists stay with their introduction, strength tags stay attached, table rows
are units, and fragments, boilerplate and methods are refused (real passages from the corpus)."""

from __future__ import annotations

import pytest

from guideqa.ingest.models import SectionRole, SourceKind
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.units import UnitKind, build_units, looks_like_table_fragment
from tests.qa.fakes import make_hit

# VA/DoD major depressive disorder guideline (ngc-10991), Major Recommendations, verbatim.
MDD = (
    "- As first-line treatment for uncomplicated mild to moderate MDD, the Work Group recommends "
    "offering one of the following treatments based on patient preference:\n"
    "- Evidence-based psychotherapy:\n"
    "- Cognitive behavioral therapy (CBT)\n"
    "- Evidence-based pharmacotherapy:\n"
    "- Selective serotonin reuptake inhibitor (except fluvoxamine) (SSRIs)\n"
    "- Mirtazapine\n"
    "- Bupropion\n"
    "(Strong For; Reviewed, New-replaced)\n"
    "- For patients with MDD, the Work Group suggests offering patient education on the benefits "
    "of exercise as an adjunct to other evidence-based treatments. (Weak For; Reviewed, Amended)"
)


@pytest.fixture(scope="module")
def knowledge() -> ClinicalKnowledge:
    return ClinicalKnowledge.load()


def test_a_recommendation_keeps_its_list_and_its_strength(knowledge: ClinicalKnowledge) -> None:
    hit = make_hit(MDD, kind=SourceKind.GUIDELINE, role=SectionRole.RECOMMENDATION)
    units, _ = build_units(hit, knowledge)
    first, second = units
    assert first.kind is UnitKind.LIST
    assert first.item_texts()[-2:] == ("Mirtazapine", "Bupropion")
    assert first.text.endswith("(Strong For; Reviewed, New-replaced)")
    assert first.text in hit.text  # still verbatim, one quote
    assert "Bupropion" in first.inline() and first.lead.endswith("patient preference:")
    assert second.text.endswith("(Weak For; Reviewed, Amended)")


def test_a_list_cut_off_by_the_passage_is_not_quoted_alone(knowledge: ClinicalKnowledge) -> None:
    text = "The following drugs interact with metformin and require monitoring of glucose:"
    _, refused = build_units(make_hit(text), knowledge)
    assert refused[0].reason.startswith("introduces a list")


def test_table_rows_are_units_with_their_headers(knowledge: ClinicalKnowledge) -> None:
    row = (
        "Pediatric Patients (4 to 17 years): 15 kg (33 lbs) to <30 kg (66 lbs); "
        "Dose: 20 mg every other week"
    )
    text = f"Limited data are available for patients below 15 kg.\n{row}"
    start = text.index(row)
    hit = make_hit(text, table_rows=((start, start + len(row)),))
    units, _ = build_units(hit, knowledge)
    rows = [u for u in units if u.kind is UnitKind.TABLE_ROW]
    assert [u.text for u in rows] == [row]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # Relistor and Entereg partial labels: how a trial was run, not what it found
        (
            "The safety of RELISTOR was evaluated in a double-blind, placebo-controlled trial in "
            "adult patients with opioid-induced constipation and chronic non-cancer pain.",
            "boilerplate",
        ),
        (
            "Tramadol hydrochloride extended-release tablet was administered to a total of 3108 "
            "patients during studies conducted in the U.S.",
            "boilerplate",
        ),
        ("Insulin Glargine (26 Weeks) N = 281 N = 285 Total", "a flattened table fragment"),
        (
            "Monoamine Oxidase Inhibitors (MAOIs): ( 2.9 , 2.10 , 4.1 , 5.2 ) Drugs Metabolized "
            "by CYP2D6: ( 7.7 ) Tricyclic Antidepressants (TCAs): Monitor TCA levels.",
            "a summary line of label cross-references",
        ),
        (
            "WARNING: LACTIC ACIDOSIS See full prescribing information for complete boxed warning.",
            "boilerplate",
        ),
    ],
)
def test_fragments_and_boilerplate_are_not_units(
    text: str, reason: str, knowledge: ClinicalKnowledge
) -> None:
    units, refused = build_units(make_hit(text), knowledge)
    assert not units and refused[0].reason.startswith(reason)


def test_research_methods_are_not_findings(knowledge: ClinicalKnowledge) -> None:
    text = "All patients were pretreated for 2 weeks before surgery with placebo or ibuprofen."
    hit = make_hit(text, kind=SourceKind.RESEARCH, role=SectionRole.METHODS)
    units, refused = build_units(hit, knowledge)
    assert not units and "methods" in refused[0].reason


def test_statements_with_numbers_stay() -> None:
    assert not looks_like_table_fragment(
        "The recommended starting dose of metformin hydrochloride tablets is 500 mg orally "
        "twice a day or 850 mg once a day, given with meals."
    )
    assert looks_like_table_fragment("Hemoglobin decreased 68 6 0.6 40 0.8 0.4")
