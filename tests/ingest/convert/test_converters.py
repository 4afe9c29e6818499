"""Corpus converters on small real samples; their output must load with our loaders."""

from __future__ import annotations

import json
from pathlib import Path

from guideqa.ingest.convert.nci_pdq import pdq_to_markdown
from guideqa.ingest.convert.ngc import ngc_to_markdown
from guideqa.ingest.convert.tac2017 import group_sections, label_to_markdown
from guideqa.ingest.convert.uspstf import group_by_topic, topic_to_markdown
from guideqa.ingest.loaders import load_file
from guideqa.ingest.models import SourceKind


def _load_markdown(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    path = tmp_path / "doc.md"
    path.write_text(text, encoding="utf-8")
    [doc] = load_file(path)
    return doc


def test_ngc_summary_keeps_recommendations_with_grades(tmp_path: Path, data_dir: Path) -> None:
    xml = (data_dir / "convert" / "ngc-10953.xml").read_bytes()
    markdown, _ = ngc_to_markdown(xml, "ngc-10953")
    doc = _load_markdown(tmp_path, markdown)
    assert doc.doc_id == "ngc-10953" and doc.year == 2016
    assert doc.issuer == "Centers for Disease Control and Prevention"
    recs = next(s for s in doc.sections if s.heading == "Major Recommendations")
    assert "≥90 MME/day" in recs.text  # HTML entities decoded once, not stripped
    assert "(recommendation category: A, evidence type: 3)" in recs.text
    headings = {s.heading for s in doc.sections}
    assert "Financial Disclosures/Conflicts of Interest" not in headings
    assert "NGC Disclaimer" not in headings


def test_uspstf_topic_keeps_grade_and_population(tmp_path: Path, data_dir: Path) -> None:
    data = json.loads((data_dir / "convert" / "uspstf_osteoporosis.json").read_text())
    [(topic, records)] = group_by_topic(data["specificRecommendations"]).items()
    doc = _load_markdown(tmp_path, topic_to_markdown(topic, records)[0])
    assert doc.doc_id == "uspstf-osteoporosis-to-prevent-fractures-screening"
    women = next(s for s in doc.sections if s.heading == "Women 65 years and older (Grade B)")
    assert (
        "The USPSTF recommends screening for osteoporosis with bone measurement testing"
        in women.text
    )
    assert any(s.heading == "Men (Grade I)" for s in doc.sections)


def test_nci_pdq_drops_navigation_and_permission_sections(tmp_path: Path, data_dir: Path) -> None:
    source = data_dir / "convert" / "types-testicular-hp-testicular-screening-pdq.md"
    markdown, _ = pdq_to_markdown(source.read_text(), source.name)
    doc = _load_markdown(tmp_path, markdown)
    assert doc.doc_id == "nci-pdq-testicular-screening" and doc.date is not None
    headings = {s.heading for s in doc.sections}
    assert "Permission to Use This Summary" not in headings and "References" not in headings
    assert "](" not in markdown and "Go to Patient Version" not in markdown


def test_tac_partial_label(tmp_path: Path, data_dir: Path) -> None:
    records = json.loads((data_dir / "convert" / "tac2017_prolia.json").read_text())
    [(brand, sections)] = group_sections(records).items()
    doc = _load_markdown(tmp_path, label_to_markdown(brand, sections)[0])
    assert doc.kind is SourceKind.LABEL and doc.partial and doc.drug_names == ("Prolia",)
    assert any(s.heading == "6 Adverse Reactions" for s in doc.sections)
