"""Incremental updates of a large index: a new version made from the last one plus the change.

Rebuilding a million-chunk index for one changed guideline re-serialises gigabytes and takes
minutes. When the published version uses IVF (the structure `auto` picks at scale), a small
change is applied instead in time proportional to it, plus file copies:

- the SQLite store is copied; the removed or replaced documents' rows are detached (kept,
  so that every other row keeps its number) and the new chunks are added after the last row;
- vectors.npy is copied with the new rows appended;
- the IVF index loses the detached rows (`remove_ids`) and gains the new ones (`add_with_ids`);
- the BM25 files are hard-linked unchanged: the appended rows are scored at load time from
  their own postings (`LexicalIndex.with_appended`). Until the merge, BM25 statistics are
  approximate: base rows keep the base's frequencies, and detached rows still count in them.

Appended rows accumulate until they pass `IndexSettings.max_appended_fraction` of the base;
the next ingest then rebuilds everything into one base (a merge, like an LSM compaction).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from guideqa.index.dense import Rows
from guideqa.index.lexical import has_append_stats
from guideqa.index.models import IndexManifest
from guideqa.index.settings import DenseKind, IndexSettings
from guideqa.index.store import append_to_store
from guideqa.ingest.embedding import Vectors
from guideqa.ingest.models import Chunk, Document

# embeds texts into out[rows]; returns how many vectors came from the journal
EmbedInto = Callable[[list[str], Vectors, Rows], int]
_COPY_ROWS = 65_536


@dataclass(frozen=True)
class Head:
    """The published version an update starts from."""

    folder: Path
    manifest: IndexManifest


@dataclass(frozen=True)
class Appended:
    """What an incremental update wrote."""

    rows: int
    base_rows: int
    detached: int
    embedded: int
    resumed: int


def appendable(head: Head, settings: IndexSettings) -> bool:
    """Whether changes to this version may be appended (IVF, BM25 statistics recorded, and
    settings that still ask for IVF at this size) instead of rebuilding the whole index."""
    manifest = head.manifest
    if manifest.dense != DenseKind.IVF_SQ8.value or not has_append_stats(head.folder / "bm25"):
        return False
    wanted = settings.large_dense if settings.dense is DenseKind.AUTO else settings.dense
    return wanted is DenseKind.IVF_SQ8


def within_share(head: Head, settings: IndexSettings, new_rows: int, detaching: int) -> bool:
    """Whether the rows changed since the last full build (appended and detached, these
    included) stay under the share that forces a merge. Detached rows count too: until the
    merge they still weigh in BM25's document frequencies and mean length."""
    manifest = head.manifest
    base = manifest.base_rows or manifest.chunks
    rows = manifest.rows or manifest.chunks
    changed = (rows - base) + (rows - manifest.chunks) + new_rows + detaching
    return changed <= settings.max_appended_fraction * base


def append_version(
    build: Path,
    head: Head,
    removed: Sequence[str],
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    texts: list[str],
    embed_into: EmbedInto,
) -> Appended:
    """Write into `build` the head version with `removed` detached and `chunks` appended."""
    shutil.copyfile(head.folder / "store.sqlite", build / "store.sqlite")
    detached, first_row = append_to_store(build / "store.sqlite", removed, documents, chunks)
    rows = first_row + len(chunks)
    old = np.load(head.folder / "vectors.npy", mmap_mode="r")
    out = np.lib.format.open_memmap(
        build / "vectors.npy", mode="w+", dtype=np.float32, shape=(rows, old.shape[1])
    )
    for start in range(0, first_row, _COPY_ROWS):
        end = min(start + _COPY_ROWS, first_row)
        out[start:end] = old[start:end]
    new_rows = np.arange(first_row, rows, dtype=np.int64)
    resumed = embed_into(texts, out, new_rows)
    out.flush()
    dense = faiss.read_index(str(head.folder / "dense.faiss"))
    if detached:
        dense.remove_ids(faiss.IDSelectorBatch(np.asarray(detached, dtype=np.int64)))
    if len(new_rows):
        dense.add_with_ids(np.ascontiguousarray(out[first_row:rows]), new_rows)
    faiss.write_index(dense, str(build / "dense.faiss"))
    _link_tree(head.folder / "bm25", build / "bm25")
    base = head.manifest.base_rows or head.manifest.chunks
    return Appended(rows, base, len(detached), len(texts) - resumed, resumed)


def _link_tree(source: Path, target: Path) -> None:
    """Hard-link every file (versions never change a file once published); copy across
    file systems."""
    target.mkdir()
    for path in source.iterdir():
        try:
            os.link(path, target / path.name)
        except OSError:
            shutil.copy2(path, target / path.name)
