"""Dense structures: the size rule, approximate search against exact, filters, re-ranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from guideqa.index.dense import DenseIndex, build_faiss, choose_structure, ivf_lists
from guideqa.index.settings import DenseKind, IndexSettings


def _clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors in 50 clusters: neighbours exist, as in a real corpus."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(50, 32)).astype(np.float32)
    data = centres[rng.integers(0, 50, n)] + 0.3 * rng.normal(size=(n, 32)).astype(np.float32)
    return (data / np.linalg.norm(data, axis=1, keepdims=True)).astype(np.float32)


def _saved(
    tmp_path: Path, vectors: np.ndarray, kind: DenseKind, settings: IndexSettings
) -> DenseIndex:
    np.save(tmp_path / "vectors.npy", vectors)
    DenseIndex(build_faiss(vectors, kind, settings), kind).save(tmp_path / "dense.faiss")
    return DenseIndex.load(tmp_path, kind, settings)


def test_auto_searches_exactly_up_to_the_limit_then_switches() -> None:
    settings = IndexSettings(exact_search_limit=1000)
    assert choose_structure(1000, settings) is DenseKind.FLAT
    assert choose_structure(1001, settings) is DenseKind.IVF_SQ8
    hnsw = settings.model_copy(update={"large_dense": DenseKind.HNSW})
    assert choose_structure(5000, hnsw) is DenseKind.HNSW
    forced = IndexSettings(dense=DenseKind.FLAT, exact_search_limit=10)
    assert choose_structure(10**6, forced) is DenseKind.FLAT


def test_the_large_structure_must_be_approximate() -> None:
    with pytest.raises(ValidationError, match="hnsw or ivf_sq8"):
        IndexSettings(large_dense=DenseKind.FLAT)


def test_ivf_lists_grow_with_the_square_root() -> None:
    assert ivf_lists(1) == 1
    assert ivf_lists(1_000) == 25  # small: bounded by k-means' points per list
    assert ivf_lists(10_000) == 256
    assert ivf_lists(100_000) == 1264
    assert ivf_lists(1_000_000) == 4000


@pytest.mark.parametrize("kind", [DenseKind.IVF_SQ8, DenseKind.HNSW])
def test_approximate_search_finds_what_exact_search_finds(tmp_path: Path, kind: DenseKind) -> None:
    vectors = _clustered(20_000)
    # this toy data is dense with near-ties: a wider HNSW beam than the default
    settings = IndexSettings(hnsw_ef_search=256)
    approximate = _saved(tmp_path, vectors, kind, settings)
    queries = _clustered(40, seed=1)
    truth = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = [[r for r, _ in approximate.search(q, 10, None)] for q in queries]
    recall = np.mean([len(set(f) & set(t)) / 10 for f, t in zip(found, truth, strict=True)])
    assert recall >= 0.9
    row, score = approximate.search(queries[0], 1, None)[0]
    assert score == pytest.approx(float(vectors[row] @ queries[0]), abs=1e-5)  # exact scores


def test_ivf_rerank_scores_are_exact_and_ordered(tmp_path: Path) -> None:
    vectors = _clustered(5_000)
    index = _saved(tmp_path, vectors, DenseKind.IVF_SQ8, IndexSettings())
    hits = index.search(vectors[7], 5, None)
    assert hits[0][0] == 7 and hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    rows = [3, 1, 2]
    assert index.similarities(vectors[0], rows) == pytest.approx(
        [float(vectors[r] @ vectors[0]) for r in rows], abs=1e-5
    )


def test_ivf_search_keeps_to_the_allowed_rows(tmp_path: Path) -> None:
    vectors = _clustered(5_000)
    index = _saved(tmp_path, vectors, DenseKind.IVF_SQ8, IndexSettings())
    allowed = np.zeros(5_000, dtype=bool)
    allowed[::7] = True
    hits = index.search(vectors[14], 10, allowed)
    assert len(hits) == 10 and all(r % 7 == 0 for r, _ in hits)
    assert hits[0][0] == 14
    assert index.search(vectors[14], 10, np.zeros(5_000, dtype=bool)) == []


@pytest.mark.parametrize("kind", [DenseKind.FLAT, DenseKind.HNSW, DenseKind.IVF_SQ8])
def test_every_structure_honours_a_row_mask(tmp_path: Path, kind: DenseKind) -> None:
    vectors = _clustered(3_000)
    index = _saved(tmp_path, vectors, kind, IndexSettings())
    allowed = np.zeros(3_000, dtype=bool)
    allowed[1000:1100] = True
    hits = index.search(vectors[5], 20, allowed)
    assert hits and all(1000 <= r < 1100 for r, _ in hits)
