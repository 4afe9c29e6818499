"""Durable publishing and recovery from a broken CURRENT (issue 12, defect 9)."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from guideqa.api.cli import main
from guideqa.index.errors import IndexCorruptError
from guideqa.index.hybrid import open_index
from guideqa.index.versions import current_version, current_version_dir, versions_dir
from guideqa.ingest.embedding import HashingEmbedder
from guideqa.ingest.loaders import load_paths
from tests.conftest import DATA, fake_settings, make_writer


def _build(index: Path, counter, *paths: Path) -> None:  # type: ignore[no-untyped-def]
    make_writer(fake_settings(index), counter).ingest(load_paths(list(paths)).documents)


def test_publish_flushes_every_file_and_folder_of_the_version(
    tmp_path: Path, token_counter, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    flushed: list[str] = []
    real_fsync = os.fsync

    def recording(fd: int) -> None:
        flushed.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", recording)
    _build(tmp_path / "index", token_counter, DATA / "pubmed" / "medline_sample.nbib")
    version = versions_dir(tmp_path / "index") / "v000001"
    on_disk = [p for p in version.rglob("*")] + [version]
    # written in the build folder, then renamed: compare paths relative to the version
    relative = {Path(f).name for f in flushed}
    assert {p.name for p in on_disk if p.is_file()} <= relative
    assert {p.name for p in on_disk if p.is_dir()} - {"v000001"} <= relative  # bm25/
    assert any(".build-v000001" in f for f in flushed)  # the build folder itself
    assert str(versions_dir(tmp_path / "index")) in flushed  # the rename
    assert "CURRENT" in " ".join(flushed) or str(tmp_path / "index") in flushed


def test_broken_current_falls_back_to_the_newest_intact_version_loudly(
    tmp_path: Path, token_counter, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    _build(index, token_counter, DATA / "pubmed" / "medline_sample.nbib")
    _build(index, token_counter, DATA / "pubmed" / "medline_sample.nbib", DATA / "markdown")
    shutil.rmtree(versions_dir(index) / "v000002")
    with caplog.at_level(logging.WARNING, logger="guideqa.index"):
        assert current_version_dir(index).name == "v000001"
    assert "index version v000002" in caplog.text and "using v000001" in caplog.text
    settings = fake_settings(index)
    served = open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())
    assert served.version == "v000001"


def test_nothing_intact_is_a_clear_error(tmp_path: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    index = tmp_path / "index"
    _build(index, token_counter, DATA / "pubmed" / "medline_sample.nbib")
    (versions_dir(index) / "v000001" / "vectors.npy").unlink()
    with pytest.raises(IndexCorruptError, match=r"missing vectors.npy.*guideqa build --rebuild"):
        current_version_dir(index)


def test_build_rebuild_repairs_a_broken_current(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(DATA / "pubmed", corpus)
    index = tmp_path / "index"
    monkeypatch.setenv("GUIDEQA_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("GUIDEQA_INDEX_DIR", str(index))
    runner = CliRunner()
    assert runner.invoke(main, ["build", str(corpus)]).exit_code == 0
    (index / "CURRENT").write_text("v000009\n")  # points at a version that does not exist
    rebuilt = runner.invoke(main, ["build", str(corpus), "--rebuild"])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert current_version(index) == "v000002"
    (versions_dir(index) / "v000002" / "manifest.json").write_text("{broken")
    unchanged = runner.invoke(main, ["build", str(corpus)])  # same corpus, but CURRENT is broken
    assert unchanged.exit_code == 0, unchanged.output
    assert current_version(index) == "v000003"
    assert runner.invoke(main, ["search", "enteroscopy"]).exit_code == 0
