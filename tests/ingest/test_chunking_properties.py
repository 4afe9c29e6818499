"""Property-based tests of the chunker (hypothesis): for any section text, no text is lost, no
chunk is over the token limit, and no chunk crosses a section boundary."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from guideqa.ingest.chunking import SectionChunker
from guideqa.ingest.models import Document, Section, SourceKind
from guideqa.ingest.settings import ChunkingSettings

LIMIT = 12


def count_words(text: str) -> int:
    """A stand-in tokenizer: one token per run of non-space characters."""
    return len(text.split())


# Words, list bullets, colons and line breaks: what list protection and splitting act on.
pieces = st.sampled_from(
    [
        *("word", "dose", "mg", "1.", "-", "•", ":", "include", "the following", ".", ";", ","),
        *("\n", "\n\n", " ", "  ", "a" * 30, "\t"),
    ]
)
section_text = (
    st.lists(pieces, min_size=1, max_size=120)
    .map(lambda parts: " ".join(parts))
    .filter(lambda text: text.strip() != "")
)


def _document(texts: list[str]) -> Document:
    sections = tuple(Section(heading=f"S{i}", text=t) for i, t in enumerate(texts))
    return Document(
        doc_id="prop-doc",
        kind=SourceKind.GUIDELINE,
        title="Property document",
        source_path="prop.md",
        content_hash="0",
        sections=sections,
    )


def _covered(text: str, chunks: list[str]) -> bool:
    """Every non-space character of the text lies in some chunk. Each chunk is placed at the
    latest occurrence after the previous chunk's start that leaves no text uncovered between
    them (in repetitive text such as 'word word word' an earlier occurrence is only the
    overlap); failing that, at its first occurrence after the previous start."""
    covered = [False] * len(text)
    previous_start, previous_end = -1, 0
    for chunk in chunks:
        found, start = [], text.find(chunk, previous_start + 1)
        while start >= 0:
            found.append(start)
            start = text.find(chunk, start + 1)
        if not found:
            return False
        adjoining = [s for s in found if not text[previous_end:s].strip()]
        start = max(adjoining) if adjoining else found[0]
        covered[start : start + len(chunk)] = [True] * len(chunk)
        previous_start, previous_end = start, max(previous_end, start + len(chunk))
    return all(c or text[i].isspace() for i, c in enumerate(covered))


@settings(max_examples=150, deadline=None)
@given(texts=st.lists(section_text, min_size=1, max_size=3), overlap=st.integers(0, 4))
def test_chunks_keep_all_text_within_limit_and_section(texts: list[str], overlap: int) -> None:
    chunker = SectionChunker(
        ChunkingSettings(chunk_tokens=LIMIT, overlap_tokens=overlap), count_words
    )
    document = _document(texts)
    chunks = chunker.chunk_document(document)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for index, section in enumerate(document.sections):
        own = [c for c in chunks if c.section_index == index]
        assert own, "every section has a chunk"
        for chunk in own:
            assert chunk.token_count == count_words(chunk.text) <= LIMIT
            assert chunk.section == section.heading
        assert _covered(section.text, [c.text for c in own])
