"""Write a new index version: reuse unchanged documents, embed only what changed, publish."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guideqa.index.dense import DenseIndex, build_faiss
from guideqa.index.errors import IndexCorruptError, IndexWriteError
from guideqa.index.hybrid import settings_id
from guideqa.index.lexical import LexicalIndex
from guideqa.index.models import IndexManifest
from guideqa.index.settings import IndexSettings
from guideqa.index.store import MetadataStore, write_store
from guideqa.index.versions import (
    MANIFEST,
    collect_garbage,
    current_version,
    current_version_dir,
    new_build_dir,
    next_version_name,
    publish,
    read_manifest,
    version_problem,
    versions_dir,
    write_json,
    write_lock,
)
from guideqa.ingest.chunking import SectionChunker, index_text
from guideqa.ingest.embedding import Embedder, Vectors
from guideqa.ingest.errors import IngestError
from guideqa.ingest.models import Chunk, Document
from guideqa.ingest.settings import ChunkingSettings, EmbeddingSettings

Progress = Callable[[int, int], None]
CRASH_ENV = "GUIDEQA_CRASH_AT"  # test hook: kill the process at a named build step
log = logging.getLogger("guideqa.index")


@dataclass(frozen=True)
class IngestSummary:
    """What one ingest did to the index."""

    version: str | None
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    documents: int = 0
    chunks: int = 0
    embedded_chunks: int = 0
    failures: tuple[IngestError, ...] = ()
    seconds: float = 0.0
    published: bool = False
    counts_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class _Previous:
    documents: dict[str, Document]
    chunks: dict[str, list[Chunk]]
    vectors: dict[str, Vectors]


def _checkpoint(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os._exit(137)


def _load_previous(root: Path, expected_id: str) -> _Previous:
    if current_version(root) is None:
        return _Previous({}, {}, {})
    try:  # a broken CURRENT falls back to the newest intact version, loudly
        folder = current_version_dir(root)
    except IndexCorruptError as exc:
        log.warning("nothing can be reused: %s", exc)
        return _Previous({}, {}, {})
    if read_manifest(folder).settings_id != expected_id:
        return _Previous({}, {}, {})  # built with other settings: nothing can be reused
    store = MetadataStore(folder / "store.sqlite")
    vectors = np.load(folder / "vectors.npy")
    previous = _Previous({}, {}, {})
    for doc in store.documents:
        rows = store.rows_of_document(doc.doc_id)
        previous.documents[doc.doc_id] = doc
        previous.chunks[doc.doc_id] = store.chunks(rows)
        previous.vectors[doc.doc_id] = vectors[rows]
    store.close()
    return previous


def _write_failure(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


def _published_intact(root: Path) -> bool:
    """Whether CURRENT names a complete version (else even an unchanged corpus is published)."""
    name = current_version(root)
    return name is not None and version_problem(versions_dir(root) / name) is None


def corpus_hash(documents: Sequence[Document]) -> str:
    """Hash of every document id and content hash: equal corpora, equal hash."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{doc.doc_id}\0{doc.content_hash}\n".encode())
    return digest.hexdigest()


class IndexWriter:
    """Builds and publishes index versions; one writer at a time."""

    def __init__(
        self,
        index: IndexSettings,
        embedding: EmbeddingSettings,
        chunking: ChunkingSettings,
        embedder: Embedder,
        chunker: SectionChunker,
    ) -> None:
        self.index = index
        self.embedding = embedding
        self.chunking = chunking
        self.embedder = embedder
        self.chunker = chunker
        self.settings_id = settings_id(embedding, chunking)

    def ingest(
        self,
        documents: Sequence[Document],
        *,
        failures: Sequence[IngestError] = (),
        prune: bool = False,
        remove: Sequence[str] = (),
        scanned_sources: Sequence[str] = (),
        source_fingerprint: str | None = None,
        progress: Progress | None = None,
    ) -> IngestSummary:
        """Merge documents into a new version and publish it, unless nothing changed."""
        started = time.perf_counter()
        root = self.index.directory
        with write_lock(root, self.index.lock_timeout_s):
            previous = _load_previous(root, self.settings_id)
            plan = _plan(previous, documents, prune, scanned_sources, set(remove))
            _checkpoint("before_embed")
            final_docs = plan.final_documents
            if not plan.touches_index and _published_intact(root):
                return plan.summary(None, failures, time.perf_counter() - started, previous)
            chunks, vectors, embedded = self._chunks_and_vectors(
                final_docs, previous, plan, progress
            )
            name = next_version_name(root)
            build = new_build_dir(root, name)
            try:
                manifest = self._write_version(
                    build, name, final_docs, chunks, vectors, embedded, source_fingerprint, started
                )
                _checkpoint("before_publish")
                publish(root, build, name)
            # disk full, read-only, quota: SQLite, numpy and faiss each report it their own way
            except (OSError, sqlite3.Error, RuntimeError) as exc:
                shutil.rmtree(build, ignore_errors=True)
                raise IndexWriteError(
                    f"could not write index version {name} at {root} ({_write_failure(exc)}); "
                    f"the published version {current_version(root) or '(none)'} is unchanged: "
                    "free disk space and run this again"
                ) from exc
            collect_garbage(root, self.index.keep_versions)
        summary = plan.summary(name, failures, time.perf_counter() - started, previous)
        return IngestSummary(
            **{
                **summary.__dict__,
                "published": True,
                "chunks": manifest.chunks,
                "embedded_chunks": embedded,
                "counts_by_kind": manifest.counts_by_kind,
            }
        )

    def _chunks_and_vectors(
        self, docs: list[Document], previous: _Previous, plan: _Plan, progress: Progress | None
    ) -> tuple[list[Chunk], Vectors, int]:
        chunks: list[Chunk] = []
        parts: list[Vectors | None] = []
        pending: list[tuple[int, list[str]]] = []
        for doc in docs:
            if doc.doc_id in plan.reused:
                chunks.extend(previous.chunks[doc.doc_id])
                parts.append(previous.vectors[doc.doc_id])
                continue
            doc_chunks = self.chunker.chunk_document(doc)
            chunks.extend(doc_chunks)
            pending.append((len(parts), [index_text(doc, c) for c in doc_chunks]))
            parts.append(None)
        texts = [t for _, batch in pending for t in batch]
        fresh = self._embed(texts, progress)
        offset = 0
        for slot, batch in pending:
            parts[slot] = fresh[offset : offset + len(batch)]
            offset += len(batch)
        dimension = self.embedder.dimension
        matrix = (
            np.vstack([p for p in parts if p is not None]) if parts else np.zeros((0, dimension))
        )
        return chunks, matrix.astype(np.float32), len(texts)

    def _embed(self, texts: list[str], progress: Progress | None) -> Vectors:
        out = np.zeros((len(texts), self.embedder.dimension), dtype=np.float32)
        # texts of similar length go together: batches carry the least padding
        order = np.argsort([len(t) for t in texts], kind="stable")
        step = 256
        for start in range(0, len(order), step):
            rows = order[start : start + step]
            out[rows] = self.embedder.embed([texts[i] for i in rows])
            if progress:
                progress(min(start + step, len(texts)), len(texts))
        return out

    def _write_version(
        self,
        build: Path,
        name: str,
        docs: list[Document],
        chunks: list[Chunk],
        vectors: Vectors,
        embedded: int,
        fingerprint: str | None,
        started: float,
    ) -> IndexManifest:
        write_store(build / "store.sqlite", docs, chunks)
        _checkpoint("mid_write")
        np.save(build / "vectors.npy", vectors)
        DenseIndex(
            build_faiss(vectors, self.index.dense, self.index.hnsw_m), self.index.dense
        ).save(build / "dense.faiss")
        by_id = {d.doc_id: d for d in docs}
        LexicalIndex.build([index_text(by_id[c.doc_id], c) for c in chunks]).save(build / "bm25")
        kinds = Counter(d.kind.value for d in docs)
        manifest = IndexManifest(
            version=name,
            created=dt.datetime.now(dt.UTC),
            settings_id=self.settings_id,
            embedding=self.embedding.identity(),
            chunking=self.chunking.identity(),
            dense=self.index.dense.value,
            documents=len(docs),
            chunks=len(chunks),
            counts_by_kind=dict(sorted(kinds.items())),
            corpus_hash=corpus_hash(docs),
            source_fingerprint=fingerprint,
            build_seconds=round(time.perf_counter() - started, 2),
            embedded_chunks=embedded,
        )
        write_json(build / MANIFEST, manifest.model_dump(mode="json"))
        return manifest


@dataclass
class _Plan:
    final_documents: list[Document]
    reused: set[str]
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]

    @property
    def touches_index(self) -> bool:
        return bool(self.added or self.changed or self.removed)

    def summary(
        self,
        version: str | None,
        failures: Sequence[IngestError],
        seconds: float,
        previous: _Previous,
    ) -> IngestSummary:
        return IngestSummary(
            version=version,
            added=tuple(self.added),
            changed=tuple(self.changed),
            unchanged=tuple(self.unchanged),
            removed=tuple(self.removed),
            documents=len(self.final_documents),
            chunks=sum(len(previous.chunks.get(d, [])) for d in self.reused),
            failures=tuple(failures),
            seconds=round(seconds, 2),
        )


def _plan(
    previous: _Previous,
    documents: Sequence[Document],
    prune: bool,
    scanned: Sequence[str],
    remove: set[str] | None = None,
) -> _Plan:
    incoming: dict[str, Document] = {}
    for doc in documents:  # a later file with the same id replaces an earlier one
        incoming[doc.doc_id] = doc
    plan = _Plan([], set(), [], [], [], [])
    scanned_set = set(scanned)
    for doc_id, old in previous.documents.items():
        if doc_id in incoming:
            continue
        gone = not Path(old.source_path).exists() or old.source_path in scanned_set
        if (prune and gone) or doc_id in (remove or set()):
            plan.removed.append(doc_id)
        else:
            plan.final_documents.append(old)
            plan.reused.add(doc_id)
    for doc_id, doc in incoming.items():
        earlier = previous.documents.get(doc_id)
        if earlier is not None and earlier.content_hash == doc.content_hash:
            plan.unchanged.append(doc_id)
            plan.reused.add(doc_id)
            plan.final_documents.append(earlier)
        else:
            (plan.changed if earlier is not None else plan.added).append(doc_id)
            plan.final_documents.append(doc)
    plan.final_documents.sort(key=lambda d: d.doc_id)
    return plan
