"""Format detection and batch loading over every supported loader."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from guideqa.ingest.errors import (
    CorruptFileError,
    EmptyDocumentError,
    IngestError,
    UnsupportedFormatError,
)
from guideqa.ingest.loaders.base import Loader
from guideqa.ingest.loaders.markdown import MarkdownLoader
from guideqa.ingest.loaders.openfda import OpenFdaLoader
from guideqa.ingest.loaders.pdf import PdfLoader
from guideqa.ingest.loaders.pubmed import MedlineLoader, PubMedQaLoader, PubMedXmlLoader
from guideqa.ingest.loaders.spl import SplLoader
from guideqa.ingest.models import Document
from guideqa.ingest.sections import SectionKnowledge, assign_roles
from guideqa.ingest.settings import IngestLimits

SUPPORTED = ".pdf .json .jsonl .ndjson .zip .xml .md .markdown .txt .nbib"
# Files in a corpus folder that describe it rather than belong to it.
_NOT_SOURCES = ("readme", "manifest", "license", "licence", "copying")
_HEAD_BYTES = 4096


def default_loaders(limits: IngestLimits | None = None) -> list[Loader]:
    """Every loader, most specific first (PubMed/PubMedQA before generic JSON/XML/text)."""
    limits = limits or IngestLimits()
    return [
        PdfLoader(limits),
        PubMedQaLoader(),
        OpenFdaLoader(limits),
        PubMedXmlLoader(),
        SplLoader(limits),
        MedlineLoader(),
        MarkdownLoader(),
    ]


def is_source_file(path: Path) -> bool:
    """Whether a file found in a folder should be ingested."""
    name = path.name.lower()
    return not (
        name.startswith((".", "_")) or name.endswith(".meta.yaml") or name.startswith(_NOT_SOURCES)
    )


def iter_source_files(paths: Sequence[Path]) -> Iterator[Path]:
    """Files named directly, and source files found recursively in folders, sorted."""
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and is_source_file(p))
        else:
            yield path


def load_file(
    path: Path,
    loaders: Sequence[Loader] | None = None,
    knowledge: SectionKnowledge | None = None,
) -> list[Document]:
    """Detect the format of one file and load it, or raise a typed IngestError: whatever a
    parser raises on a hostile or broken file becomes an error naming the file.

    Every section leaves with its role and population (ingest/data/section_roles.yaml)."""
    if not path.exists():
        raise IngestError(path, "file not found", "check the path")
    if path.stat().st_size == 0:
        raise EmptyDocumentError(path, "the file is empty")
    with path.open("rb") as handle:
        head = handle.read(_HEAD_BYTES)
    for loader in loaders or default_loaders():
        if loader.accepts(path, head):
            knowledge = knowledge or SectionKnowledge.load()
            return [assign_roles(doc, knowledge) for doc in _parse(loader, path)]
    raise UnsupportedFormatError(
        path,
        f"unsupported file type '{path.suffix or path.name}'",
        f"supported: {SUPPORTED} (openFDA/SPL/PubMed content is detected inside .json/.xml)",
    )


def _parse(loader: Loader, path: Path) -> list[Document]:
    try:
        return loader.load(path)
    except IngestError:
        raise
    except RecursionError as exc:
        raise CorruptFileError(
            path, "nested too deeply to parse", "is it a real document?"
        ) from exc
    except (ValidationError, ValueError) as exc:
        raise CorruptFileError(path, f"invalid {loader.name} content ({_first_line(exc)})") from exc
    except Exception as exc:  # any other parser failure on a hostile or broken file
        raise CorruptFileError(
            path, f"could not be parsed as {loader.name} ({type(exc).__name__}: {_first_line(exc)})"
        ) from exc


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


@dataclass(frozen=True)
class LoadReport:
    """Outcome of loading a batch: documents read and files that failed, with reasons."""

    documents: tuple[Document, ...]
    failures: tuple[IngestError, ...]
    files_read: int


def load_paths(
    paths: Sequence[Path],
    loaders: Sequence[Loader] | None = None,
    limits: IngestLimits | None = None,
) -> LoadReport:
    """Load every file under the paths; a broken file is reported and the rest go on."""
    documents: list[Document] = []
    failures: list[IngestError] = []
    files = list(iter_source_files(paths))
    knowledge = SectionKnowledge.load()
    loaders = loaders or default_loaders(limits)
    for path in files:
        try:
            documents.extend(load_file(path, loaders, knowledge))
        except IngestError as exc:
            failures.append(exc)
    return LoadReport(tuple(documents), tuple(failures), len(files))
