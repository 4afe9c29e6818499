"""`guideqa ingest --engine ray` on a local Ray with 2 CPUs: the same index as a local ingest,
the same per-file errors, and the same resume after the process is killed."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.index.test_resume import BATCH, _assert_same_index, _command, _corpus, _env


def _run(corpus: Path, env: dict[str, str], *options: str) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [*_command(corpus), *options],
        env={**env, "RAY_AUTH_MODE": "disabled"},
        capture_output=True,
        text=True,
        timeout=400,
        check=False,
    )
    return done.returncode, (json.loads(done.stdout) if done.stdout.strip() else {})


@pytest.mark.integration
def test_ray_ingest_equals_local_ingest_and_resumes_after_a_kill(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path)
    shutil.copy(DATA / "broken" / "truncated.pdf", corpus / "truncated.pdf")
    code, local = _run(corpus, _env(tmp_path / "local", "onnx"))
    assert code == 2  # the broken file is named; the others are indexed

    killed_dir = tmp_path / "ray"
    ray = ("--engine", "ray", "--workers", "2")
    code, _ = _run(corpus, _env(killed_dir, "onnx", crash_at="batch_1"), *ray)
    assert code == 137, "the Ray ingest was not killed after its second journaled batch"
    code, resumed = _run(corpus, _env(killed_dir, "onnx"), *ray)
    assert code == 2
    assert resumed["failures"] == local["failures"]
    assert "truncated.pdf" in str(resumed["failures"])
    # actors finish batches in any order: at least the batch the kill came after was kept
    assert int(str(resumed["resumed_chunks"])) >= BATCH
    assert resumed["documents"] == local["documents"] and resumed["chunks"] == local["chunks"]
    _assert_same_index(killed_dir, tmp_path / "local")

    code, again = _run(corpus, _env(killed_dir, "onnx"), *ray)
    assert not again["published"] and again["unchanged"] == local["added"]  # content hashes
