"""The documentation runs: every Python example in docs/python.md and the README's "Use it from
Python" section is executed, in order, against a small index; the site builds with its API
reference, offline, with warnings as errors."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from guideqa.ingest.loaders import load_paths
from tests.conftest import fake_settings, make_writer, write_qa_corpus

ROOT = Path(__file__).resolve().parent.parent
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def python_blocks(markdown: str) -> list[str]:
    """The ```python blocks of a Markdown text, in order."""
    return [m.group(1) for m in _BLOCK.finditer(markdown)]


def readme_python_section() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("## Use it from Python")
    return text[start : text.index("\n## ", start + 1)]


@pytest.fixture()
def docs_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token_counter: object) -> Path:
    """An index over the sample corpus (hashing embedder), a folder of new guidelines, and the
    environment the examples read their settings from."""
    corpus = tmp_path / "corpus"
    write_qa_corpus(corpus)
    settings = fake_settings(tmp_path / "index")
    make_writer(settings, token_counter).ingest(load_paths([corpus]).documents)
    new = tmp_path / "new-guidelines"
    new.mkdir()
    (new / "influenza.md").write_text(
        "---\nid: flu-ckd\ntitle: Influenza vaccination in CKD\nkind: guideline\n---\n"
        "# Recommendation\n\nOffer annual influenza vaccination to adults with chronic kidney "
        "disease.\n"
    )
    monkeypatch.setenv("GUIDEQA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("GUIDEQA_EMBEDDING__BACKEND", "hashing")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _run(blocks: list[str]) -> str:
    namespace: dict[str, object] = {"__name__": "__docs__"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for number, block in enumerate(blocks, start=1):
            exec(compile(block, f"<example {number}>", "exec"), namespace)
    return out.getvalue()


def test_every_python_example_in_the_docs_runs(docs_world: Path) -> None:
    blocks = python_blocks((ROOT / "docs" / "python.md").read_text())
    assert len(blocks) == 7
    printed = _run(blocks)
    assert "flu-ckd" in printed  # the ingest example added the new guideline
    assert "Answer only from these passages" in printed  # the LCEL chain produced its prompt
    assert "200 " in printed  # the mounted app answered


def test_the_readme_example_runs(docs_world: Path) -> None:
    [block] = python_blocks(readme_python_section())
    assert _run([block])


def test_the_site_builds_with_its_api_reference(tmp_path: Path) -> None:
    tree = tmp_path / "tree" / "guideqa"
    tree.mkdir(parents=True)
    for name in ("ingest", "index", "qa", "api", "eval"):
        (tree / name).symlink_to(ROOT / name)
    for name in ("__init__.py", "py.typed"):
        (tree / name).symlink_to(ROOT / "guideqa" / name)
    config = tmp_path / "mkdocs.yml"
    base = (ROOT / "mkdocs.yml").read_text()
    config.write_text(
        base.replace("docs_dir: docs", f"docs_dir: {ROOT / 'docs'}").replace(
            "paths: [.typecheck]", f"paths: [{tree.parent}]"
        )
    )
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    reference = (site / "reference" / "index.html").read_text()
    for name in ("GuideQA.ask", "GuideQA.as_retriever", "GuideQA.ingest", "Answer", "Hit"):
        assert f"guideqa.api.library.{name}" in reference or name in reference
    assert "Use it from Python" in (site / "python" / "index.html").read_text()
