"""The guideqa CLI end to end on sample files (fake embedder via the environment)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guideqa.api.cli import main


@pytest.fixture()
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("GUIDEQA_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("GUIDEQA_INDEX_DIR", str(tmp_path / "index"))
    return CliRunner()


def test_ingest_search_info_versions(runner: CliRunner, data_dir: Path) -> None:
    result = runner.invoke(
        main, ["ingest", str(data_dir / "openfda"), str(data_dir / "pubmed"), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["published"] and summary["documents"] == 15 and not summary["failures"]

    result = runner.invoke(
        main, ["search", "warfarin bleeding", "--kind", "label", "--k", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 3
    required = {
        "doc_id",
        "chunk_id",
        "kind",
        "title",
        "issuer",
        "year",
        "section",
        "pages",
        "score",
        "text",
    }
    assert all(required <= set(h) and h["kind"] == "label" for h in hits)

    info = runner.invoke(main, ["info", "--json"])
    manifest = json.loads(info.stdout)
    assert manifest["counts_by_kind"] == {"label": 9, "research": 6}
    assert manifest["embedding"]["backend"] == "hashing"

    versions = runner.invoke(main, ["versions"])
    assert versions.stdout.startswith("* v000001")

    # the hashing embedder gives no real similarity: open the bars to see the mechanics
    env = {"GUIDEQA_QA__MIN_PASSAGE_SIMILARITY": "0", "GUIDEQA_QA__MIN_RELEVANCE": "0.05"}
    explained = runner.invoke(
        main, ["ask", "Can warfarin be used in pregnancy?", "--kind", "label", "--explain"], env=env
    )
    assert explained.exit_code == 0, explained.output
    assert "**How this answer was chosen**" in explained.stdout
    assert "concepts: drug: warfarin, population: pregnancy" in explained.stdout
    as_json = runner.invoke(
        main, ["ask", "Can warfarin be used in pregnancy?", "--explain", "--json"], env=env
    )
    assert json.loads(as_json.stdout)["explanation"]["chosen"]
    streamed = runner.invoke(
        main, ["ask", "Can warfarin be used in pregnancy?", "--kind", "label", "--stream"], env=env
    )
    assert streamed.exit_code == 0, streamed.output
    lines = [json.loads(line) for line in streamed.stdout.splitlines()]
    names = [line["event"] for line in lines]
    assert names[:2] == ["start", "bottom_line"] and names[-2:] == ["references", "done"]
    assert lines[0]["data"]["answer_id"] == lines[-1]["data"]["answer_id"]


def test_ingest_with_a_broken_file_reports_it_and_exits_2(
    runner: CliRunner, data_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(data_dir / "pubmed" / "medline_sample.nbib", folder)
    shutil.copy(data_dir / "broken" / "truncated.pdf", folder)
    result = runner.invoke(main, ["ingest", str(folder)])
    assert result.exit_code == 2
    assert "truncated.pdf: not a readable PDF" in result.stderr
    assert "published v000001: 1 documents" in result.stdout


def test_build_skips_an_unchanged_corpus(runner: CliRunner, data_dir: Path) -> None:
    first = runner.invoke(main, ["build", str(data_dir / "pubmed")])
    assert first.exit_code == 0 and "published v000001" in first.stdout
    second = runner.invoke(main, ["build", str(data_dir / "pubmed")])
    assert second.exit_code == 0 and "is up to date" in second.stdout


def test_errors_are_one_clear_line(runner: CliRunner) -> None:
    result = runner.invoke(main, ["search", "metformin"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no index at") and "Traceback" not in result.output
    empty = runner.invoke(main, ["search", "  "])
    assert empty.exit_code == 2 and "QUERY is empty" in empty.stderr
