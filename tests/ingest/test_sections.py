"""Section roles and populations from LOINC codes, label numbers and headings; table rows with
their headers; list blocks kept whole by the chunker."""

from __future__ import annotations

from pathlib import Path

import pytest

from guideqa.ingest.chunking import protect_lists
from guideqa.ingest.convert.ngc import version_date
from guideqa.ingest.loaders import load_file
from guideqa.ingest.models import Document, Population, Section, SectionRole, SourceKind
from guideqa.ingest.sections import KnowledgeFileError, SectionKnowledge, assign_roles
from guideqa.ingest.tables import Cell, build_table, html_tables, render_rows, with_table_rows


@pytest.fixture(scope="module")
def knowledge() -> SectionKnowledge:
    return SectionKnowledge.load()


def _label(*sections: Section) -> Document:
    return Document(
        doc_id="label-x",
        kind=SourceKind.LABEL,
        title="X label",
        source_path="x",
        content_hash="x",
        sections=sections,
    )


def test_roles_come_from_codes_numbers_and_headings(knowledge: SectionKnowledge) -> None:
    doc = assign_roles(
        _label(
            Section(heading="Boxed Warning", text="t", code="34066-1"),
            Section(
                heading="Dosage Adjustment in Patients with Renal Impairment",
                text="t",
                number="2.3",
                path=("2 Dosage", "2.3 Dosage Adjustment"),
            ),
            Section(heading="Renal Impairment", text="t", number="8.6", code="42229-5"),
            Section(heading="Nursing Mothers", text="t", number="8.3"),
            Section(heading="Keep Out of Reach of Children", text="t"),
            Section(heading="Clinical Trials Experience", text="t", number="6.1"),
        ),
        knowledge,
    )
    roles = [(s.role, s.population) for s in doc.sections]
    assert roles == [
        (SectionRole.BOXED_WARNING, None),
        (SectionRole.DOSAGE, Population.RENAL_IMPAIRMENT),
        (SectionRole.SPECIFIC_POPULATIONS, Population.RENAL_IMPAIRMENT),
        (SectionRole.SPECIFIC_POPULATIONS, Population.LACTATION),  # by heading, not by 8.3
        (SectionRole.OTC_WARNINGS, None),  # an OTC heading, not a pediatric section
        (SectionRole.ADVERSE_REACTIONS, None),  # by number: 6
    ]


def test_guideline_grades_are_typed(knowledge: SectionKnowledge) -> None:
    doc = Document(
        doc_id="uspstf-x",
        kind=SourceKind.GUIDELINE,
        title="t",
        source_path="x",
        content_hash="x",
        sections=(Section(heading="Women 65 years or older (Grade B)", text="t"),),
    )
    [section] = assign_roles(doc, knowledge).sections
    assert (section.grade, section.role, section.population) == (
        "B",
        SectionRole.RECOMMENDATION,
        Population.WOMEN,
    )


def test_a_named_section_is_not_also_its_shorter_cue(knowledge: SectionKnowledge) -> None:
    assert knowledge.roles_named("boxed warning serious infections") == (SectionRole.BOXED_WARNING,)


def test_a_broken_knowledge_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "roles.yaml"
    path.write_text("loinc: {'34066-1': {role: not-a-role}}\nlabel_numbers: {}\n")
    with pytest.raises(KnowledgeFileError, match=r"roles\.yaml"):
        SectionKnowledge.load(path)


def test_spl_labels_carry_roles_and_structured_table_rows(data_dir: Path) -> None:
    [doc] = load_file(data_dir / "spl" / "haloperidol.xml")
    assert doc.sections[0].role is SectionRole.BOXED_WARNING
    assert all(s.role is not None for s in doc.sections)


def test_html_tables_keep_headers_and_rowspans() -> None:
    html = (
        "<table><thead><tr><th>Creatinine Clearance (mL/min)</th><th>Total Daily Dose"
        "</th></tr></thead><tbody><tr><td>&gt;15 to 29</td><td>200 to 700</td></tr>"
        "</tbody></table>"
    )
    [table] = html_tables(html)
    assert render_rows(table) == [
        "Creatinine Clearance (mL/min): >15 to 29; Total Daily Dose: 200 to 700"
    ]
    text, spans = with_table_rows("Adjust for renal function.", [table])
    assert [text[a:b] for a, b in spans] == render_rows(table)


def test_a_bold_first_row_is_a_header_only_above_plain_rows() -> None:
    # the acetaminophen Drug Facts table: bold row labels, no header row
    rows = [
        [Cell("adults", bold=True), Cell("take 2 caplets every 8 hours")],
        [Cell("under 18 years of age", bold=True), Cell("ask a doctor")],
    ]
    assert render_rows(build_table(None, rows)) == [
        "adults: take 2 caplets every 8 hours",
        "under 18 years of age: ask a doctor",
    ]


def test_openfda_table_fields_become_rows(data_dir: Path) -> None:
    [doc] = load_file(data_dir / "openfda" / "acetaminophen_otc_raw.json")
    rows = [s.text[a:b] for s in doc.sections for a, b in s.table_rows]
    assert any(r.startswith("adults") and "6 caplets in 24 hours" in r for r in rows)


def test_the_chunker_keeps_a_list_with_its_introduction() -> None:
    text = "Intro.\nOffer one of the following:\n- SSRIs\n- Bupropion\nNext paragraph."
    protected = protect_lists(text)
    assert len(protected) == len(text)  # offsets hold
    assert "\n- " not in protected and protected.endswith("\nNext paragraph.")


def test_ngc_dates_are_those_of_the_revision_summarised() -> None:
    assert str(version_date("2001 Dec (revised 2014 Dec)")) == "2014-12-01"
    assert str(version_date("1989 (revised 2014 Jun 27)")) == "2014-06-27"
    assert str(version_date("2016 Mar 18")) == "2016-03-18"
