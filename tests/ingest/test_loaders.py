"""Loaders on real sample files: metadata, section labels, pages and typed errors."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from guideqa.ingest.errors import CorruptFileError, EmptyDocumentError, UnsupportedFormatError
from guideqa.ingest.loaders import load_file, load_paths
from guideqa.ingest.models import SourceKind


def test_pdf_keeps_pages_and_strips_running_headers(data_dir: Path) -> None:
    [doc] = load_file(data_dir / "pdf" / "cdc_opioid_2022_pages19-24.pdf")
    assert doc.kind is SourceKind.GUIDELINE
    assert doc.title.startswith("CDC Clinical Practice Guideline for Prescribing Opioids")
    text = " ".join(s.text for s in doc.sections)
    assert "MMWR / November 4, 2022" not in text
    assert "US Department of Health and Human Services/Centers" not in text
    headings = [s.heading for s in doc.sections]
    assert "Recommendation 1" in headings
    rec1 = doc.sections[headings.index("Recommendation 1")]
    assert "Nonopioid therapies are at least as effective as opioids" in rec1.text
    assert rec1.page_start == 1  # the first page of this 6-page excerpt
    assert doc.sections[-1].page_end == 6
    assert all(s.page_start is not None for s in doc.sections)


def test_pdf_sidecar_metadata_wins(tmp_path: Path, data_dir: Path) -> None:
    pdf = tmp_path / "opioids.pdf"
    pdf.write_bytes((data_dir / "pdf" / "cdc_opioid_2022_pages19-24.pdf").read_bytes())
    (tmp_path / "opioids.pdf.meta.yaml").write_text(
        "id: cdc-opioids-2022\ntitle: CDC opioid guideline\nissuer: CDC\ndate: 2022-11-04\n"
        "supersedes: cdc-opioids-2016\n"
    )
    [doc] = load_file(pdf)
    assert (doc.doc_id, doc.issuer, doc.year) == ("cdc-opioids-2022", "CDC", 2022)
    assert doc.supersedes == ("cdc-opioids-2016",)


def test_openfda_results_file_keeps_spl_numbering_and_metadata(data_dir: Path) -> None:
    docs = load_file(data_dir / "openfda" / "labels_results.json")
    assert len(docs) == 3
    metformin = next(d for d in docs if "Metformin" in d.title)
    assert metformin.drug_names == ("Metformin Hydrochloride", "Glucophage")
    assert metformin.identifier == "073cf6d9-7142-4d8b-898e-174c62a1f76f"
    assert metformin.date == dt.date(2026, 8, 21)
    assert metformin.issuer == "REMEDYREPACK INC."
    by_number = {s.number: s for s in metformin.sections if s.number}
    renal = by_number["2.3"]
    assert renal.heading == "Recommendations for Use in Renal Impairment"
    assert renal.path == (
        "2 Dosage and Administration",
        "2.3 Recommendations for Use in Renal Impairment",
    )
    assert "(eGFR) below 30 mL/minute/1.73 m 2" in renal.text
    boxed = metformin.sections[0]
    assert boxed.heading == "Boxed Warning" and boxed.text.startswith("WARNING: LACTIC ACIDOSIS")
    # the openFDA `pregnancy` field repeats 8.1: it must appear once
    assert sum(1 for s in metformin.sections if s.number == "8.1") == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("apixaban_single.json", ["Apixaban"]),
        ("labels.jsonl", ["Sertraline Hydrochloride", "Ibuprofen"]),
        ("drug-label-0001-of-0001.json.zip", ["Amoxicillin", "Allopurinol"]),
        ("acetaminophen_otc_raw.json", ["ACETAMINOPHEN"]),
    ],
)
def test_openfda_layouts(data_dir: Path, name: str, expected: list[str]) -> None:
    docs = load_file(data_dir / "openfda" / name)
    assert [d.drug_names[0] for d in docs] == expected
    assert all(d.kind is SourceKind.LABEL and d.sections for d in docs)


def test_otc_drug_facts_sections_are_not_numbered(data_dir: Path) -> None:
    [doc] = load_file(data_dir / "openfda" / "acetaminophen_otc_raw.json")
    assert all(s.number is None for s in doc.sections)
    assert "Do Not Use" in [s.heading for s in doc.sections]


def test_spl_sections_by_loinc_with_boxed_warning(data_dir: Path) -> None:
    [doc] = load_file(data_dir / "spl" / "haloperidol.xml")
    assert doc.drug_names[0] == "haloperidol"
    assert doc.identifier and doc.url and doc.url.endswith(doc.identifier)
    boxed = doc.sections[0]
    assert (boxed.heading, boxed.code) == ("Boxed Warning", "34066-1")
    assert "Increased Mortality in Elderly Patients" in boxed.text
    tardive = next(s for s in doc.sections if s.heading == "Tardive Dyskinesia")
    assert tardive.path == ("WARNINGS", "Tardive Dyskinesia")


def test_spl_tables_keep_rows_with_their_headers(data_dir: Path) -> None:
    [doc] = load_file(data_dir / "spl" / "cough_otc.xml")
    directions = next(s for s in doc.sections if s.heading == "Directions")
    rows = [directions.text[a:b] for a, b in directions.table_rows]
    assert rows == [  # the dosing table: header row "Age | Dose", then one line per row
        "Age: children under 4 years of age; Dose: do not use",
        "Age: children 4 to under 6 years of age; Dose: do not use unless directed by a doctor",
        "Age: children 6 to under 12 years of age; Dose: 2 teaspoonfuls (10 mL)",
    ]
    assert "<" not in directions.text


@pytest.mark.parametrize(
    "name", ["efetch_sample.xml", "medline_sample.nbib", "pubmedqa_sample.json"]
)
def test_pubmed_formats(data_dir: Path, name: str) -> None:
    docs = load_file(data_dir / "pubmed" / name)
    assert docs and all(d.kind is SourceKind.RESEARCH for d in docs)
    for doc in docs:
        assert doc.doc_id == f"pmid-{doc.identifier.split(':')[1]}"  # type: ignore[union-attr]
        assert doc.year and doc.mesh_terms and doc.title
        assert doc.url == f"https://pubmed.ncbi.nlm.nih.gov/{doc.doc_id[5:]}/"


def test_pubmed_xml_abstract_sections(data_dir: Path) -> None:
    first = load_file(data_dir / "pubmed" / "efetch_sample.xml")[0]
    assert first.doc_id == "pmid-17208539" and first.year == 2007
    assert [s.heading for s in first.sections] == ["Purpose", "Methods", "Results", "Conclusions"]


def test_markdown_front_matter_and_heading_paths(data_dir: Path) -> None:
    [doc] = load_file(data_dir / "markdown" / "nci_lung_screening_excerpt.md")
    assert doc.doc_id == "nci-pdq-lung-screening-excerpt"
    assert doc.issuer == "National Cancer Institute" and doc.year == 2025
    harms = [s for s in doc.sections if s.heading == "False-positive exams"][-1]
    assert harms.path[-2:] == (
        "Screening by chest x-ray and/or sputum cytology: Harms",
        "False-positive exams",
    )
    assert "5% to 10% per exam" in harms.text


@pytest.mark.parametrize(
    ("name", "error", "reason"),
    [
        ("encrypted.pdf", CorruptFileError, "encrypted"),
        ("truncated.pdf", CorruptFileError, "not a readable PDF"),
        ("empty.json", EmptyDocumentError, "empty"),
        ("invalid.json", CorruptFileError, "invalid JSON"),
        ("invalid.xml", CorruptFileError, "invalid XML"),
        ("notes.docx", UnsupportedFormatError, "unsupported file type '.docx'"),
    ],
)
def test_broken_inputs_raise_typed_errors_naming_the_file(
    data_dir: Path, name: str, error: type[Exception], reason: str
) -> None:
    with pytest.raises(error) as caught:
        load_file(data_dir / "broken" / name)
    assert name in str(caught.value) and reason in str(caught.value)


def test_batch_load_reports_failures_and_continues(data_dir: Path) -> None:
    report = load_paths([data_dir / "broken", data_dir / "pubmed"])
    assert report.files_read == 9
    assert len(report.failures) == 6
    assert len(report.documents) == 6  # 2 efetch + 1 MEDLINE + 3 PubMedQA


def test_unsafe_xml_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text(
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        '<document xmlns="urn:hl7-org:v3"><title>&b;</title></document>'
    )
    with pytest.raises(CorruptFileError, match="unsafe XML refused"):
        load_file(bomb)
