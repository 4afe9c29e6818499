"""The clinical knowledge files load, validate, and refuse what is malformed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from guideqa.ingest.sections import KnowledgeFileError
from guideqa.qa.knowledge import DATA_DIR, ClinicalKnowledge
from guideqa.qa.models import Intent

CORPUS = Path(__file__).resolve().parents[2] / "corpus"


def test_the_shipped_files_load_and_every_intent_has_cues() -> None:
    knowledge = ClinicalKnowledge.load()
    assert {rule.intent for rule in knowledge.intents} == set(Intent) - {Intent.GENERAL}
    assert all(rule.cues for rule in knowledge.intents)
    assert "first-line" in knowledge.generic_words and "options" in knowledge.generic_words
    assert knowledge.issuer_short("U.S. Preventive Services Task Force") == "USPSTF"


def test_a_malformed_file_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "data"
    shutil.copytree(DATA_DIR, copy)
    text = (copy / "knowledge.yaml").read_text().replace("intent: renal", "intent: kidneys")
    (copy / "knowledge.yaml").write_text(text)
    with pytest.raises(KnowledgeFileError, match=r"knowledge\.yaml"):
        ClinicalKnowledge.load(copy)


def test_every_drug_class_is_named_by_an_indexed_label() -> None:
    """The class lexicon holds the classes the shipped labels refer to, nothing invented."""
    records = json.loads((CORPUS / "labels/openfda/drug_labels_common_44.json").read_text())
    texts = [
        v[0]
        for r in records["results"]
        for v in r.values()
        if isinstance(v, list) and v and isinstance(v[0], str)
    ]
    texts += [
        p.read_text("utf-8") for p in (CORPUS / "labels").rglob("*") if p.suffix in {".md", ".xml"}
    ]
    corpus = "\n".join(texts).lower()
    for drug_class in ClinicalKnowledge.load().drug_classes:
        named = any(
            re.search(rf"(?<![\w-]){re.escape(alias.lower())}(?![\w-])", corpus)
            for alias in drug_class.aliases
        )
        assert named, drug_class.name
