"""PDF guidelines via pypdf: page numbers kept, running headers and footers removed."""

from __future__ import annotations

import logging
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pypdf

from guideqa.ingest.errors import CorruptFileError, EmptyDocumentError
from guideqa.ingest.loaders.base import (
    TITLE_FUNCTION_WORDS,
    SourceMetadata,
    clean_text,
    sha256_bytes,
    sidecar_metadata,
)
from guideqa.ingest.models import Document, Section
from guideqa.ingest.settings import IngestLimits

# Lines seen at the top or bottom of at least this share of pages are running heads.
_RUNNING_SHARE = 0.3
_EDGE_LINES = 3
# Reference lists are citations, not guidance: they are left out of the sections.
_BIBLIOGRAPHY = re.compile(r"^(references|bibliography|works cited)$", re.IGNORECASE)


@dataclass
class _SectionDraft:
    heading: str
    page_start: int
    parts: list[str] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)
    page_end: int = 0


class PdfLoader:
    """Reads text PDFs; a `<file>.pdf.meta.yaml` sidecar supplies provenance."""

    name = "pdf"

    def __init__(self, limits: IngestLimits | None = None) -> None:
        self.limits = limits or IngestLimits()

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".pdf" or head.startswith(b"%PDF")

    def load(self, path: Path) -> list[Document]:
        raw = path.read_bytes()
        pages = read_pdf_pages(path, self.limits)
        pages = strip_running_lines(pages)
        sections = pdf_sections(pages)
        if not sections:
            raise EmptyDocumentError(
                path, "no extractable text (scanned image PDF?)", "run OCR first"
            )
        meta = sidecar_metadata(path) or SourceMetadata()
        title = _pdf_title(path) or path.stem
        return [meta.document(path, title, sha256_bytes(raw), tuple(sections))]


def read_pdf_pages(path: Path, limits: IngestLimits | None = None) -> list[list[str]]:
    """Each page's text as lines; typed errors for corrupt, encrypted or over-budget files
    (pages, characters and seconds: GUIDEQA_INGEST__MAX_PDF_PAGES, ...)."""
    limits = limits or IngestLimits()
    try:
        reader = pypdf.PdfReader(path)
        if reader.is_encrypted:
            raise CorruptFileError(path, "the PDF is encrypted", "supply an unencrypted copy")
        # the declared count first: listing 50,000 pages would itself take seconds
        count = max(_declared_pages(reader), 0)
        count = count if count > limits.max_pdf_pages else len(reader.pages)
        if count > limits.max_pdf_pages:
            raise CorruptFileError(
                path,
                f"the PDF has {count} pages; the limit is {limits.max_pdf_pages}",
                "split it, or raise GUIDEQA_INGEST__MAX_PDF_PAGES",
            )
        # pypdf logs font warnings for many real PDFs; they are not actionable here.
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        return _page_lines(path, reader, limits)
    except CorruptFileError:
        raise
    except Exception as exc:  # pypdf raises many types on hostile input: all mean unreadable
        raise CorruptFileError(path, f"not a readable PDF ({type(exc).__name__}: {exc})") from exc


def _declared_pages(reader: pypdf.PdfReader) -> int:
    pages = reader.root_object.get("/Pages")
    count = pages.get_object().get("/Count", 0) if pages is not None else 0
    return count if isinstance(count, int) else 0


def _page_lines(path: Path, reader: pypdf.PdfReader, limits: IngestLimits) -> list[list[str]]:
    deadline = time.monotonic() + limits.max_seconds
    pages: list[list[str]] = []
    chars = 0
    for page in reader.pages:
        text = clean_text(page.extract_text() or "")
        chars += len(text)
        if chars > limits.max_chars or time.monotonic() > deadline:
            raise CorruptFileError(
                path,
                f"reading stopped at page {len(pages) + 1}: over the budget of "
                f"{limits.max_chars} characters or {limits.max_seconds:.0f} s",
                "raise GUIDEQA_INGEST__MAX_CHARS or __MAX_SECONDS if this PDF is expected",
            )
        pages.append(text.split("\n"))
    return pages


def _pdf_title(path: Path) -> str | None:
    try:
        meta = pypdf.PdfReader(path).metadata
    except Exception:  # a title is optional: any failure falls back to the file name
        return None
    title = (meta.title if meta else None) or ""
    return title.strip() or None


def _line_key(line: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", line.lower()))


def strip_running_lines(pages: list[list[str]]) -> list[list[str]]:
    """Drop header/footer lines repeated (digits aside) at the edges of many pages."""
    counts: Counter[str] = Counter()
    for lines in pages:
        edges = {_line_key(x) for x in lines[:_EDGE_LINES] + lines[-_EDGE_LINES:] if x.strip()}
        counts.update(edges)
    threshold = max(3, int(len(pages) * _RUNNING_SHARE))
    running = {key for key, n in counts.items() if n >= threshold}
    cleaned = []
    for lines in pages:
        edge_idx = set(range(_EDGE_LINES)) | set(range(len(lines) - _EDGE_LINES, len(lines)))
        cleaned.append(
            [x for i, x in enumerate(lines) if not (i in edge_idx and _line_key(x) in running)]
        )
    return cleaned


def looks_like_heading(line: str, previous: str) -> bool:
    """A short title-case line after a finished sentence reads as a heading."""
    words = line.split()
    if not 1 <= len(words) <= 12 or len(line) > 90 or line[-1] in ".,;:-" or not line[0].isupper():
        return False
    if previous and previous[-1] not in ".:?!)" and not looks_like_heading(previous, ""):
        return False
    content = [w for w in words if w.lower() not in TITLE_FUNCTION_WORDS]
    capitalised = sum(1 for w in content if w[0].isupper() or w[0].isdigit())
    return bool(content) and capitalised / len(content) >= 0.8


def _join_line(parts: list[str], line: str) -> None:
    if parts and parts[-1].endswith("-") and line[:1].islower():
        parts[-1] = parts[-1][:-1] + line  # a word hyphenated across a line break
    else:
        parts.append(line)


def pdf_sections(pages: list[list[str]]) -> list[Section]:
    """Group page lines into heading-delimited sections that remember their pages."""
    drafts: list[_SectionDraft] = []
    current = _SectionDraft(heading="Front matter", page_start=1)
    previous = ""
    for page_no, lines in enumerate(pages, start=1):
        if current.parts and page_no > current.page_start:
            current.breaks.append(len(" ".join(current.parts)) + 1)
        for line in (x.strip() for x in lines):
            if not line:
                continue
            if looks_like_heading(line, previous) and current.parts:
                current.page_end = page_no
                drafts.append(current)
                current = _SectionDraft(heading=line, page_start=page_no)
            elif looks_like_heading(line, previous) and not current.parts:
                # a heading wrapped over two lines continues the one before it
                fresh = current.heading == "Front matter"
                current.heading = line if fresh else f"{current.heading} {line}"
                current.page_start = page_no
            else:
                _join_line(current.parts, line)
            previous = line
        current.page_end = page_no
    drafts.append(current)
    return [_to_section(d) for d in drafts if d.parts and not _BIBLIOGRAPHY.match(d.heading)]


def _to_section(draft: _SectionDraft) -> Section:
    text = " ".join(draft.parts)
    page_end = draft.page_start + len([b for b in draft.breaks if b < len(text)])
    return Section(
        heading=draft.heading,
        text=text,
        path=(draft.heading,),
        page_start=draft.page_start,
        page_end=max(page_end, draft.page_start),
        page_breaks=tuple(b for b in draft.breaks if b < len(text)),
    )
