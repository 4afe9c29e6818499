"""Incremental, versioned index writes with the fake embedder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from guideqa.index.errors import IndexBusyError, IndexMismatchError, IndexNotFoundError
from guideqa.index.hybrid import open_index
from guideqa.index.versions import current_version, list_versions, versions_dir, write_lock
from guideqa.ingest.embedding import HashingEmbedder
from guideqa.ingest.loaders import load_paths
from guideqa.ingest.settings import ChunkingSettings
from tests.conftest import fake_settings, make_writer


def _ingest(settings, counter, paths, **kwargs):  # type: ignore[no-untyped-def]
    report = load_paths(paths)
    return make_writer(settings, counter).ingest(
        report.documents, scanned_sources=[str(p) for p in paths], **kwargs
    )


def test_add_unchanged_change_and_prune(tmp_path: Path, data_dir: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(data_dir / "pubmed" / "efetch_sample.xml", corpus / "a.xml")
    shutil.copy(data_dir / "markdown" / "nci_lung_screening_excerpt.md", corpus / "b.md")
    settings = fake_settings(tmp_path / "index")

    first = _ingest(settings, token_counter, [corpus / "a.xml", corpus / "b.md"])
    assert first.published and first.version == "v000001"
    assert len(first.added) == 3 and first.documents == 3
    assert first.embedded_chunks == first.chunks

    again = _ingest(settings, token_counter, [corpus / "a.xml", corpus / "b.md"])
    assert not again.published and len(again.unchanged) == 3
    assert current_version(settings.index.directory) == "v000001"

    md = corpus / "b.md"
    md.write_text(md.read_text().replace("5% to 10% per exam", "5% to 12% per exam"))
    changed = _ingest(settings, token_counter, [md])
    assert changed.changed == ("nci-pdq-lung-screening-excerpt",)
    assert changed.documents == 3 and changed.version == "v000002"
    assert 0 < changed.embedded_chunks < changed.chunks  # only the changed guideline

    index = open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())
    assert any(
        "5% to 12% per exam" in h.text for h in index.search("false-positive chest x-ray", k=5)
    )

    (corpus / "a.xml").unlink()
    pruned = _ingest(settings, token_counter, [corpus], prune=True)
    assert sorted(pruned.removed) == ["pmid-10808977", "pmid-17208539"]
    assert pruned.documents == 1


def test_versions_are_garbage_collected(tmp_path: Path, data_dir: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    settings = fake_settings(tmp_path / "index")
    settings = settings.model_copy(
        update={"index": settings.index.model_copy(update={"keep_versions": 2})}
    )
    source = tmp_path / "doc.md"
    text = (data_dir / "markdown" / "nci_lung_screening_excerpt.md").read_text()
    for n in range(4):
        source.write_text(text + f"\nRevision note {n}.\n")
        _ingest(settings, token_counter, [source])
    names = [m.version for m in list_versions(settings.index.directory)]
    assert names == ["v000003", "v000004"]
    assert current_version(settings.index.directory) == "v000004"


def test_second_writer_is_refused_and_leftovers_are_removed(tmp_path: Path) -> None:
    root = tmp_path / "index"
    leftover = versions_dir(root) / ".build-v000009-999999"
    leftover.mkdir(parents=True)
    with write_lock(root):
        assert not leftover.exists()
        with pytest.raises(IndexBusyError, match="another ingest is writing"), write_lock(root):
            pass


def test_missing_index_and_settings_mismatch_are_clear(
    tmp_path: Path, data_dir: Path, token_counter
) -> None:  # type: ignore[no-untyped-def]
    settings = fake_settings(tmp_path / "index")
    with pytest.raises(IndexNotFoundError, match="guideqa ingest"):
        open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())
    _ingest(settings, token_counter, [data_dir / "pubmed" / "medline_sample.nbib"])
    with pytest.raises(IndexMismatchError, match="rebuild"):
        open_index(
            settings.index,
            settings.embedding,
            ChunkingSettings(chunk_tokens=128),
            HashingEmbedder(),
        )
