"""FAISS adapter: inner product on unit vectors, exact by default or HNSW."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from guideqa.index.settings import DenseKind

Vectors = npt.NDArray[np.float32]


def build_faiss(vectors: Vectors, kind: DenseKind, hnsw_m: int) -> faiss.Index:
    """A FAISS index over the rows of `vectors` (row number = chunk row)."""
    dimension = vectors.shape[1]
    index: faiss.Index
    if kind is DenseKind.HNSW:
        index = faiss.IndexHNSWFlat(dimension, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 80
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class DenseIndex:
    """Nearest neighbours over chunk vectors; callers see chunk rows and scores only."""

    def __init__(self, index: faiss.Index, kind: DenseKind) -> None:
        self._index = index
        self._kind = kind

    @classmethod
    def load(cls, path: Path, kind: DenseKind) -> DenseIndex:
        """Read a saved FAISS index."""
        return cls(faiss.read_index(str(path)), kind)

    def save(self, path: Path) -> None:
        """Write the FAISS index to disk."""
        faiss.write_index(self._index, str(path))

    @property
    def size(self) -> int:
        """Number of vectors held."""
        return int(self._index.ntotal)

    def search(
        self, query: Vectors, k: int, allowed_rows: npt.NDArray[np.int64] | None
    ) -> list[tuple[int, float]]:
        """Top-k (row, cosine) pairs, restricted to `allowed_rows` when given."""
        if self.size == 0 or k <= 0:
            return []
        params: Any = None
        if allowed_rows is not None:
            if len(allowed_rows) == 0:
                return []
            selector = faiss.IDSelectorBatch(allowed_rows)
            params = (
                faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                    sel=selector, efSearch=max(64, k)
                )
                if self._kind is DenseKind.HNSW
                else faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            )
        elif self._kind is DenseKind.HNSW:
            params = faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                efSearch=max(64, k)
            )
        scores, rows = self._index.search(query.reshape(1, -1), min(k, self.size), params=params)
        return [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]

    def similarities(self, query: Vectors, rows: list[int]) -> list[float]:
        """Cosine of the query to the given rows' vectors (for passages not found by search)."""
        if not rows:
            return []
        vectors = np.vstack([self._index.reconstruct(int(r)) for r in rows])
        return [float(v) for v in vectors @ query.reshape(-1)]
