"""Resumable ingest: a build killed at any batch resumes from its journal, embedding nothing
twice, and publishes exactly what an uninterrupted build publishes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from guideqa.index.builder import CRASH_ENV
from guideqa.index.journal import EmbeddingJournal, journal_key
from guideqa.index.versions import current_version, versions_dir
from tests.conftest import DATA, MODEL_CACHE

BATCH = 16


def _corpus(tmp_path: Path) -> Path:
    corpus = tmp_path / "corpus"
    for name in ("openfda", "spl", "pubmed", "markdown"):
        shutil.copytree(DATA / name, corpus / name)
    return corpus


def _env(index_dir: Path, backend: str, crash_at: str | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "GUIDEQA_EMBEDDING__BACKEND": backend,
        "GUIDEQA_EMBEDDING__CACHE_DIR": str(MODEL_CACHE),
        "GUIDEQA_INDEX_DIR": str(index_dir),
        "GUIDEQA_INDEX__BUILD_BATCH_CHUNKS": str(BATCH),
    }
    env.pop(CRASH_ENV, None)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return env


def _command(corpus: Path) -> list[str]:
    return [sys.executable, "-m", "guideqa.api.cli", "ingest", str(corpus), "--json"]


def _ingest(corpus: Path, env: dict[str, str]) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        _command(corpus), env=env, capture_output=True, text=True, timeout=300, check=False
    )
    return done.returncode, (json.loads(done.stdout) if done.returncode == 0 else {})


def _published(index_dir: Path) -> tuple[np.ndarray, dict[str, object]]:
    folder = versions_dir(index_dir) / str(current_version(index_dir))
    manifest = json.loads((folder / "manifest.json").read_text())
    return np.load(folder / "vectors.npy"), manifest


def _journal_batches(index_dir: Path) -> int:
    return sum(1 for _ in (index_dir / "journal").glob("*/batch-*.npy"))


def _assert_same_index(resumed_dir: Path, clean_dir: Path) -> None:
    vectors, manifest = _published(resumed_dir)
    clean_vectors, clean_manifest = _published(clean_dir)
    assert np.array_equal(vectors, clean_vectors)
    for key in ("documents", "chunks", "counts_by_kind", "corpus_hash", "dense"):
        assert manifest[key] == clean_manifest[key], key
    assert not (resumed_dir / "journal").exists()  # removed once published


def test_a_build_killed_at_a_random_batch_resumes_without_embedding_twice(
    tmp_path: Path,
) -> None:
    corpus = _corpus(tmp_path)
    code, clean = _ingest(corpus, _env(tmp_path / "clean", "hashing"))
    assert code == 0
    batches = -(-int(str(clean["chunks"])) // BATCH)
    assert batches >= 4
    crash = random.Random().randrange(batches - 1)
    index_dir = tmp_path / "killed"
    code, _ = _ingest(corpus, _env(index_dir, "hashing", crash_at=f"batch_{crash}"))
    assert code == 137, f"not killed at batch {crash}"
    assert current_version(index_dir) is None  # nothing published by the killed build
    assert _journal_batches(index_dir) == crash + 1

    code, summary = _ingest(corpus, _env(index_dir, "hashing"))
    assert code == 0
    assert summary["resumed_chunks"] == (crash + 1) * BATCH, f"crashed at batch {crash}"
    assert summary["embedded_chunks"] == int(str(clean["chunks"])) - (crash + 1) * BATCH
    _assert_same_index(index_dir, tmp_path / "clean")


@pytest.mark.integration
def test_kill_9_during_a_real_model_build_then_resume_matches_an_uninterrupted_build(
    tmp_path: Path,
) -> None:
    corpus = _corpus(tmp_path)
    code, clean = _ingest(corpus, _env(tmp_path / "clean", "onnx"))
    assert code == 0
    index_dir = tmp_path / "killed"
    process = subprocess.Popen(
        _command(corpus),
        env=_env(index_dir, "onnx"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _journal_batches(index_dir) < 2 and process.poll() is None:
        assert time.monotonic() < deadline, "the build never wrote a journal batch"
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the build finished before it was killed"
    journaled = _journal_batches(index_dir)
    assert current_version(index_dir) is None

    code, summary = _ingest(corpus, _env(index_dir, "onnx"))
    assert code == 0
    assert int(str(summary["resumed_chunks"])) >= 2 * BATCH
    assert int(str(summary["resumed_chunks"])) <= journaled * BATCH
    assert (
        int(str(summary["embedded_chunks"])) + int(str(summary["resumed_chunks"]))
        == clean["embedded_chunks"]
    )
    _assert_same_index(index_dir, tmp_path / "clean")


def test_journal_batches_are_reused_only_for_the_same_work(tmp_path: Path) -> None:
    key = journal_key("settings-a", BATCH, ["one", "two"])
    assert key == journal_key("settings-a", BATCH, ["one", "two"])
    assert key != journal_key("settings-b", BATCH, ["one", "two"])
    assert key != journal_key("settings-a", BATCH + 1, ["one", "two"])
    assert key != journal_key("settings-a", BATCH, ["one", "two!"])
    journal = EmbeddingJournal(tmp_path, key, dimension=3)
    vectors = np.arange(6, dtype=np.float32).reshape(2, 3)
    journal.save(0, vectors)
    assert np.array_equal(journal.load(0, 2), vectors)  # type: ignore[arg-type]
    assert journal.load(0, 3) is None  # a batch of another size is not this batch
    assert journal.load(1, 2) is None
    assert journal.completed() == 1
    assert not list(journal.folder.glob("*.tmp"))
