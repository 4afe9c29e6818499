"""What qa and api need from an index, behind one protocol, and the backends that provide it.

`SearchIndex` is one opened version (search, documents, term statistics); `IndexBackend` is
where versions live (the current one, publishing, readiness). The local backend keeps versions
as folders (FAISS + bm25s + SQLite); the Milvus backend as collections behind an alias
(`index.milvus`). qa and api only see these protocols."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from guideqa.index.errors import IndexCorruptError
from guideqa.index.hybrid import HybridIndex, settings_id
from guideqa.index.models import IndexManifest
from guideqa.index.settings import BackendKind, IndexSettings
from guideqa.index.source import PassageSource
from guideqa.index.versions import (
    current_version,
    current_version_dir,
    list_versions,
    read_manifest,
    version_problem,
    versions_dir,
)
from guideqa.ingest.embedding import Embedder
from guideqa.ingest.settings import ChunkingSettings, EmbeddingSettings


class SearchIndex(PassageSource, Protocol):
    """One opened, immutable index version: what qa reads (`PassageSource`), plus what the
    service shows and manages. Thread-safe for concurrent searches."""

    manifest: IndexManifest
    embedder: Embedder

    def chunk_count(self, doc_id: str) -> int:
        """How many passages a document has in this version."""
        ...

    def close(self) -> None:
        """Release what the version holds open."""
        ...


class IndexBackend(Protocol):
    """Where index versions live: which one is current, publishing, health."""

    name: str

    def published_version(self) -> str | None:
        """The version a newly opened index would serve (None: nothing published)."""
        ...

    def open(self, embedder: Embedder, version: str | None = None) -> SearchIndex:
        """Open the published version; with `version`, exactly that one (a hot swap), else
        the newest intact one (a start)."""
        ...

    def published_manifest(self) -> IndexManifest | None:
        """The manifest of the version served now (None: nothing published)."""
        ...

    def publish(self, version_dir: Path, allow_older: bool = False) -> str:
        """Make a version built on local disk the current one; returns its name. A version
        older than the served one is refused unless `allow_older` (a deliberate roll-back)."""
        ...

    def versions(self) -> list[IndexManifest]:
        """Manifests of the versions kept, oldest first."""
        ...

    def problem(self, served: str) -> str | None:
        """Why the backend cannot serve `served` now (unreachable, gone), or None."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class LocalBackend:
    """Versions as folders under `settings.directory`, published by `IndexWriter`."""

    name = "local"

    def __init__(
        self, settings: IndexSettings, embedding: EmbeddingSettings, chunking: ChunkingSettings
    ) -> None:
        self.settings = settings
        self.settings_id = settings_id(embedding, chunking)

    def published_version(self) -> str | None:
        return current_version(self.settings.directory)

    def open(self, embedder: Embedder, version: str | None = None) -> HybridIndex:
        if version is None:  # at start: CURRENT, or the newest intact version if it is broken
            folder = current_version_dir(self.settings.directory)
        else:
            folder = versions_dir(self.settings.directory) / version
            problem = version_problem(folder)
            if problem is not None:
                raise IndexCorruptError(f"published version {version} is broken: {problem}")
        return HybridIndex(folder, self.settings, embedder, self.settings_id)

    def published_manifest(self) -> IndexManifest | None:
        name = current_version(self.settings.directory)
        if name is None or version_problem(versions_dir(self.settings.directory) / name):
            return None
        return read_manifest(versions_dir(self.settings.directory) / name)

    def publish(self, version_dir: Path, allow_older: bool = False) -> str:
        # the writer publishes local versions itself (atomic rename of CURRENT)
        return version_dir.name

    def versions(self) -> list[IndexManifest]:
        return list_versions(self.settings.directory)

    def problem(self, served: str) -> str | None:
        folder = versions_dir(self.settings.directory) / served
        found = version_problem(folder)
        return None if found is None else f"served version {served} on disk: {found}"

    def close(self) -> None:
        return None


def create_backend(
    settings: IndexSettings, embedding: EmbeddingSettings, chunking: ChunkingSettings
) -> IndexBackend:
    """The backend the settings name (Milvus is imported only when chosen)."""
    if BackendKind(settings.backend) is BackendKind.MILVUS:  # model_copy does not validate
        from guideqa.index.milvus_backend import MilvusBackend

        return MilvusBackend(settings, settings_id(embedding, chunking))
    return LocalBackend(settings, embedding, chunking)
