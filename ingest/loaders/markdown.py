"""Markdown and plain text with a YAML front-matter block of metadata."""

from __future__ import annotations

import re
from pathlib import Path

from guideqa.ingest.errors import CorruptFileError, EmptyDocumentError
from guideqa.ingest.loaders.base import SourceMetadata, clean_text, parse_metadata, sha256_bytes
from guideqa.ingest.models import Document, Section

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_HEADING_START = re.compile(r"(#{1,6})[ \t]+(?=\S)")


class MarkdownLoader:
    """Reads `.md`/`.markdown`/`.txt` files; headings become the section path."""

    name = "markdown"

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in {".md", ".markdown", ".txt"} and not _looks_like_medline(head)

    def load(self, path: Path) -> list[Document]:
        raw = path.read_bytes()
        try:  # a byte-order mark and Windows line ends must not hide the front matter
            text = raw.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
        except UnicodeDecodeError as exc:
            raise CorruptFileError(path, f"not UTF-8 text ({exc.reason})") from exc
        meta, body = split_front_matter(text, path)
        sections = markdown_sections(body)
        if not sections:
            raise EmptyDocumentError(path, "no text after the front matter")
        title = _first_heading(body) or path.stem
        return [meta.document(path, title, sha256_bytes(raw), tuple(sections))]


def _looks_like_medline(head: bytes) -> bool:
    return bool(re.match(rb"\s*PMID-\s*\d+", head))


def split_front_matter(text: str, path: Path) -> tuple[SourceMetadata, str]:
    """Separate a leading `---` YAML block from the body."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return SourceMetadata(), text
    return parse_metadata(match.group(1), path), text[match.end() :]


def heading(line: str) -> tuple[int, str] | None:
    """'## Title ##' -> (2, 'Title'); None for a line that is not an ATX heading. Linear in
    the line's length (the regex it replaces backtracked on long runs of spaces)."""
    start = _HEADING_START.match(line)
    if start is None:
        return None
    text = line[start.end() :].rstrip()
    closed = text.rstrip("#")
    if closed != text and (not closed or closed[-1] in " \t"):
        text = closed.rstrip()
    return (len(start.group(1)), text) if text else None


def _first_heading(body: str) -> str | None:
    for line in body.splitlines():
        found = heading(line)
        if found:
            return found[1]
    return None


def markdown_sections(body: str) -> list[Section]:
    """Split Markdown at headings; each section records the heading path above it."""
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []
    buffer: list[str] = []

    def flush() -> None:
        text = clean_text("\n".join(buffer))
        buffer.clear()
        if text:
            path = tuple(h for _, h in stack)
            sections.append(Section(heading=path[-1] if path else "Text", text=text, path=path))

    for line in body.splitlines():
        found = heading(line)
        if not found:
            buffer.append(line)
            continue
        flush()
        level, title = found
        while stack and stack[-1][0] >= level:
            stack.pop()
        stack.append((level, title))
    flush()
    return sections
