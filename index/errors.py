"""Errors raised by the index layer."""

from __future__ import annotations

from guideqa.ingest.errors import GuideQAError


class IndexNotFoundError(GuideQAError):
    """No published index version exists at the configured directory."""


class IndexMismatchError(GuideQAError):
    """The index was built with settings that differ from the ones in use."""


class IndexBusyError(GuideQAError):
    """Another process holds the index write lock."""


class IndexCorruptError(GuideQAError):
    """A published index version is missing files or cannot be read."""


class IndexWriteError(GuideQAError):
    """A new index version could not be written (disk full, read-only, ...); the published
    version is unchanged."""


class BackendUnavailableError(GuideQAError):
    """The index backend (a Milvus server) cannot be reached or refused an operation."""


class StagingMismatchError(GuideQAError):
    """A write with a remote backend would publish from a staging index that is not the one
    behind the served version (another writer published since)."""
