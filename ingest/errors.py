"""The project's error hierarchy. Translated to HTTP or CLI messages only at the edge."""

from __future__ import annotations

from pathlib import Path


class GuideQAError(Exception):
    """Base of every error GuideQA raises on purpose; its message is meant for a person."""


class IngestError(GuideQAError):
    """A source file could not be turned into documents."""

    def __init__(self, path: Path | str, reason: str, hint: str = "") -> None:
        self.path = str(path)
        self.reason = reason
        self.hint = hint
        message = f"{self.path}: {reason}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class UnsupportedFormatError(IngestError):
    """The file's type is not one GuideQA reads."""


class EmptyDocumentError(IngestError):
    """The file parsed but holds no text to index."""


class CorruptFileError(IngestError):
    """The file is damaged, encrypted or not valid for its declared format."""


class ModelError(GuideQAError):
    """The embedding model could not be loaded or run."""


class ConfigurationError(GuideQAError):
    """The settings ask for something that cannot be set up (a missing extra, a missing value)."""
