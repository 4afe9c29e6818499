"""FAISS adapter: inner product on unit vectors, exact, HNSW, or IVF with exact re-ranking.

Which structure an index uses is decided when it is built (`choose_structure`) and recorded in
its manifest; `auto` keeps exact search up to `IndexSettings.exact_search_limit` chunks, where
it is still fast, and switches to the approximate structure measured best above it
(eval/BENCHMARKS.md, "scale").
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import numpy.typing as npt

from guideqa.index.settings import DenseKind, IndexSettings
from guideqa.ingest.embedding import Vectors

Rows = npt.NDArray[np.int64]
RowMask = npt.NDArray[np.bool_]


def choose_structure(chunks: int, settings: IndexSettings) -> DenseKind:
    """The FAISS structure for an index of `chunks` rows (a forced setting wins)."""
    if settings.dense is not DenseKind.AUTO:
        return settings.dense
    return DenseKind.FLAT if chunks <= settings.exact_search_limit else settings.large_dense


def ivf_lists(chunks: int) -> int:
    """Inverted lists for IVF: about 4 sqrt(n), so that lists hold ~sqrt(n)/4 rows, and at
    most n/39 (k-means wants 39 training points per list)."""
    return max(1, min(65536, int(4 * math.sqrt(max(chunks, 1))), chunks // 39))


def build_faiss(vectors: Vectors, kind: DenseKind, settings: IndexSettings) -> faiss.Index:
    """A FAISS index over the rows of `vectors` (row number = chunk row)."""
    dimension = vectors.shape[1]
    data = np.ascontiguousarray(vectors, dtype=np.float32)
    index: faiss.Index
    if kind is DenseKind.HNSW:
        index = faiss.IndexHNSWFlat(dimension, settings.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = settings.hnsw_ef_construction
    elif kind is DenseKind.IVF_SQ8:
        quantizer = faiss.IndexFlatIP(dimension)
        lists = ivf_lists(len(data))
        index = faiss.IndexIVFScalarQuantizer(
            quantizer, dimension, lists, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        # k-means on a sample: 64 points per list is plenty, and bounded time at any size
        sample = data[np.random.default_rng(0).permutation(len(data))[: lists * 64]]
        index.train(sample)
    else:
        index = faiss.IndexFlatIP(dimension)
    if len(data):
        index.add(data)
    return index


class DenseIndex:
    """Nearest neighbours over chunk vectors; callers see chunk rows and scores only.

    For IVF the compressed codes only propose candidates: `rerank` times k of them are scored
    again against the exact vectors (memory-mapped from vectors.npy, so only the touched rows
    are read)."""

    def __init__(
        self,
        index: faiss.Index,
        kind: DenseKind,
        exact: Vectors | None = None,
        settings: IndexSettings | None = None,
    ) -> None:
        self._index = index
        self._kind = kind
        self._exact = exact
        self._settings = settings or IndexSettings()
        if kind is DenseKind.IVF_SQ8:
            faiss.extract_index_ivf(index).nprobe = self._settings.ivf_nprobe

    @classmethod
    def load(cls, folder: Path, kind: DenseKind, settings: IndexSettings) -> DenseIndex:
        """Read a saved FAISS index (and map its exact vectors when re-ranking needs them)."""
        index = faiss.read_index(str(folder / "dense.faiss"))
        exact = None
        if kind is DenseKind.IVF_SQ8:
            exact = np.load(folder / "vectors.npy", mmap_mode="r")
        return cls(index, kind, exact, settings)

    def tuned(self, settings: IndexSettings) -> DenseIndex:
        """The same structure searched with other search-time settings (nprobe, efSearch)."""
        return DenseIndex(self._index, self._kind, self._exact, settings)

    def save(self, path: Path) -> None:
        """Write the FAISS index to disk."""
        faiss.write_index(self._index, str(path))

    @property
    def kind(self) -> DenseKind:
        """The structure in use."""
        return self._kind

    @property
    def size(self) -> int:
        """Number of vectors held."""
        return int(self._index.ntotal)

    def search(self, query: Vectors, k: int, allowed: RowMask | None) -> list[tuple[int, float]]:
        """Top-k (row, cosine) pairs, restricted to the rows `allowed` marks when given."""
        if self.size == 0 or k <= 0 or (allowed is not None and not allowed.any()):
            return []
        wanted = k * self._settings.ivf_rerank if self._exact is not None else k
        # the selector reads the bitmap during the search: keep it referenced until then
        bits = np.packbits(allowed, bitorder="little") if allowed is not None else None
        params = self._params(wanted, allowed, bits)
        scores, rows = self._index.search(
            query.reshape(1, -1), min(wanted, self.size), params=params
        )
        found = [(int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0]
        if self._exact is None:
            return found
        return self._rerank(query, [r for r, _ in found])[:k]

    def _params(self, k: int, allowed: RowMask | None, bits: npt.NDArray[np.uint8] | None) -> Any:
        # a bitmap selector costs n/8 bytes to make, whatever share of the rows passes
        selector = None
        if allowed is not None and bits is not None:
            selector = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
        if self._kind is DenseKind.HNSW:
            return faiss.SearchParametersHNSW(  # type: ignore[attr-defined]
                sel=selector, efSearch=max(self._settings.hnsw_ef_search, k)
            )
        if self._kind is DenseKind.IVF_SQ8:
            # a filter leaves fewer candidates per list: probe more lists to still find k
            probes = self._settings.ivf_nprobe * (4 if selector is not None else 1)
            return faiss.SearchParametersIVF(sel=selector, nprobe=probes)  # type: ignore[call-arg]
        return faiss.SearchParameters(sel=selector) if selector else None  # type: ignore[call-arg]

    def _rerank(self, query: Vectors, rows: list[int]) -> list[tuple[int, float]]:
        scored = zip(rows, self.similarities(query, rows), strict=True)
        return sorted(scored, key=lambda pair: -pair[1])

    def similarities(self, query: Vectors, rows: list[int]) -> list[float]:
        """Cosine of the query to the given rows' vectors (for passages not found by search)."""
        if not rows:
            return []
        if self._exact is not None:
            order = np.argsort(rows)  # sorted reads touch the mapped file in order
            picked = np.asarray(self._exact[np.asarray(rows)[order]], dtype=np.float32)
            scores = np.empty(len(rows), dtype=np.float32)
            scores[order] = picked @ query.reshape(-1)
            return [float(v) for v in scores]
        vectors = np.vstack([self._index.reconstruct(int(r)) for r in rows])
        return [float(v) for v in vectors @ query.reshape(-1)]
