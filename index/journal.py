"""Embedding journal: every finished batch of vectors is on disk before the next one starts.

A build killed at any point (even `kill -9`) leaves its journal behind. The next ingest of
the same texts with the same embedding settings finds it and embeds only the batches the
journal lacks, so hours of embedding are never lost to a crash:

<dir>/journal/<key>/batch-000000.npy    vectors of the first batch, in batch order
<dir>/journal/<key>/batch-000001.npy    ...

The key is a hash of the settings id, the batch size and every text to embed, so a journal is
only ever reused for exactly the same work. The published version is untouched until the build
completes; the journal is removed after it is published.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from guideqa.ingest.embedding import Vectors


def journal_key(settings_id: str, batch_chunks: int, texts: Sequence[str]) -> str:
    """Identity of one embedding job: same settings, batch size and texts, same key."""
    digest = hashlib.sha256(f"{settings_id}\0{batch_chunks}\0{len(texts)}\n".encode())
    for text in texts:
        digest.update(hashlib.sha256(text.encode("utf-8")).digest())
    return digest.hexdigest()[:24]


class EmbeddingJournal:
    """Completed batches of one embedding job, stored as .npy files written atomically."""

    def __init__(self, root: Path, key: str, dimension: int) -> None:
        self.folder = root / "journal" / key
        self.dimension = dimension

    def _path(self, batch: int) -> Path:
        return self.folder / f"batch-{batch:06d}.npy"

    def completed(self) -> int:
        """How many batch files are present (each one whole: written to a temporary name)."""
        if not self.folder.exists():
            return 0
        return sum(1 for _ in self.folder.glob("batch-*.npy"))

    def load(self, batch: int, rows: int) -> Vectors | None:
        """The saved vectors of a batch, or None when it was never finished (or is unusable)."""
        path = self._path(batch)
        if not path.exists():
            return None
        try:
            vectors = np.load(path)
        except (OSError, ValueError):
            return None  # torn by a crash between write and rename cannot happen; disk faults can
        if vectors.shape != (rows, self.dimension) or vectors.dtype != np.float32:
            return None
        return vectors

    def save(self, batch: int, vectors: Vectors) -> None:
        """Write one batch: a temporary file, flushed, then renamed into place."""
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self._path(batch)
        partial = final.with_suffix(f".{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            np.save(handle, np.ascontiguousarray(vectors, dtype=np.float32))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)


def discard_journals(root: Path) -> None:
    """Remove every journal under the index root: after a publish none of them is needed."""
    shutil.rmtree(root / "journal", ignore_errors=True)
