"""Integration: the packaged all-MiniLM-L6-v2 through ONNX Runtime and torch, offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from guideqa.index.builder import IndexWriter
from guideqa.index.hybrid import open_index
from guideqa.index.settings import IndexSettings
from guideqa.ingest.chunking import SectionChunker
from guideqa.ingest.embedding import create_embedder
from guideqa.ingest.loaders import load_paths
from guideqa.ingest.settings import ChunkingSettings, EmbeddingBackend, EmbeddingSettings

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def onnx_settings(tmp_path_factory: pytest.TempPathFactory) -> EmbeddingSettings:
    cache = Path(".guideqa/models")  # shared with `make run`, so the export happens once
    return EmbeddingSettings(backend=EmbeddingBackend.ONNX, cache_dir=cache.resolve())


def test_onnx_matches_sentence_transformers(onnx_settings: EmbeddingSettings) -> None:
    texts = [
        "Metformin is contraindicated in severe renal impairment.",
        "Screen women 65 years and older for osteoporosis.",
    ]
    fp32 = onnx_settings.model_copy(update={"precision": "fp32"})
    onnx = create_embedder(fp32).embed(texts)
    torch_settings = fp32.model_copy(update={"backend": EmbeddingBackend.TORCH})
    reference = create_embedder(torch_settings).embed(texts)
    assert onnx.shape == (2, 384)
    np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, rtol=1e-5)
    assert float((onnx * reference).sum(axis=1).min()) > 0.9999
    int8 = create_embedder(onnx_settings).embed(texts)  # the default: per-channel int8
    assert float((int8 * reference).sum(axis=1).min()) > 0.98


def test_parallel_batches_give_the_vectors_of_sequential_batches(
    onnx_settings: EmbeddingSettings, data_dir: Path
) -> None:
    report = load_paths([data_dir / "markdown", data_dir / "openfda" / "labels_results.json"])
    texts = [s.text[:400] for d in report.documents for s in d.sections if s.text][:20]
    assert len(texts) > 2 * onnx_settings.batch_size  # several batches run at once
    parallel = create_embedder(onnx_settings, for_ingest=True).embed(texts)  # 2 threads
    sequential = create_embedder(onnx_settings).embed(texts)  # 1 thread, same batches
    np.testing.assert_allclose(parallel, sequential, atol=1e-5)
    # rows stay in input order: each text is nearest to its own single-text vector
    single = np.vstack([create_embedder(onnx_settings).embed([t]) for t in texts])
    assert (np.argmax(parallel @ single.T, axis=1) == np.arange(len(texts))).all()


def test_real_model_finds_renal_dosing(
    tmp_path: Path, data_dir: Path, onnx_settings: EmbeddingSettings, token_counter
) -> None:  # type: ignore[no-untyped-def]
    index_settings = IndexSettings(directory=tmp_path / "index")
    chunking = ChunkingSettings()
    embedder = create_embedder(onnx_settings, for_ingest=True)
    writer = IndexWriter(
        index_settings, onnx_settings, chunking, embedder, SectionChunker(chunking, token_counter)
    )
    writer.ingest(
        load_paths([data_dir / "openfda" / "labels_results.json", data_dir / "markdown"]).documents
    )
    index = open_index(index_settings, onnx_settings, chunking, create_embedder(onnx_settings))
    hits = index.search("How should metformin be dosed when eGFR is reduced?", k=5)
    assert any(h.section_number == "2.3" and "Metformin" in h.title for h in hits)
    screening = index.search("false positive rate of chest x-ray lung cancer screening", k=3)
    assert screening[0].doc_id == "nci-pdq-lung-screening-excerpt"
