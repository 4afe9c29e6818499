"""Journaled embedding: batches land where asked, progress reports counts, rate and ETA."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from guideqa.index.embed_run import JournalPlace, embed_journaled
from guideqa.ingest.embedding import HashingEmbedder


def test_vectors_land_in_their_rows_and_progress_is_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    texts = [f"passage number {i} about {'warfarin ' * (i % 5)}" for i in range(23)]
    rows = np.arange(100, 123, dtype=np.int64)
    out = np.zeros((130, 384), dtype=np.float32)
    seen: list[tuple[int, int]] = []
    place = JournalPlace(tmp_path, "settings", batch_chunks=5)
    with caplog.at_level(logging.INFO, logger="guideqa.index"):
        resumed = embed_journaled(
            HashingEmbedder(), place, texts, lambda d, t: seen.append((d, t)), out, rows
        )
    assert resumed == 0
    assert np.array_equal(out[100:123], HashingEmbedder().embed(texts))
    assert not out[:100].any() and not out[123:].any()
    assert [d for d, _ in seen] == [5, 10, 15, 20, 23] and {t for _, t in seen} == {23}
    assert "23 of 23 chunks" in caplog.text and "chunks/s" in caplog.text and "ETA" in caplog.text

    again = np.zeros_like(out)
    assert embed_journaled(HashingEmbedder(), place, texts, None, again, rows) == 23
    assert np.array_equal(again, out)  # every batch came from the journal
