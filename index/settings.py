"""Settings owned by the index layer."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class Fusion(StrEnum):
    """How dense and lexical rankings are combined."""

    RRF = "rrf"
    CONVEX = "convex"


class DenseKind(StrEnum):
    """FAISS structure: exact inner product, HNSW, IVF over 8-bit codes, or chosen by size."""

    FLAT = "flat"
    HNSW = "hnsw"
    IVF_SQ8 = "ivf_sq8"
    AUTO = "auto"  # only as a setting: a built index records the structure it chose


class BackendKind(StrEnum):
    """Where index versions live: folders on this machine, or collections in Milvus."""

    LOCAL = "local"
    MILVUS = "milvus"


class IndexSettings(BaseModel):
    """Where the index lives and how hybrid search ranks."""

    model_config = ConfigDict(frozen=True)

    directory: Path = Path(".guideqa/index")
    dense: DenseKind = Field(
        default=DenseKind.AUTO,
        description="FAISS structure; auto = exact up to exact_search_limit chunks, then "
        "large_dense. The choice is made at build time and recorded in the manifest",
    )
    exact_search_limit: int = Field(
        default=30_000,
        ge=0,
        description="largest index searched exactly under dense=auto: exact search grows "
        "linearly, about 0.2 ms per 1,000 chunks on one core (p95 22 ms at 100k; "
        "eval/BENCHMARKS.md, scale), so 30k keeps it near 6 ms",
    )
    large_dense: DenseKind = Field(
        default=DenseKind.IVF_SQ8,
        description="approximate structure used above exact_search_limit under dense=auto",
    )
    hnsw_m: int = Field(default=32, ge=4, description="HNSW links per node")
    hnsw_ef_construction: int = Field(default=80, ge=8, description="HNSW build beam width")
    hnsw_ef_search: int = Field(default=64, ge=8, description="HNSW search beam width")
    ivf_nprobe: int = Field(
        default=32,
        ge=1,
        description="IVF lists scanned per query: recall@10 0.973 at 32 against 0.948 at 16, "
        "p95 0.46 ms, on the 300k synthetic corpus (eval/BENCHMARKS.md, scale)",
    )
    ivf_rerank: int = Field(
        default=4,
        ge=1,
        description="IVF candidates per wanted hit, re-scored against the exact vectors",
    )
    fusion: Fusion = Fusion.RRF
    rrf_k: int = 60
    convex_alpha: float = Field(default=0.5, ge=0.0, le=1.0, description="weight of dense score")
    candidates: int = 100
    section_preference_weight: float = Field(
        default=0.5,
        ge=0.0,
        description="bonus, as a share of the top fused score, for passages from the sections "
        "a query names ('boxed warning', 'pregnancy', 'renal impairment')",
    )
    build_batch_chunks: int = Field(
        default=256,
        ge=1,
        description="chunks embedded and saved to the build journal together; a killed build "
        "resumes after its last whole batch (smaller: less lost, more files)",
    )
    max_appended_fraction: float = Field(
        default=0.1,
        ge=0.0,
        description="an IVF index takes small changes as appended rows until they reach this "
        "share of its last full build; the next ingest then rebuilds it whole (0: always)",
    )
    keep_versions: int = 3
    lock_timeout_s: float = 0.0
    backend: BackendKind = Field(
        default=BackendKind.LOCAL,
        description="local: versions as folders under `directory`; milvus: versions as Milvus "
        "collections behind an alias (`directory` then stages builds before they are published)",
    )
    milvus_uri: str = Field(
        default="./guideqa-milvus.db",
        description="a Milvus Lite file (embedded, one process) or a server, http://host:19530",
    )
    milvus_token: SecretStr | None = Field(default=None, description="Milvus user:password")
    milvus_database: str = Field(default="default", description="Milvus database")
    milvus_prefix: str = Field(
        default="guideqa",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,30}$",
        description="collection names: PREFIX_vNNNNNN_HASH per version, alias PREFIX_current",
    )
    milvus_batch_rows: int = Field(
        default=1000, ge=1, description="chunk rows per insert when publishing to Milvus"
    )
    milvus_timeout_s: float = Field(
        default=10.0, gt=0, description="Milvus calls made while answering give up after this"
    )

    @field_validator("large_dense")
    @classmethod
    def _approximate(cls, kind: DenseKind) -> DenseKind:
        if kind not in (DenseKind.HNSW, DenseKind.IVF_SQ8):
            raise ValueError("large_dense must be an approximate structure: hnsw or ivf_sq8")
        return kind
