"""Embedding for a build: journaled batches, progress with chunks/s and an ETA."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from guideqa.index.dense import Rows
from guideqa.index.journal import EmbeddingJournal, journal_key
from guideqa.ingest.embedding import Embedder, Vectors
from guideqa.ingest.errors import ModelError

Progress = Callable[[int, int], None]
CRASH_ENV = "GUIDEQA_CRASH_AT"  # test hook: kill the process at a named build step
log = logging.getLogger("guideqa.index")


class _Throughput:
    """Progress of the embedding step: calls back with counts, logs chunks/s and the ETA."""

    def __init__(self, total: int, progress: Progress | None, every_s: float = 10.0) -> None:
        self.total, self.progress, self.every_s = total, progress, every_s
        self.done = self.embedded_now = 0
        self.started = self.logged = time.perf_counter()

    def skipped(self, rows: int) -> None:
        self.done += rows
        self._report()

    def embedded(self, rows: int) -> None:
        self.done += rows
        self.embedded_now += rows
        self._report()

    def _report(self) -> None:
        if self.progress:
            self.progress(self.done, self.total)
        now = time.perf_counter()
        if now - self.logged < self.every_s and self.done < self.total:
            return
        self.logged = now
        rate = self.embedded_now / max(now - self.started, 1e-9)
        eta = (self.total - self.done) / rate if rate else 0.0
        log.info(
            "embedded %d of %d chunks, %.1f chunks/s, ETA %d:%02d",
            self.done,
            self.total,
            rate,
            *divmod(round(eta), 60),
        )


def checkpoint(step: str) -> None:
    """Test hook: exit at once, as `kill -9` would, when GUIDEQA_CRASH_AT names this step."""
    if os.environ.get(CRASH_ENV) == step:
        os._exit(137)


@dataclass(frozen=True)
class JournalPlace:
    """Where a build's embedding journal lives and what identifies its batches."""

    root: Path
    settings_id: str
    batch_chunks: int


class BatchRunner(Protocol):
    """Embeds batches of texts, possibly many at once (an actor pool), in any order."""

    def run(self, batches: list[list[str]]) -> Iterator[tuple[int, Vectors]]:
        """(position in `batches`, vectors) for each batch, as each one finishes."""
        ...


class SequentialRunner:
    """One batch after another with one embedder: the default, in-process engine."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def run(self, batches: list[list[str]]) -> Iterator[tuple[int, Vectors]]:
        for position, texts in enumerate(batches):
            yield position, self.embedder.embed(texts)


def embed_journaled(
    embedder: Embedder,
    place: JournalPlace,
    texts: list[str],
    progress: Progress | None,
    out: Vectors,
    out_rows: Rows,
    runner: BatchRunner | None = None,
) -> int:
    """Embed in journaled batches into out[out_rows]; a batch finished before a crash is
    never embedded again. Returns how many vectors came from the journal. `runner` embeds
    the batches the journal lacks (default: in order, with `embedder`)."""
    step = place.batch_chunks
    journal = EmbeddingJournal(
        place.root, journal_key(place.settings_id, step, texts), embedder.dimension
    )
    if journal.completed():
        log.info("resuming a killed build: %d batches already embedded", journal.completed())
    # texts of similar length go together: batches carry the least padding
    order = np.argsort([len(t) for t in texts], kind="stable")
    meter = _Throughput(len(texts), progress)
    batches = [order[start : start + step] for start in range(0, len(order), step)]
    missing: list[int] = []
    resumed = 0
    for batch, rows in enumerate(batches):
        vectors = journal.load(batch, len(rows))
        if vectors is None:
            missing.append(batch)
            continue
        resumed += len(rows)
        meter.skipped(len(rows))
        out[out_rows[rows]] = vectors
    pending = [[texts[i] for i in batches[b]] for b in missing]
    returned: set[int] = set()
    for position, vectors in (runner or SequentialRunner(embedder)).run(pending):
        batch = missing[position]
        if len(vectors) != len(batches[batch]):
            raise ModelError(
                f"batch {batch} came back with {len(vectors)} of {len(batches[batch])} vectors"
            )
        journal.save(batch, vectors)
        checkpoint(f"batch_{batch}")
        meter.embedded(len(batches[batch]))
        out[out_rows[batches[batch]]] = vectors
        returned.add(position)
    if len(returned) != len(pending):  # a lost batch would leave zero vectors in the index
        raise ModelError(
            f"the embedding engine returned {len(returned)} of {len(pending)} batches; run the "
            "ingest again (finished batches are kept in the journal)"
        )
    return resumed
