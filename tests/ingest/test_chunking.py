"""Section-aware chunking in model tokens."""

from __future__ import annotations

from pathlib import Path

from guideqa.ingest.chunking import SectionChunker, TokenCounter
from guideqa.ingest.loaders import load_file
from guideqa.ingest.settings import ChunkingSettings


def test_chunks_respect_token_budget_and_sections(
    data_dir: Path, token_counter: TokenCounter
) -> None:
    [doc] = load_file(data_dir / "pdf" / "cdc_opioid_2022_pages19-24.pdf")
    chunker = SectionChunker(ChunkingSettings(chunk_tokens=120, overlap_tokens=16), token_counter)
    chunks = chunker.chunk_document(doc)
    assert chunks and all(c.token_count <= 120 for c in chunks)
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for chunk in chunks:  # every chunk lies inside one section's text
        assert chunk.text in doc.sections[chunk.section_index].text
        assert chunk.page_start is not None and chunk.page_end is not None
        assert 1 <= chunk.page_start <= chunk.page_end <= 6


def test_pages_follow_the_text_across_a_page_break(
    data_dir: Path, token_counter: TokenCounter
) -> None:
    [doc] = load_file(data_dir / "pdf" / "cdc_opioid_2022_pages19-24.pdf")
    index, spanning = next(
        (i, s)
        for i, s in enumerate(doc.sections)
        if s.page_end and s.page_start and s.page_end > s.page_start
    )
    chunks = SectionChunker(ChunkingSettings(chunk_tokens=60, overlap_tokens=0), token_counter)
    pieces = [c for c in chunks.chunk_document(doc) if c.section_index == index]
    assert pieces[0].page_start == spanning.page_start
    assert pieces[-1].page_end == spanning.page_end


def test_label_chunks_carry_section_numbers(data_dir: Path, token_counter: TokenCounter) -> None:
    docs = load_file(data_dir / "openfda" / "labels_results.json")
    metformin = next(d for d in docs if "Metformin" in d.title)
    chunks = SectionChunker(ChunkingSettings(), token_counter).chunk_document(metformin)
    renal = [c for c in chunks if c.section_number == "2.3"]
    assert renal and renal[0].section == "2.3 Recommendations for Use in Renal Impairment"
    assert renal[0].chunk_id.startswith(metformin.doc_id + "#")
