"""`guideqa eval` end to end: BioASQ pool indexing (fake embedder) and the compare mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import guideqa.api.cli_eval  # noqa: F401  (registers the command)
from guideqa.api.cli import main
from guideqa.eval.bioasq import read_bioasq


def test_bioasq_reader_builds_one_document_per_pmid(data_dir: Path) -> None:
    questions, documents = read_bioasq(data_dir / "bioasq_tiny.jsonl")
    assert [q.id for q in questions] == ["tiny-1", "tiny-2", "tiny-3"]
    assert questions[2].gold_pmids == ("33333333", "44444444")
    assert sorted(d.doc_id for d in documents) == [
        "pmid-11111111",
        "pmid-22222222",
        "pmid-33333333",
        "pmid-44444444",
    ]


def test_bioasq_run_reports_retrieval_and_rouge(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUIDEQA_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("GUIDEQA_QA__MIN_PASSAGE_SIMILARITY", "0")
    monkeypatch.setenv("GUIDEQA_QA__MIN_RELEVANCE", "0.2")
    out = tmp_path / "report"
    result = CliRunner().invoke(
        main, ["eval", "--bioasq", str(data_dir / "bioasq_tiny.jsonl"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    [guideqa] = report["systems"]
    overall = guideqa["overall"]
    assert overall["questions"] == 3 and overall["recall@10"] == 1.0
    assert 0.0 < overall["rouge2_f1"] <= 1.0 and 0.0 < overall["rouge_su4_f1"] <= 1.0
    assert "| guideqa |" in (out / "report.md").read_text()


def test_compare_prints_differences(tmp_path: Path) -> None:
    def report(value: float) -> dict[str, object]:
        return {"systems": [{"system": "guideqa", "overall": {"mrr": value}}]}

    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(json.dumps(report(0.5)))
    new.write_text(json.dumps(report(0.75)))
    result = CliRunner().invoke(main, ["eval", "--compare", str(old), str(new)])
    assert result.exit_code == 0 and "0.500 ->    0.750 (+0.250)" in result.output


def test_generative_evaluation_needs_a_chat_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GUIDEQA_LLM__PROVIDER", raising=False)
    result = CliRunner().invoke(main, ["eval", "--composer", "generative", "--set", "clinical"])
    assert result.exit_code != 0
    assert "--composer generative needs a chat model" in result.output
    assert "Traceback" not in result.output
