"""Section-aware chunking sized in model tokens: chunks never cross a section boundary."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from guideqa.ingest.models import Chunk, Document, Section, Span
from guideqa.ingest.settings import ChunkingSettings

TokenCounter = Callable[[str], int]
# Paragraphs, lines, then sentence ends, then clauses: the order text is cut in.
_SEPARATORS = ["\n\n", "\n", ". ", "; ", ", ", " ", ""]
# A line that introduces a list, and the bullet lines after it: kept in one chunk when they
# fit, so that a recommendation is never cut from its list. Their line breaks are swapped for a
# private-use character (one for one, so offsets hold) while the text is split.
_LIST_BLOCK = re.compile(
    r"^[^\n]*(?::|\binclude[sd]?|\bthe following)[ \t]*\n"
    r"(?:[ \t]*(?:[-•*▪]|\d{1,2}[.)])[ \t][^\n]*(?:\n|$))+",
    re.MULTILINE | re.IGNORECASE,
)
_KEPT_BREAK = "\ue000"


def protect_lists(text: str) -> str:
    """The text with line breaks inside list blocks replaced by a non-separator character."""
    return _LIST_BLOCK.sub(
        lambda m: m.group(0)[:-1].replace("\n", _KEPT_BREAK) + m.group(0)[-1:], text
    )


def model_token_counter(max_length: int = 100_000) -> TokenCounter:
    """Count tokens with the embedding model's own tokenizer (no truncation)."""
    from guideqa.ingest.model_files import load_tokenizer

    tokenizer = load_tokenizer(max_length)
    tokenizer.no_truncation()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


class SectionChunker:
    """Splits each section on its own; every chunk knows its section path and pages."""

    def __init__(self, settings: ChunkingSettings, count_tokens: TokenCounter) -> None:
        self.settings = settings
        self.count_tokens = count_tokens
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=settings.chunk_tokens,
            chunk_overlap=settings.overlap_tokens,
            length_function=count_tokens,
            separators=_SEPARATORS,
            keep_separator="end",
            add_start_index=True,
            strip_whitespace=True,
        )

    def chunk_document(self, document: Document) -> list[Chunk]:
        """All chunks of a document, numbered in reading order."""
        chunks: list[Chunk] = []
        for index, section in enumerate(document.sections):
            for start, text, tokens in self._split(section):
                chunk = self._make_chunk(document, section, start, text, tokens, len(chunks))
                chunks.append(chunk.model_copy(update={"section_index": index}))
        return chunks

    def _split(self, section: Section) -> Iterable[tuple[int, str, int]]:
        tokens = self.count_tokens(section.text)
        if tokens <= self.settings.chunk_tokens:
            yield 0, section.text, tokens
            return
        protected = protect_lists(section.text.replace(_KEPT_BREAK, " "))
        for piece in self._splitter.create_documents([protected]):
            text = piece.page_content.replace(_KEPT_BREAK, "\n")
            yield int(piece.metadata.get("start_index", 0)), text, self.count_tokens(text)

    @staticmethod
    def _make_chunk(
        document: Document, section: Section, start: int, text: str, tokens: int, ordinal: int
    ) -> Chunk:
        begin = max(start, 0)
        first, last = section.pages_of(begin, begin + len(text))
        return Chunk(
            chunk_id=f"{document.doc_id}#{ordinal:04d}",
            doc_id=document.doc_id,
            ordinal=ordinal,
            section_index=0,
            section=section.title,
            section_path=section.path or (section.title,),
            section_number=section.number,
            section_code=section.code,
            section_role=section.role,
            population=section.population,
            grade=section.grade,
            page_start=first,
            page_end=last,
            text=text,
            token_count=tokens,
            table_rows=rows_within(section.table_rows, begin, begin + len(text)),
        )


def rows_within(rows: tuple[Span, ...], start: int, end: int) -> tuple[Span, ...]:
    """Table-row spans that lie whole in [start, end), relative to start."""
    return tuple((a - start, b - start) for a, b in rows if a >= start and b <= end)


def index_text(document: Document, chunk: Chunk) -> str:
    """What is embedded and BM25-indexed: the passage with its title and section for context."""
    where = " > ".join(chunk.section_path)
    return f"{document.title}. {where}.\n{chunk.text}"
