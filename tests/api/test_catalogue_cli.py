"""The bad-input catalogue through the CLI: every hostile or broken command line exits 2 with a
line naming the problem, and the index version and document count are unchanged."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from guideqa.api.cli import main
from guideqa.index.versions import current_version
from tests import hostile
from tests.api.test_catalogue import HTTP_CASES, Build
from tests.conftest import DATA


def test_the_catalogue_is_at_least_forty_cases() -> None:
    assert len(HTTP_CASES) + len(CLI_CASES) >= 40


@dataclass(frozen=True)
class CliCase:
    """One bad command line and what must come back (exit code 2, a line naming the problem)."""

    name: str
    args: Callable[[Path], list[str]]
    message: str


def _ingest(build: Build) -> Callable[[Path], list[str]]:
    return lambda folder: ["ingest", str(build(folder))]


CLI_CASES = [
    CliCase("ask empty", lambda _: ["ask", ""], "the question is empty"),
    CliCase("ask whitespace", lambda _: ["ask", "   "], "the question is empty"),
    CliCase("ask too long", lambda _: ["ask", "pain " * 1000], "the limit is 2000"),
    CliCase(
        "ask unknown kind", lambda _: ["ask", "x", "--kind", "blog"], "Invalid value for '--kind'"
    ),
    CliCase("search empty", lambda _: ["search", " "], "QUERY is empty"),
    CliCase("search k zero", lambda _: ["search", "x", "--k", "0"], "Invalid value for '--k'"),
    CliCase("ingest missing file", lambda f: ["ingest", str(f / "missing.pdf")], "file not found"),
    CliCase("ingest zip bomb", _ingest(hostile.zip_bomb), "(a zip bomb?)"),
    CliCase("ingest 50,000 pages", _ingest(hostile.pdf_with_many_pages), "50000 pages"),
    CliCase("ingest nested JSON", _ingest(hostile.deeply_nested_json), "nested too deeply"),
    CliCase("ingest XXE", _ingest(hostile.xxe_xml), "unsafe XML refused"),
    CliCase("ingest encrypted member", _ingest(hostile.zip_with_encrypted_member), "encrypted"),
    CliCase("ingest latin-1 PubMedQA", _ingest(hostile.pubmedqa_latin1), "codec can't decode"),
]


@pytest.mark.parametrize("case", CLI_CASES, ids=[c.name for c in CLI_CASES])
def test_cli_bad_input(
    case: CliCase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token_counter: object
) -> None:
    index = tmp_path / "index"
    monkeypatch.setenv("GUIDEQA_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("GUIDEQA_INDEX_DIR", str(index))
    runner = CliRunner()
    first = runner.invoke(main, ["ingest", str(DATA / "pubmed" / "medline_sample.nbib")])
    assert first.exit_code == 0, first.output
    result = runner.invoke(main, case.args(tmp_path))
    assert result.exit_code == 2, result.output
    assert case.message in result.stderr and "Traceback" not in result.output
    assert current_version(index) == "v000001"
    info = json.loads(runner.invoke(main, ["info", "--json"]).stdout)
    assert info["documents"] == 1
