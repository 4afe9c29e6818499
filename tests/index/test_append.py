"""Incremental updates: a small change to an IVF index is appended, not rebuilt, and searches
like the same corpus built whole (BM25 statistics are approximate until the merge)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from guideqa.api.settings import Settings
from guideqa.index.hybrid import HybridIndex, open_index
from guideqa.index.models import IndexManifest, SearchFilters
from guideqa.index.settings import DenseKind
from guideqa.index.versions import current_version_dir, read_manifest
from guideqa.ingest.embedding import HashingEmbedder
from guideqa.ingest.loaders import load_paths
from guideqa.ingest.models import Document, SourceKind
from tests.conftest import DATA, fake_settings, make_writer

NOVEL = "zorblaxine"  # a word no base document holds: BM25 must find it in appended rows


def _settings(root: Path, fraction: float = 0.5) -> Settings:
    settings = fake_settings(root)
    index = settings.index.model_copy(
        update={"dense": DenseKind.IVF_SQ8, "max_appended_fraction": fraction}
    )
    return settings.model_copy(update={"index": index})


def _built(
    root: Path,
    token_counter,  # type: ignore[no-untyped-def]
    fraction: float = 0.5,
) -> tuple[Settings, list[Document]]:
    """An IVF index over the sample corpus, published once."""
    settings = _settings(root, fraction)
    documents = _corpus()
    make_writer(settings, token_counter).ingest(documents)
    return settings, documents


def _manifest(settings: Settings) -> IndexManifest:
    return read_manifest(current_version_dir(settings.index.directory))


def _corpus() -> list[Document]:
    paths = [DATA / d for d in ("openfda", "spl", "pubmed", "markdown")]
    report = load_paths(paths)
    assert not report.failures
    return report.documents


def _changed(doc: Document) -> Document:
    first = doc.sections[0]
    text = f"{first.text} Patients given {NOVEL} need weekly monitoring of liver enzymes."
    sections = (first.model_copy(update={"text": text}), *doc.sections[1:])
    changed = doc.model_copy(update={"sections": sections})
    digest = hashlib.sha256(changed.model_dump_json().encode()).hexdigest()
    return changed.model_copy(update={"content_hash": digest})


def _open(settings: Settings) -> HybridIndex:
    return open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())


def _live_chunks(index: HybridIndex) -> dict[str, str]:
    rows = [r for r, d in enumerate(index.store.chunk_doc_index) if d >= 0]
    return {c.chunk_id: c.text for c in index.store.chunks(rows)}


def test_a_changed_document_is_appended_and_searches_like_a_full_build(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    documents = _corpus()
    target = next(d for d in documents if d.kind is SourceKind.RESEARCH)
    final = [_changed(d) if d.doc_id == target.doc_id else d for d in documents]

    appended = _settings(tmp_path / "appended")
    make_writer(appended, token_counter).ingest(documents)
    base = read_manifest(current_version_dir(appended.index.directory))
    summary = make_writer(appended, token_counter).ingest(final)
    manifest = read_manifest(current_version_dir(appended.index.directory))
    assert summary.changed == (target.doc_id,)
    assert manifest.base_rows == base.chunks  # the base was kept
    assert manifest.rows is not None and manifest.rows > manifest.chunks  # rows were added
    assert summary.embedded_chunks == manifest.rows - base.chunks  # only the change embedded
    assert manifest.chunks == summary.chunks

    whole = _settings(tmp_path / "whole")
    make_writer(whole, token_counter).ingest(final)
    one, other = _open(appended), _open(whole)
    assert _live_chunks(one) == _live_chunks(other)
    assert read_manifest(current_version_dir(whole.index.directory)).chunks == manifest.chunks
    for query in (f"{NOVEL} liver enzymes", "bleeding risk", target.title):
        assert [h.chunk_id for h in one.search(query, k=5)] == [
            h.chunk_id for h in other.search(query, k=5)
        ], query
    hit = one.search(NOVEL, k=1, mode="lexical")[0]
    assert hit.doc_id == target.doc_id and NOVEL in hit.text


def test_removed_documents_leave_no_trace_in_search_or_filters(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    settings, documents = _built(tmp_path / "index", token_counter)
    gone = next(d for d in documents if d.kind is SourceKind.LABEL)
    summary = make_writer(settings, token_counter).ingest([], remove=[gone.doc_id])
    assert summary.removed == (gone.doc_id,)
    index = _open(settings)
    assert index.manifest.rows is not None and index.manifest.rows > index.manifest.chunks
    assert gone.doc_id not in {d.doc_id for d in index.documents}
    label = SearchFilters(kinds=(SourceKind.LABEL,))
    for mode in ("hybrid", "lexical", "dense"):
        for filters in (None, label):
            hits = index.search(gone.title, k=50, filters=filters, mode=mode)
            assert hits and gone.doc_id not in {h.doc_id for h in hits}, (mode, filters)
    assert index.dense.size == index.manifest.chunks  # removed from IVF, not just hidden


def test_past_the_appended_share_the_next_ingest_rebuilds_whole(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    settings, documents = _built(tmp_path / "index", token_counter, fraction=0.0)
    target = documents[0]
    make_writer(settings, token_counter).ingest([_changed(target)])
    manifest = _manifest(settings)
    assert manifest.rows == manifest.base_rows == manifest.chunks
    _assert_whole_documents_kept(settings, [_changed(target), *documents[1:]])


def test_appended_rows_score_like_bm25s_would() -> None:
    from guideqa.index.lexical import LexicalIndex, lucene_score

    texts = ["warfarin bleeding risk", "bleeding", "apixaban dose in renal impairment", "x"]
    index = LexicalIndex.build(texts)
    tokens = [index.tokens(t) for t in texts]
    query = "bleeding risk"
    idf = index.idf(index.tokens(query))
    expected = np.zeros(len(texts), dtype=np.float32)
    for row, words in enumerate(tokens):
        for token in index.tokens(query):
            tf = np.asarray([words.count(token)], dtype=np.float32)
            if tf[0]:
                length = np.asarray([len(words)], dtype=np.float32)
                expected[row] += lucene_score(idf[token], tf, length, index.mean_length)[0]
    assert np.allclose(index.scores(query), expected, atol=1e-5)


def test_an_index_without_append_statistics_is_rebuilt(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    settings, documents = _built(tmp_path / "index", token_counter)
    os.remove(current_version_dir(settings.index.directory) / "bm25" / "guideqa_stats.json")
    make_writer(settings, token_counter).ingest([_changed(documents[0])])
    manifest = _manifest(settings)
    assert manifest.rows == manifest.base_rows == manifest.chunks


@pytest.mark.parametrize("kind", [DenseKind.FLAT, DenseKind.HNSW])
def test_other_structures_are_always_rebuilt(
    tmp_path: Path,
    token_counter,
    kind: DenseKind,  # type: ignore[no-untyped-def]
) -> None:
    settings = fake_settings(tmp_path / "index")
    settings = settings.model_copy(
        update={"index": settings.index.model_copy(update={"dense": kind})}
    )
    documents = _corpus()
    make_writer(settings, token_counter).ingest(documents)
    make_writer(settings, token_counter).ingest([_changed(documents[0])])
    manifest = _manifest(settings)
    assert manifest.rows == manifest.chunks and manifest.dense == kind.value
    _assert_whole_documents_kept(settings, [_changed(documents[0]), *documents[1:]])


def _assert_whole_documents_kept(settings: Settings, expected: list[Document]) -> None:
    """A rebuild plans from stubs: every reused document must be written back whole."""
    index = _open(settings)
    for doc in expected:
        assert index.document(doc.doc_id) == doc, doc.doc_id


def test_a_forced_full_rebuild_keeps_every_document_whole(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    settings, documents = _built(tmp_path / "index", token_counter)
    summary = make_writer(settings, token_counter).ingest([], full=True)
    assert summary.published and summary.embedded_chunks == 0  # nothing re-embedded
    _assert_whole_documents_kept(settings, documents)


def test_removing_every_document_leaves_an_index_that_opens(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    settings, documents = _built(tmp_path / "index", token_counter, fraction=10.0)
    make_writer(settings, token_counter).ingest([], remove=[d.doc_id for d in documents])
    index = _open(settings)
    assert index.documents == () and index.manifest.chunks == 0
    label = SearchFilters(kinds=(SourceKind.LABEL,))
    assert index.search("bleeding", k=5) == []
    assert index.search("bleeding", k=5, filters=label) == []


def test_removed_rows_count_toward_the_merge(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    settings = _settings(tmp_path / "index", fraction=0.2)
    documents = sorted(_corpus(), key=lambda d: d.doc_id)
    make_writer(settings, token_counter).ingest(documents)
    total = _manifest(settings).chunks
    index = _open(settings)
    sizes = {d.doc_id: len(index.store.rows_of_document(d.doc_id)) for d in documents}
    small = [d for d in sizes if sizes[d] <= 0.1 * total][:1]
    make_writer(settings, token_counter).ingest([], remove=small)
    appended = _manifest(settings)
    assert appended.rows is not None and appended.rows > appended.chunks  # a small removal appends
    big, removed = [], 0
    for doc_id, size in sorted(sizes.items(), key=lambda item: -item[1]):
        if doc_id not in small and removed <= 0.25 * total:
            big.append(doc_id)
            removed += size
    make_writer(settings, token_counter).ingest([], remove=big)
    merged = _manifest(settings)
    assert merged.rows == merged.base_rows == merged.chunks  # no new rows, yet merged


def test_settings_that_now_want_hnsw_get_a_rebuild(
    tmp_path: Path,
    token_counter,  # type: ignore[no-untyped-def]
) -> None:
    settings, documents = _built(tmp_path / "index", token_counter)
    auto_hnsw = settings.index.model_copy(
        update={"dense": DenseKind.AUTO, "large_dense": DenseKind.HNSW, "exact_search_limit": 10}
    )
    settings = settings.model_copy(update={"index": auto_hnsw})
    make_writer(settings, token_counter).ingest([_changed(documents[0])])
    manifest = _manifest(settings)
    assert manifest.dense == "hnsw" and manifest.rows == manifest.chunks
