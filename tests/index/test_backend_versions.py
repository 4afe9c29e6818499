"""Versions on both backends: publish, hot swap with readers in flight, deletion, retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from guideqa.index.backend import IndexBackend, LocalBackend
from guideqa.index.hybrid import settings_id
from guideqa.index.milvus import MilvusBackend
from guideqa.index.milvus_store import MilvusPlace
from guideqa.index.versions import current_version_dir
from guideqa.ingest.embedding import HashingEmbedder
from guideqa.ingest.loaders import load_paths
from tests.conftest import DATA, fake_settings, free_port, make_writer


def _backend(name: str, tmp_path: Path, keep: int) -> tuple[IndexBackend, object]:
    settings = fake_settings(tmp_path / "index")
    index = settings.index.model_copy(
        update={
            "keep_versions": keep,
            "milvus_uri": str(tmp_path / "milvus.db"),
            "milvus_timeout_s": 2.0,
        }
    )
    settings = settings.model_copy(update={"index": index})
    if name == "local":
        return LocalBackend(index, settings.embedding, settings.chunking), settings
    return MilvusBackend(index, settings_id(settings.embedding, settings.chunking)), settings


@pytest.mark.parametrize("name", ["local", "milvus"])
def test_publish_swap_delete_and_retention(name: str, tmp_path: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    backend, settings = _backend(name, tmp_path, keep=2)
    writer = make_writer(settings, token_counter)  # type: ignore[arg-type]
    documents = load_paths([DATA / "markdown", DATA / "pubmed"]).documents
    removed = documents[0].doc_id

    def publish(docs: object, remove: tuple[str, ...] = ()) -> str:
        writer.ingest(docs, remove=remove)  # type: ignore[arg-type]
        return backend.publish(current_version_dir(settings.index.directory))  # type: ignore[attr-defined]

    assert publish(documents) == "v000001"
    first = backend.open(HashingEmbedder())
    before = first.search(documents[0].title, 5)
    assert removed in {h.doc_id for h in before}

    assert publish([], (removed,)) == "v000002"
    assert backend.published_version() == "v000002"
    second = backend.open(HashingEmbedder(), "v000002")
    assert removed not in {d.doc_id for d in second.documents}
    assert removed not in {h.doc_id for h in second.search(documents[0].title, 20)}
    assert second.document(removed) is None
    # a reader opened before the swap finishes on its own version
    assert [h.chunk_id for h in first.search(documents[0].title, 5)] == [h.chunk_id for h in before]

    publish(documents)  # the document comes back: a third version
    assert [m.version for m in backend.versions()] == ["v000002", "v000003"]
    assert backend.published_version() == "v000003"
    backend.close()


def test_publishing_the_same_version_twice_changes_nothing(tmp_path: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    backend, settings = _backend("milvus", tmp_path, keep=3)
    make_writer(settings, token_counter).ingest(load_paths([DATA / "markdown"]).documents)  # type: ignore[arg-type]
    folder = current_version_dir(settings.index.directory)  # type: ignore[attr-defined]
    assert isinstance(backend, MilvusBackend)
    backend.publish(folder)
    collections = set(backend.client.list_collections())
    backend.publish(folder)
    assert set(backend.client.list_collections()) == collections
    names = [c for c in collections if MilvusPlace("guideqa").is_version(c)]
    assert len(names) == 1 and names[0].startswith("guideqa_v000001_")
    backend.close()


def test_an_unreachable_milvus_is_named_in_readiness(tmp_path: Path) -> None:
    backend, _ = _backend("milvus", tmp_path, keep=2)
    assert isinstance(backend, MilvusBackend)
    unreachable = backend.settings.model_copy(
        update={"milvus_uri": f"http://127.0.0.1:{free_port()}", "milvus_timeout_s": 1.0}
    )
    problem = MilvusBackend(unreachable, backend.settings_id).problem("v000001")
    assert problem is not None and "unreachable" in problem and "127.0.0.1" in problem
