"""Settings sections owned by ingestion; composed into the root Settings at the edge."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Bumped whenever the exported ONNX graph changes, so indexes built from an older graph are
# rebuilt rather than mixed with vectors from the new one.
ONNX_GRAPH_VERSION = "bert-fused-1"
# Bumped whenever loaders change what a chunk holds (sections, roles, table rows), so that an
# index built by older loaders is rebuilt instead of reusing their chunks.
INGEST_FORMAT_VERSION = "roles-tables-lists-3"


class EmbeddingBackend(StrEnum):
    """How the sentence-transformer is run."""

    ONNX = "onnx"
    TORCH = "torch"
    HASHING = "hashing"  # deterministic, model-free: tests and smoke runs only


class EmbeddingSettings(BaseModel):
    """The embedding model and how it runs; recorded in every index manifest."""

    model_config = ConfigDict(frozen=True)

    model: str = "sentence-transformers/all-MiniLM-L6-v2"
    backend: EmbeddingBackend = EmbeddingBackend.ONNX
    # int8 = fused graph, dynamic per-channel quantisation: 2.3x the fp32 ingest
    # throughput here, cosine 0.994 to fp32 on corpus chunks (see eval/README.md).
    # bf16: torch backend only (oneDNN runs it on AMX where the CPU has it)
    precision: str = Field(default="int8", pattern="^(fp32|int8|bf16)$")
    max_seq_length: int = 256
    # small, length-sorted batches waste the least padding: 81 chunks/s at 8 vs 63 at 32
    batch_size: int = 8
    query_threads: int = 1
    ingest_threads: int = 2
    cache_dir: Path = Path(".guideqa/models")
    onnx_provider: str = Field(
        default="CPUExecutionProvider",
        description="ONNX Runtime execution provider: CUDAExecutionProvider on a GPU node "
        "(with onnxruntime-gpu installed in place of onnxruntime)",
    )

    @model_validator(mode="after")
    def _precision_fits_backend(self) -> EmbeddingSettings:
        if self.precision == "bf16" and self.backend is not EmbeddingBackend.TORCH:
            raise ValueError("precision bf16 needs backend torch (ONNX runs fp32 or int8)")
        return self

    def identity(self) -> dict[str, object]:
        """What changes the vectors: an index built with another identity is incompatible."""
        return {
            "model": self.model,
            "backend": self.backend.value,
            "precision": self.precision,
            "max_seq_length": self.max_seq_length,
            "onnx_graph": ONNX_GRAPH_VERSION if self.backend is EmbeddingBackend.ONNX else None,
        }


class ChunkingSettings(BaseModel):
    """Chunk size and overlap, in model tokens."""

    model_config = ConfigDict(frozen=True)

    chunk_tokens: int = 200
    overlap_tokens: int = 32

    def identity(self) -> dict[str, object]:
        """The parameters recorded in the index manifest."""
        return {
            "chunk_tokens": self.chunk_tokens,
            "overlap_tokens": self.overlap_tokens,
            "ingest_format": INGEST_FORMAT_VERSION,
        }


class IngestLimits(BaseModel):
    """What one file may cost to read: hostile or broken files stop at these, with a clear
    error naming the file and the limit (GUIDEQA_INGEST__MAX_PDF_PAGES=...)."""

    model_config = ConfigDict(frozen=True)

    max_pdf_pages: int = Field(default=2000, gt=0, description="pages read from one PDF")
    max_seconds: float = Field(default=120.0, gt=0, description="time to parse one file")
    max_chars: int = Field(
        default=20_000_000, gt=0, description="characters of text taken from one file"
    )
    max_zip_members: int = Field(default=1000, gt=0, description="files inside one zip")
    max_member_bytes: int = Field(
        default=1_000_000_000, gt=0, description="uncompressed size of one zip member"
    )
    max_zip_bytes: int = Field(
        default=4_000_000_000, gt=0, description="uncompressed size of a whole zip"
    )
    max_zip_ratio: float = Field(
        default=200.0, gt=1, description="uncompressed / compressed size of a zip member"
    )


class RaySettings(BaseModel):
    """`guideqa ingest --engine ray`: where the Ray cluster is and how many embedders run."""

    model_config = ConfigDict(frozen=True)

    address: str | None = Field(
        default=None,
        description="None: start a local Ray on this machine; 'auto' or ray://host:10001: "
        "join a running cluster",
    )
    workers: int = Field(
        default=2,
        ge=1,
        description="embedding actors, one ONNX Runtime session (one core) each: one per core "
        "of the cluster is the ceiling",
    )
    load_files_per_task: int = Field(
        default=8, ge=1, description="source files parsed by one Ray task"
    )
