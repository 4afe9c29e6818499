"""The metadata store: outlines in memory, whole documents from SQLite, batched row lookups."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from guideqa.index.store import MetadataStore, append_to_store, outline, write_store
from guideqa.ingest.chunking import SectionChunker
from guideqa.ingest.loaders import load_paths
from guideqa.ingest.settings import ChunkingSettings
from tests.conftest import DATA


def _store(tmp_path: Path, token_counter) -> tuple[Path, list, list]:  # type: ignore[no-untyped-def]
    documents = load_paths([DATA / "openfda", DATA / "pubmed"]).documents
    chunker = SectionChunker(ChunkingSettings(), token_counter)
    chunks = [c for d in documents for c in chunker.chunk_document(d)]
    path = tmp_path / "store.sqlite"
    write_store(path, documents, chunks)
    return path, documents, chunks


def test_memory_holds_outlines_and_sqlite_the_whole_documents(
    tmp_path: Path, token_counter
) -> None:  # type: ignore[no-untyped-def]
    path, documents, _ = _store(tmp_path, token_counter)
    store = MetadataStore(path)
    assert [d.doc_id for d in store.documents] == [d.doc_id for d in documents]
    assert all(s.text == "" for d in store.documents for s in d.sections)
    assert [len(d.sections) for d in store.documents] == [len(d.sections) for d in documents]
    assert store.documents[0] == outline(documents[0])
    assert store.document(documents[0].doc_id) == documents[0]  # section text included
    assert list(store.full_documents()) == list(documents)
    assert store.document("no-such-document") is None


def test_rows_are_read_in_batches_in_the_order_asked(tmp_path: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    path, _, chunks = _store(tmp_path, token_counter)
    store = MetadataStore(path)
    rows = list(range(len(chunks)))[::-1] * 30  # more rows than one query binds
    assert len(rows) > 10_000
    assert [c.chunk_id for c in store.chunks(np.asarray(rows))] == [
        chunks[r].chunk_id for r in rows
    ]


def test_detached_rows_keep_their_numbers(tmp_path: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    path, documents, chunks = _store(tmp_path, token_counter)
    gone = documents[0]
    detached, first_row = append_to_store(path, [gone.doc_id], [], [])
    store = MetadataStore(path)
    assert detached == [r for r, c in enumerate(chunks) if c.doc_id == gone.doc_id]
    assert first_row == len(chunks)
    assert all(store.chunk_doc_index[r] == -1 for r in detached)
    assert store.document(gone.doc_id) is None and store.rows_of_document(gone.doc_id) == []
    kept = documents[1]
    assert store.rows_of_document(kept.doc_id) == [
        r for r, c in enumerate(chunks) if c.doc_id == kept.doc_id
    ]
    position = [d.doc_id for d in store.documents].index(kept.doc_id)
    assert {int(store.chunk_doc_index[r]) for r in store.rows_of_document(kept.doc_id)} == {
        position
    }
