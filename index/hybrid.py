"""Open a published index version and search it: dense + BM25, fused, with filters."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index.dense import DenseIndex
from index.errors import IndexCorruptError, IndexMismatchError
from index.lexical import LexicalIndex
from index.models import Hit, IndexManifest, SearchFilters
from index.settings import DenseKind, Fusion, IndexSettings
from index.store import MetadataStore
from index.versions import current_version_dir, read_manifest
from ingest.embedding import Embedder
from ingest.models import Chunk, Document, SourceKind
from ingest.settings import ChunkingSettings, EmbeddingSettings

_KINDS = list(SourceKind)


def settings_id(embedding: EmbeddingSettings, chunking: ChunkingSettings) -> str:
    """A short name for the settings that shape an index: same id, compatible index."""
    identity = {"embedding": embedding.identity(), "chunking": chunking.identity()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class _RowFacts:
    """Per-chunk-row arrays used to apply filters without touching SQLite."""

    doc_index: npt.NDArray[np.int32]
    kind: npt.NDArray[np.int8]
    year: npt.NDArray[np.int32]


class HybridIndex:
    """One opened index version. Thread-safe for concurrent searches."""

    def __init__(
        self,
        version_dir: Path,
        settings: IndexSettings,
        embedder: Embedder,
        expected_settings_id: str | None,
    ) -> None:
        self.manifest: IndexManifest = read_manifest(version_dir)
        if expected_settings_id and self.manifest.settings_id != expected_settings_id:
            raise IndexMismatchError(
                f"the index at {version_dir.parent.parent} was built with settings "
                f"{self.manifest.settings_id} "
                f"({self.manifest.embedding}, {self.manifest.chunking}) "
                f"but the current settings are {expected_settings_id}; rebuild it with "
                "`guideqa build --rebuild` or use the settings it was built with"
            )
        self.settings = settings
        self.embedder = embedder
        self.version_dir = version_dir

        try:
            self.store = MetadataStore(version_dir / "store.sqlite")
            self.dense = DenseIndex.load(
                version_dir / "dense.faiss", DenseKind(self.manifest.dense)
            )
            self.lexical = LexicalIndex.load(version_dir / "bm25")
        except (OSError, RuntimeError, ValueError) as exc:
            raise IndexCorruptError(f"index version at {version_dir} is unreadable: {exc}") from exc
        self._facts = self._row_facts()
        self._superseded = superseded_ids(self.store.documents)
        self._last_query: tuple[str, npt.NDArray[np.float32]] | None = None

    @property
    def version(self) -> str:
        """The published version name, e.g. v000003."""
        return self.manifest.version

    @property
    def documents(self) -> tuple[Document, ...]:
        """Every document in this version."""
        return self.store.documents

    def _row_facts(self) -> _RowFacts:
        docs = self.store.documents
        doc_index = np.asarray(self.store.chunk_doc_index, dtype=np.int32)
        kinds = np.asarray([_KINDS.index(d.kind) for d in docs], dtype=np.int8)
        years = np.asarray([d.year or 0 for d in docs], dtype=np.int32)
        return _RowFacts(doc_index, kinds[doc_index], years[doc_index])

    def _allowed_docs(self, filters: SearchFilters) -> npt.NDArray[np.bool_]:
        docs = self.store.documents
        allowed = np.ones(len(docs), dtype=bool)
        if filters.drug:
            wanted = filters.drug.lower()
            allowed &= np.asarray(
                [
                    any(wanted == n.lower() or wanted in n.lower().split() for n in d.drug_names)
                    for d in docs
                ],
                dtype=bool,
            )
        if filters.exclude_superseded:
            allowed &= np.asarray([d.doc_id not in self._superseded for d in docs], dtype=bool)
        return allowed

    def allowed_rows(self, filters: SearchFilters) -> npt.NDArray[np.bool_] | None:
        """Boolean mask of chunk rows passing the filters (None: everything passes)."""
        if filters.is_empty():
            return None
        facts = self._facts
        mask = self._allowed_docs(filters)[facts.doc_index]
        if filters.kinds:
            mask &= np.isin(facts.kind, [_KINDS.index(k) for k in filters.kinds])
        if filters.year_from:
            mask &= facts.year >= filters.year_from
        if filters.year_to:
            mask &= (facts.year <= filters.year_to) & (facts.year > 0)
        return mask

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """Top-k chunks: fused dense and BM25 rank, or one of them alone ("dense", "lexical")."""
        filters = filters or SearchFilters()
        mask = self.allowed_rows(filters)
        pool = max(self.settings.candidates, k)
        dense = self.dense_candidates(query, pool, mask) if mode != "lexical" else []
        lexical = self.lexical_candidates(query, pool, mask) if mode != "dense" else []
        ranked = {"dense": dense, "lexical": lexical}.get(mode) or fuse(
            dense, lexical, self.settings
        )
        return self.hits(ranked[:k], dict(dense), dict(lexical))

    def dense_candidates(
        self, query: str, pool: int, mask: npt.NDArray[np.bool_] | None
    ) -> list[tuple[int, float]]:
        """(row, cosine) of the nearest chunks."""
        vector = self._query_vector(query)
        rows = np.flatnonzero(mask).astype(np.int64) if mask is not None else None
        return self.dense.search(vector, pool, rows)

    def _query_vector(self, query: str) -> npt.NDArray[np.float32]:
        # one question is searched once per source kind: embed it once
        cached = self._last_query
        if cached is not None and cached[0] == query:
            return cached[1]
        vector = self.embedder.embed([query], for_queries=True)[0]
        self._last_query = (query, vector)
        return vector

    def lexical_candidates(
        self, query: str, pool: int, mask: npt.NDArray[np.bool_] | None
    ) -> list[tuple[int, float]]:
        """(row, BM25) of the best-matching chunks with a positive score."""
        scores = self.lexical.scores(query)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        pool = min(pool, len(scores))
        if pool == 0:
            return []
        top = np.argpartition(-scores, pool - 1)[:pool]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(r), float(scores[r])) for r in top if scores[r] > 0]

    def hits(
        self,
        ranked: list[tuple[int, float]],
        dense: dict[int, float] | None = None,
        lexical: dict[int, float] | None = None,
    ) -> list[Hit]:
        """Turn (row, score) pairs into Hits with their document's provenance."""
        chunks = self.store.chunks([row for row, _ in ranked])
        return [
            make_hit(
                self.store.documents[self._facts.doc_index[row]],
                chunk,
                score,
                (dense or {}).get(row),
                (lexical or {}).get(row),
            )
            for (row, score), chunk in zip(ranked, chunks, strict=True)
        ]

    def close(self) -> None:
        """Release file handles."""
        self.store.close()


def make_hit(
    doc: Document, chunk: Chunk, score: float, dense: float | None, lexical: float | None
) -> Hit:
    """A Hit from a chunk and its document."""
    pages = (
        (chunk.page_start, chunk.page_end or chunk.page_start)
        if chunk.page_start is not None
        else None
    )
    return Hit(
        doc_id=doc.doc_id,
        chunk_id=chunk.chunk_id,
        kind=doc.kind,
        title=doc.title,
        issuer=doc.issuer,
        year=doc.year,
        section=chunk.section,
        section_path=chunk.section_path,
        section_number=chunk.section_number,
        pages=pages,
        url=doc.url,
        identifier=doc.identifier,
        score=score,
        dense_score=dense,
        lexical_score=lexical,
        text=chunk.text,
    )


def fuse(
    dense: list[tuple[int, float]], lexical: list[tuple[int, float]], settings: IndexSettings
) -> list[tuple[int, float]]:
    """Combine two rankings by reciprocal rank fusion or a min-max-normalised convex sum."""
    combined: dict[int, float] = {}
    if settings.fusion is Fusion.RRF:
        for ranking in (dense, lexical):
            for rank, (row, _) in enumerate(ranking):
                combined[row] = combined.get(row, 0.0) + 1.0 / (settings.rrf_k + rank + 1)
    else:
        alpha = settings.convex_alpha
        for weight, ranking in ((alpha, dense), (1.0 - alpha, lexical)):
            for row, value in _min_max(ranking):
                combined[row] = combined.get(row, 0.0) + weight * value
    return sorted(combined.items(), key=lambda item: (-item[1], item[0]))


def _min_max(ranking: list[tuple[int, float]]) -> list[tuple[int, float]]:
    if not ranking:
        return []
    values = [s for _, s in ranking]
    low, high = min(values), max(values)
    span = high - low or 1.0
    return [(row, (s - low) / span) for row, s in ranking]


def open_index(
    settings: IndexSettings,
    embedding: EmbeddingSettings,
    chunking: ChunkingSettings,
    embedder: Embedder,
) -> HybridIndex:
    """Open the published version at `settings.directory`, checking it fits the settings."""
    return HybridIndex(
        current_version_dir(settings.directory),
        settings,
        embedder,
        settings_id(embedding, chunking),
    )


def supersession(documents: tuple[Document, ...]) -> dict[str, tuple[str, ...]]:
    """For each document, the indexed documents it replaces: those named in its `supersedes`,
    and older members of its series (same series_id, earlier date or year)."""
    present = {d.doc_id for d in documents}
    older: dict[str, list[str]] = {
        d.doc_id: [s for s in d.supersedes if s in present] for d in documents
    }
    series: dict[str, list[Document]] = {}
    for doc in documents:
        if doc.series_id:
            series.setdefault(doc.series_id, []).append(doc)
    for members in series.values():
        newest = max(members, key=lambda d: (d.date or dt.date(d.year or 1, 1, 1), d.doc_id))
        older[newest.doc_id] += [d.doc_id for d in members if d is not newest]
    return {k: tuple(dict.fromkeys(v)) for k, v in older.items() if v}


def superseded_ids(documents: tuple[Document, ...]) -> set[str]:
    """Every indexed document that another indexed document replaces."""
    return {old for olds in supersession(documents).values() for old in olds}
