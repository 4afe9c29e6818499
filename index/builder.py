"""Write a new index version: reuse unchanged documents, embed only what changed, publish."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from guideqa.index.append import Head, append_version, appendable, within_share
from guideqa.index.dense import DenseIndex, build_faiss, choose_structure
from guideqa.index.embed_run import (
    CRASH_ENV,
    BatchRunner,
    JournalPlace,
    Progress,
    Rows,
    checkpoint,
    embed_journaled,
)
from guideqa.index.errors import IndexWriteError
from guideqa.index.hybrid import settings_id
from guideqa.index.journal import discard_journals
from guideqa.index.lexical import LexicalIndex
from guideqa.index.models import IndexManifest
from guideqa.index.plan import (
    IngestSummary,
    Plan,
    Previous,
    corpus_hash,
    load_previous,
    make_plan,
    published_head,
    published_stubs,
)
from guideqa.index.settings import IndexSettings
from guideqa.index.store import write_store
from guideqa.index.versions import (
    MANIFEST,
    collect_garbage,
    current_version,
    new_build_dir,
    next_version_name,
    publish,
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

__all__ = ["CRASH_ENV", "IndexWriter", "IngestSummary", "corpus_hash"]
log = logging.getLogger("guideqa.index")


@dataclass(frozen=True)
class _WriteOptions:
    full: bool
    progress: Progress | None
    fingerprint: str | None
    started: float


@dataclass(frozen=True)
class _Embedded:
    """Chunks of the new version in row order, their vectors, and where the vectors came from."""

    chunks: list[Chunk]
    vectors: Vectors
    embedded: int
    resumed: int


def _write_failure(exc: Exception) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"


def _published_intact(root: Path) -> bool:
    """Whether CURRENT names a complete version (else even an unchanged corpus is published)."""
    name = current_version(root)
    return name is not None and version_problem(versions_dir(root) / name) is None


class IndexWriter:
    """Builds and publishes index versions; one writer at a time."""

    def __init__(
        self,
        index: IndexSettings,
        embedding: EmbeddingSettings,
        chunking: ChunkingSettings,
        embedder: Embedder,
        chunker: SectionChunker,
        runner: BatchRunner | None = None,
    ) -> None:
        self.index = index
        self.runner = runner  # who embeds the batches (default: this process, in order)
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
        full: bool = False,
    ) -> IngestSummary:
        """Merge documents into a new version and publish it, unless nothing changed.

        A small change to a large (IVF) index is appended to the published version; anything
        else, or `full=True`, writes every part of the index anew."""
        started = time.perf_counter()
        root = self.index.directory
        with write_lock(root, self.index.lock_timeout_s):
            head = published_head(root, self.settings_id)
            published = published_stubs(head)
            plan = make_plan(published, documents, prune, scanned_sources, set(remove))
            checkpoint("before_embed")
            if not plan.touches_index and not full and _published_intact(root):
                return plan.summary(None, failures, time.perf_counter() - started, published)
            name = next_version_name(root)
            build: Path | None = None
            try:
                build = new_build_dir(root, name)
                options = _WriteOptions(full, progress, source_fingerprint, started)
                manifest, embedded, resumed = self._write(
                    build, name, head, plan, published.chunk_counts, options
                )
                checkpoint("before_publish")
                publish(root, build, name)
            # disk full, read-only, quota: SQLite, numpy and faiss each report it their own way
            except (OSError, sqlite3.Error, RuntimeError) as exc:
                if build is not None:
                    shutil.rmtree(build, ignore_errors=True)
                raise IndexWriteError(
                    f"could not write index version {name} at {root} ({_write_failure(exc)}); "
                    f"the published version {current_version(root) or '(none)'} is unchanged: "
                    "free disk space and run this again"
                ) from exc
            discard_journals(root)
            collect_garbage(root, self.index.keep_versions)
        summary = plan.summary(name, failures, time.perf_counter() - started, published)
        return IngestSummary(
            **{
                **summary.__dict__,
                "published": True,
                "chunks": manifest.chunks,
                "embedded_chunks": embedded,
                "resumed_chunks": resumed,
                "counts_by_kind": manifest.counts_by_kind,
            }
        )

    def _write(
        self,
        build: Path,
        name: str,
        head: Head | None,
        plan: Plan,
        counts: dict[str, int],
        options: _WriteOptions,
    ) -> tuple[IndexManifest, int, int]:
        """Write the version into `build`: appended to `head` when that is allowed, else whole.
        Returns its manifest and how many vectors were embedded and taken from the journal."""
        fresh = [d for d in plan.final_documents if d.doc_id not in plan.reused]
        full, progress = options.full, options.progress
        fingerprint, started = options.fingerprint, options.started
        may_append = head is not None and not full and appendable(head, self.index)
        chunked = {d.doc_id: self.chunker.chunk_document(d) for d in fresh} if may_append else {}
        fresh_chunks = [(d, c) for d in fresh for c in chunked.get(d.doc_id, [])]
        detaching = sum(counts.get(d, 0) for d in [*plan.removed, *plan.changed])
        if (
            head is not None
            and may_append
            and within_share(head, self.index, len(fresh_chunks), detaching)
        ):
            appended = append_version(
                build,
                head,
                [*plan.removed, *plan.changed],
                fresh,
                [c for _, c in fresh_chunks],
                [index_text(d, c) for d, c in fresh_chunks],
                lambda texts, out, rows: self._embed(texts, progress, out, rows),
            )
            live = sum(counts.get(d, 0) for d in plan.reused) + len(fresh_chunks)
            manifest = self._manifest(name, plan.final_documents, live, fingerprint, started)
            manifest = manifest.model_copy(
                update={
                    "dense": head.manifest.dense,
                    "rows": appended.rows,
                    "base_rows": appended.base_rows,
                    "embedded_chunks": appended.embedded,
                }
            )
            write_json(build / MANIFEST, manifest.model_dump(mode="json"))
            return manifest, appended.embedded, appended.resumed
        previous = load_previous(head)
        # the plan holds stubs of the published documents: write the whole ones back
        docs = [
            previous.documents[d.doc_id] if d.doc_id in plan.reused else d
            for d in plan.final_documents
        ]
        embedded = self._chunks_and_vectors(
            docs, previous, plan, progress, build / "vectors.npy", chunked
        )
        manifest = self._write_version(build, name, docs, embedded, fingerprint, started)
        return manifest, embedded.embedded, embedded.resumed

    def _chunks_and_vectors(
        self,
        docs: list[Document],
        previous: Previous,
        plan: Plan,
        progress: Progress | None,
        vectors_path: Path,
        chunked: dict[str, list[Chunk]],
    ) -> _Embedded:
        """Chunks in row order; their vectors written straight into the version's vectors.npy
        (memory-mapped), reused rows copied from the previous version, new ones embedded."""
        chunks: list[Chunk] = []
        reused: list[tuple[int, list[int]]] = []  # (first new row, previous rows)
        texts: list[str] = []
        text_rows: list[int] = []
        for doc in docs:
            start = len(chunks)
            if doc.doc_id in plan.reused:
                chunks.extend(previous.chunks[doc.doc_id])
                reused.append((start, previous.rows[doc.doc_id]))
                continue
            doc_chunks = chunked.get(doc.doc_id) or self.chunker.chunk_document(doc)
            chunks.extend(doc_chunks)
            texts.extend(index_text(doc, c) for c in doc_chunks)
            text_rows.extend(range(start, start + len(doc_chunks)))
        out = np.lib.format.open_memmap(
            vectors_path, mode="w+", dtype=np.float32, shape=(len(chunks), self.embedder.dimension)
        )
        for start, rows in reused:
            assert previous.vectors is not None
            out[start : start + len(rows)] = previous.vectors[rows]
        resumed = self._embed(texts, progress, out, np.asarray(text_rows, dtype=np.int64))
        out.flush()
        return _Embedded(chunks, out, len(texts) - resumed, resumed)

    def _embed(
        self, texts: list[str], progress: Progress | None, out: Vectors, out_rows: Rows
    ) -> int:
        place = JournalPlace(self.index.directory, self.settings_id, self.index.build_batch_chunks)
        return embed_journaled(self.embedder, place, texts, progress, out, out_rows, self.runner)

    def _manifest(
        self,
        name: str,
        docs: list[Document],
        chunks: int,
        fingerprint: str | None,
        started: float,
    ) -> IndexManifest:
        kinds = Counter(d.kind.value for d in docs)
        return IndexManifest(
            version=name,
            created=dt.datetime.now(dt.UTC),
            settings_id=self.settings_id,
            embedding=self.embedding.identity(),
            chunking=self.chunking.identity(),
            dense=self.index.dense.value,
            documents=len(docs),
            chunks=chunks,
            counts_by_kind=dict(sorted(kinds.items())),
            corpus_hash=corpus_hash(docs),
            source_fingerprint=fingerprint,
            build_seconds=round(time.perf_counter() - started, 2),
        )

    def _write_version(
        self,
        build: Path,
        name: str,
        docs: list[Document],
        embedded: _Embedded,
        fingerprint: str | None,
        started: float,
    ) -> IndexManifest:
        chunks, vectors = embedded.chunks, embedded.vectors
        write_store(build / "store.sqlite", docs, chunks)
        checkpoint("mid_write")
        structure = choose_structure(len(chunks), self.index)
        DenseIndex(build_faiss(vectors, structure, self.index), structure).save(
            build / "dense.faiss"
        )
        by_id = {d.doc_id: d for d in docs}
        LexicalIndex.build([index_text(by_id[c.doc_id], c) for c in chunks]).save(build / "bm25")
        manifest = self._manifest(name, docs, len(chunks), fingerprint, started)
        manifest = manifest.model_copy(
            update={
                "dense": structure.value,
                "embedded_chunks": embedded.embedded,
                "rows": len(chunks),
                "base_rows": len(chunks),
            }
        )
        write_json(build / MANIFEST, manifest.model_dump(mode="json"))
        return manifest
