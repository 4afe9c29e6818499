"""Settings owned by the index layer."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class Fusion(StrEnum):
    """How dense and lexical rankings are combined."""

    RRF = "rrf"
    CONVEX = "convex"


class DenseKind(StrEnum):
    """FAISS index type: exact inner product, or HNSW for large corpora."""

    FLAT = "flat"
    HNSW = "hnsw"


class IndexSettings(BaseModel):
    """Where the index lives and how hybrid search ranks."""

    model_config = ConfigDict(frozen=True)

    directory: Path = Path(".guideqa/index")
    dense: DenseKind = DenseKind.FLAT
    hnsw_m: int = 32
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
    keep_versions: int = 3
    lock_timeout_s: float = 0.0
