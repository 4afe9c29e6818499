"""Versions on both backends: publish, hot swap with readers in flight, deletion, retention."""

from __future__ import annotations

from pathlib import Path

import pytest

from guideqa.index.backend import IndexBackend, LocalBackend
from guideqa.index.hybrid import settings_id
from guideqa.index.milvus_backend import MilvusBackend
from guideqa.index.milvus_store import MilvusPlace
from guideqa.index.settings import BackendKind
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


def test_only_this_prefixs_versions_are_versions() -> None:
    place = MilvusPlace("guideqa")
    assert place.is_version("guideqa_v000001_ecfbf255_c692ec")
    assert not place.is_version("guideqa_v000001_ecfbf255_c692ec_meta")
    assert not place.is_version("guideqa_v2_v000001_ecfbf255_c692ec")  # another prefix's


def test_a_writer_with_another_staging_index_cannot_roll_milvus_back(
    tmp_path: Path, token_counter
) -> None:  # type: ignore[no-untyped-def]
    from guideqa.api.library import GuideQA
    from guideqa.index.errors import StagingMismatchError

    first, settings_a = _backend("milvus", tmp_path / "a", keep=3)
    documents = load_paths([DATA / "markdown", DATA / "pubmed"]).documents
    make_writer(settings_a, token_counter).ingest(documents)  # type: ignore[arg-type]
    first.publish(current_version_dir(settings_a.index.directory))  # type: ignore[attr-defined]
    make_writer(settings_a, token_counter).ingest([], remove=(documents[0].doc_id,))  # type: ignore[arg-type]
    newer = current_version_dir(settings_a.index.directory)  # type: ignore[attr-defined]
    first.publish(newer)
    assert first.published_version() == "v000002"

    # replica B: the same Milvus, an empty staging folder of its own
    index_b = settings_a.index.model_copy(  # type: ignore[attr-defined]
        update={"directory": tmp_path / "b", "backend": BackendKind.MILVUS}
    )
    settings_b = settings_a.model_copy(update={"index": index_b})  # type: ignore[attr-defined]
    with pytest.raises(StagingMismatchError, match="serves v000002"):
        GuideQA(settings_b).add_documents(documents[:1])
    older = versions_dir_of(settings_a) / "v000001"
    with pytest.raises(StagingMismatchError, match="built later"):
        first.publish(older)
    assert first.published_version() == "v000002"  # nothing rolled back
    assert first.publish(older, allow_older=True) == "v000001"  # a deliberate roll-back
    first.close()


def versions_dir_of(settings: object) -> Path:
    from guideqa.index.versions import versions_dir

    return versions_dir(settings.index.directory)  # type: ignore[attr-defined]


def test_an_appended_ivf_version_publishes_with_its_appended_rows(
    tmp_path: Path, token_counter
) -> None:  # type: ignore[no-untyped-def]
    from tests.index.test_append import NOVEL, _built, _changed, _manifest, _open

    settings, documents = _built(tmp_path / "index", token_counter)
    make_writer(settings, token_counter).ingest([_changed(documents[0])])
    assert _manifest(settings).rows != _manifest(settings).base_rows  # appended, not rebuilt
    index = settings.index.model_copy(update={"milvus_uri": str(tmp_path / "milvus.db")})
    backend = MilvusBackend(index, settings_id(settings.embedding, settings.chunking))
    backend.publish(current_version_dir(settings.index.directory))
    milvus, local = backend.open(HashingEmbedder()), _open(settings)
    for query in (f"{NOVEL} liver enzymes", documents[1].title, "dose"):
        for mode in ("lexical", "hybrid"):
            expected = [h.chunk_id for h in local.search(query, 10, mode=mode)]
            assert [h.chunk_id for h in milvus.search(query, 10, mode=mode)] == expected
    assert milvus.term_weights([NOVEL]) == pytest.approx(local.term_weights([NOVEL]))
    backend.close()
