"""Crash safety: an ingest killed at any step leaves the served index intact; a rerun completes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from guideqa.index.builder import CRASH_ENV
from guideqa.index.hybrid import open_index
from guideqa.index.versions import current_version, versions_dir
from guideqa.ingest.embedding import HashingEmbedder
from tests.conftest import DATA, fake_settings


def _ingest(index_dir: Path, path: Path, crash_at: str | None = None) -> int:
    env = {
        **os.environ,
        "GUIDEQA_EMBEDDING__BACKEND": "hashing",
        "GUIDEQA_INDEX_DIR": str(index_dir),
    }
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    result = subprocess.run(
        [sys.executable, "-m", "guideqa.api.cli", "ingest", str(path)],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    return result.returncode


@pytest.mark.parametrize("step", ["before_embed", "mid_write", "before_publish"])
def test_killed_ingest_keeps_the_previous_version(tmp_path: Path, step: str) -> None:
    index_dir = tmp_path / "index"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DATA / "pubmed" / "medline_sample.nbib", corpus)
    assert _ingest(index_dir, corpus) == 0
    assert current_version(index_dir) == "v000001"

    shutil.copy(DATA / "markdown" / "nci_lung_screening_excerpt.md", corpus)
    assert _ingest(index_dir, corpus, crash_at=step) == 137  # killed like kill -9
    assert current_version(index_dir) == "v000001"
    settings = fake_settings(index_dir)
    served = open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())
    assert [d.doc_id for d in served.documents] == ["pmid-23831910"]
    assert served.search("double balloon enteroscopy", k=1)[0].doc_id == "pmid-23831910"
    leftovers = list(versions_dir(index_dir).glob(".build-*"))
    assert bool(leftovers) == (step != "before_embed")

    assert _ingest(index_dir, corpus) == 0
    assert current_version(index_dir) == "v000002"
    assert not list(versions_dir(index_dir).glob(".build-*"))
    rebuilt = open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())
    assert sorted(d.doc_id for d in rebuilt.documents) == [
        "nci-pdq-lung-screening-excerpt",
        "pmid-23831910",
    ]
    rows = sum(len(rebuilt.store.rows_of_document(d.doc_id)) for d in rebuilt.documents)
    assert rows == rebuilt.manifest.chunks == rebuilt.dense.size
