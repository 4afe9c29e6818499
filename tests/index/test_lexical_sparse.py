"""BM25 as sparse row weights (what Milvus searches) scores exactly as the local index."""

from __future__ import annotations

import numpy as np
import pytest

from guideqa.index.lexical import LexicalIndex, sparse_rows

BASE = [
    "Metformin is contraindicated in severe renal impairment (eGFR below 30).",
    "Start metformin 500 mg once daily with the evening meal.",
    "Screen women 65 years and older for osteoporosis with bone measurement testing.",
    "",
]
APPENDED = [
    "Reassess metformin dose when eGFR falls below 45 mL/min/1.73 m2.",
    "Bisphosphonates reduce vertebral fractures in postmenopausal osteoporosis.",
]
QUERIES = ["metformin renal dose", "osteoporosis osteoporosis screening", "bisphosphonates", "zzz"]


def _scores_from_rows(index: LexicalIndex, query: str) -> np.ndarray:
    weights, vocabulary = sparse_rows(index)
    vector = np.zeros(weights.shape[1], dtype=np.float32)
    for token in index.tokens(query):
        if token in vocabulary:
            vector[vocabulary[token]] += 1.0  # a repeated word counts again
    return np.asarray(weights @ vector).ravel()


@pytest.mark.parametrize("query", QUERIES)
def test_row_weights_give_the_bm25_scores_of_a_built_index(query: str) -> None:
    index = LexicalIndex.build(BASE)
    np.testing.assert_allclose(_scores_from_rows(index, query), index.scores(query), rtol=1e-5)


@pytest.mark.parametrize("query", QUERIES)
def test_row_weights_include_rows_appended_by_an_incremental_update(query: str) -> None:
    index = LexicalIndex.build(BASE).with_appended(APPENDED)
    scores = _scores_from_rows(index, query)
    assert scores.shape == (len(BASE) + len(APPENDED),)
    np.testing.assert_allclose(scores, index.scores(query), rtol=1e-5, atol=1e-7)
    if query == "bisphosphonates":  # a word only the appended rows contain
        assert scores[len(BASE) + 1] > 0 and not scores[: len(BASE)].any()
