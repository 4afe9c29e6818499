"""Planning a write: what the published version holds, and what a new ingest changes."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from guideqa.index.append import Head
from guideqa.index.errors import IndexCorruptError
from guideqa.index.store import MetadataStore, document_stubs
from guideqa.index.versions import current_version, current_version_dir, read_manifest
from guideqa.ingest.embedding import Vectors
from guideqa.ingest.errors import IngestError
from guideqa.ingest.models import Chunk, Document

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
    resumed_chunks: int = 0  # vectors taken from the journal of a build that was killed
    failures: tuple[IngestError, ...] = ()
    seconds: float = 0.0
    published: bool = False
    counts_by_kind: dict[str, int] = field(default_factory=dict)


@dataclass
class Previous:
    """The published version as a new write sees it (empty when there is none)."""

    documents: dict[str, Document]
    chunks: dict[str, list[Chunk]]
    rows: dict[str, list[int]]
    vectors: Vectors | None = None  # memory-mapped: only reused rows are read, once
    chunk_counts: dict[str, int] = field(default_factory=dict)


def published_head(root: Path, expected_id: str) -> Head | None:
    """The published version, when its chunks and vectors can be reused with these settings."""
    if current_version(root) is None:
        return None
    try:  # a broken CURRENT falls back to the newest intact version, loudly
        folder = current_version_dir(root)
    except IndexCorruptError as exc:
        log.warning("nothing can be reused: %s", exc)
        return None
    manifest = read_manifest(folder)
    if manifest.settings_id != expected_id:
        return None  # built with other settings: nothing can be reused
    return Head(folder, manifest)


def published_stubs(head: Head | None) -> Previous:
    """The published documents as stubs, and their chunk counts: enough to plan a change.
    A full rebuild replaces the stubs it reuses with whole documents (`load_previous`)."""
    if head is None:
        return Previous({}, {}, {})
    stubs, counts = document_stubs(head.folder / "store.sqlite")
    previous = Previous({d.doc_id: d for d in stubs}, {}, {})
    previous.chunk_counts = counts
    return previous


def load_previous(head: Head | None) -> Previous:
    """Everything of the published version that a full rebuild reuses."""
    if head is None:
        return Previous({}, {}, {})
    store = MetadataStore(head.folder / "store.sqlite")
    previous = Previous({}, {}, {}, np.load(head.folder / "vectors.npy", mmap_mode="r"))
    for doc in store.full_documents():
        rows = store.rows_of_document(doc.doc_id)
        previous.documents[doc.doc_id] = doc
        previous.chunks[doc.doc_id] = store.chunks(rows)
        previous.rows[doc.doc_id] = rows
        previous.chunk_counts[doc.doc_id] = len(rows)
    store.close()
    return previous


def corpus_hash(documents: Sequence[Document]) -> str:
    """Hash of every document id and content hash: equal corpora, equal hash."""
    digest = hashlib.sha256()
    for doc in sorted(documents, key=lambda d: d.doc_id):
        digest.update(f"{doc.doc_id}\0{doc.content_hash}\n".encode())
    return digest.hexdigest()


@dataclass
class Plan:
    """What an ingest changes: the documents of the new version and where each comes from."""

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
        previous: Previous,
    ) -> IngestSummary:
        return IngestSummary(
            version=version,
            added=tuple(self.added),
            changed=tuple(self.changed),
            unchanged=tuple(self.unchanged),
            removed=tuple(self.removed),
            documents=len(self.final_documents),
            chunks=sum(previous.chunk_counts.get(d, 0) for d in self.reused),
            failures=tuple(failures),
            seconds=round(seconds, 2),
        )


def make_plan(
    previous: Previous,
    documents: Sequence[Document],
    prune: bool,
    scanned: Sequence[str],
    remove: set[str] | None = None,
) -> Plan:
    """Compare incoming documents with the published ones: added, changed (new content hash),
    unchanged (reused as they are), removed (named, or pruned because their file is gone)."""
    incoming: dict[str, Document] = {}
    for doc in documents:  # a later file with the same id replaces an earlier one
        incoming[doc.doc_id] = doc
    plan = Plan([], set(), [], [], [], [])
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
