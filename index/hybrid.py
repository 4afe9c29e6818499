"""Open a published index version and search it: dense + BM25, fused, with filters."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from guideqa.index.dense import DenseIndex
from guideqa.index.errors import IndexCorruptError, IndexMismatchError
from guideqa.index.fusion import Ranking, rank
from guideqa.index.lexical import LexicalIndex
from guideqa.index.models import Hit, IndexManifest, Provenance, SearchFilters, SectionPreference
from guideqa.index.settings import DenseKind, IndexSettings
from guideqa.index.store import MetadataStore
from guideqa.index.supersession import superseded_ids
from guideqa.index.versions import current_version_dir, read_manifest
from guideqa.ingest.chunking import index_text
from guideqa.ingest.embedding import Embedder
from guideqa.ingest.models import Chunk, Document, Population, SectionRole, SourceKind
from guideqa.ingest.sections import SectionKnowledge
from guideqa.ingest.settings import ChunkingSettings, EmbeddingSettings

_KINDS = list(SourceKind)
_ROLES = list(SectionRole)
_POPULATIONS = list(Population)


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
    role: npt.NDArray[np.int8]  # index into SectionRole, -1 when unknown
    population: npt.NDArray[np.int8]  # index into Population, -1 when none
    live: npt.NDArray[np.bool_]  # False for rows an incremental update detached


def per_row(
    values: npt.NDArray[Any],
    doc_index: npt.NDArray[np.int32],
    live: npt.NDArray[np.bool_],
    fill: Any,
) -> npt.NDArray[Any]:
    """A per-document array spread over chunk rows; detached rows (doc_index -1) get `fill`,
    even when no document is left at all."""
    if len(values) == 0:
        return np.full(len(doc_index), fill, dtype=values.dtype)
    return np.where(live, values[np.where(live, doc_index, 0)], fill)


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
            self.dense = DenseIndex.load(version_dir, DenseKind(self.manifest.dense), settings)
            self.lexical = self._lexical(LexicalIndex.load(version_dir / "bm25"))
        except (OSError, RuntimeError, ValueError) as exc:
            raise IndexCorruptError(f"index version at {version_dir} is unreadable: {exc}") from exc
        self._facts = self._row_facts()
        self._detached = not bool(self._facts.live.all())
        self._superseded = superseded_ids(self.store.documents)
        self._last_query: tuple[str, npt.NDArray[np.float32]] | None = None
        self.sections = SectionKnowledge.load()
        self._drug_masks: dict[str, npt.NDArray[np.bool_]] = {}  # documents per drug filter
        self._current = np.asarray(
            [d.doc_id not in self._superseded for d in self.store.documents], dtype=bool
        )

    def _lexical(self, base: LexicalIndex) -> LexicalIndex:
        return with_appended_rows(base, self.store)

    @property
    def version(self) -> str:
        """The published version name, e.g. v000003."""
        return self.manifest.version

    @property
    def documents(self) -> tuple[Document, ...]:
        """Every document in this version, as outlines (no section text: `document` has it)."""
        return self.store.documents

    def _row_facts(self) -> _RowFacts:
        docs = self.store.documents
        doc_index = self.store.chunk_doc_index
        kinds = np.asarray([_KINDS.index(d.kind) for d in docs], dtype=np.int8)
        years = np.asarray([d.year or 0 for d in docs], dtype=np.int32)
        roles, populations = self.store.chunk_roles, self.store.chunk_populations
        # rows detached by an incremental update (doc_index -1) get kind and year -1: no filter
        # matches them, and `live` keeps them out of unfiltered lexical search too
        live = doc_index >= 0
        kind = per_row(kinds, doc_index, live, -1).astype(np.int8)
        year = per_row(years, doc_index, live, -1).astype(np.int32)
        return _RowFacts(doc_index, kind, year, roles, populations, live)

    def _allowed_docs(self, filters: SearchFilters) -> npt.NDArray[np.bool_]:
        docs = self.store.documents
        allowed = np.ones(len(docs), dtype=bool)
        if filters.drug:
            allowed &= self._drug_mask(filters.drug.lower())
        if filters.exclude_superseded:
            allowed &= self._current
        return allowed

    def _drug_mask(self, wanted: str) -> npt.NDArray[np.bool_]:
        mask = self._drug_masks.get(wanted)
        if mask is None:
            mask = np.asarray(
                [
                    any(wanted == n.lower() or wanted in n.lower().split() for n in d.drug_names)
                    for d in self.store.documents
                ],
                dtype=bool,
            )
            self._drug_masks[wanted] = mask
        return mask

    def allowed_rows(self, filters: SearchFilters) -> npt.NDArray[np.bool_] | None:
        """Boolean mask of chunk rows passing the filters (None: everything passes)."""
        if filters.is_empty():
            return None
        facts = self._facts
        mask = per_row(self._allowed_docs(filters), facts.doc_index, facts.live, False)
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
        prefer: SectionPreference | None = None,
    ) -> list[Hit]:
        """Top-k chunks: fused dense and BM25 rank, or one of them alone ("dense", "lexical").

        Hybrid search ranks first the sections the query names ("boxed warning", "pregnancy",
        "renal impairment"), or those given in `prefer`."""
        filters = filters or SearchFilters()
        mask = self.allowed_rows(filters)
        pool = max(self.settings.candidates, k)
        dense = self.dense_candidates(query, pool, mask) if mode != "lexical" else []
        lexical = self.lexical_candidates(query, pool, mask) if mode != "dense" else []
        preferred: Ranking = []
        if mode not in ("dense", "lexical"):
            preference = prefer if prefer is not None else self.named_sections(query)
            preferred = self._preferred(dense + lexical, preference)
        ranked = rank(dense, lexical, mode, preferred, self.settings)
        return self.hits(ranked[:k], dict(dense), dict(lexical))

    def named_sections(self, query: str) -> SectionPreference:
        """The label sections and populations a query names, by the section knowledge file."""
        return named_sections(self.sections, query)

    def _preferred(self, candidates: Ranking, preference: SectionPreference) -> Ranking:
        if preference.is_empty():
            return []
        roles = [_ROLES.index(r) for r in preference.roles]
        populations = [_POPULATIONS.index(p) for p in preference.populations]
        facts = self._facts
        return [
            (row, score)
            for row, score in dict(candidates).items()
            if facts.role[row] in roles or facts.population[row] in populations
        ]

    def tokens(self, text: str) -> list[str]:
        """The stemmed lexical tokens of a text, as BM25 sees them."""
        return self.lexical.tokens(text)

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency of each token in this version's passages."""
        return self.lexical.idf(tokens)

    def document(self, doc_id: str) -> Document | None:
        """A document of this version by id."""
        return self.store.document(doc_id)

    def chunk_count(self, doc_id: str) -> int:
        """How many passages a document has in this version."""
        return len(self.store.rows_of_document(doc_id))

    def section_hits(
        self,
        doc_id: str,
        roles: tuple[SectionRole, ...],
        limit: int = 4,
        populations: tuple[Population, ...] = (),
        query: str | None = None,
    ) -> list[Hit]:
        """A document's passages from sections with the given roles (or about the given
        populations): in reading order, or most similar to `query` first when one is given."""
        wanted = {_ROLES.index(r) for r in roles}
        groups = {_POPULATIONS.index(p) for p in populations}
        facts = self._facts
        rows = [
            r
            for r in self.store.rows_of_document(doc_id)
            if facts.role[r] in wanted or facts.population[r] in groups
        ]
        if query is None:
            return self.hits([(row, 1.0) for row in rows[:limit]])
        similar = self.dense.similarities(self._query_vector(query), rows)
        ranked = sorted(zip(rows, similar, strict=True), key=lambda pair: -pair[1])[:limit]
        return self.hits(ranked, dict(ranked))

    def dense_candidates(
        self, query: str, pool: int, mask: npt.NDArray[np.bool_] | None
    ) -> Ranking:
        """(row, cosine) of the nearest chunks."""
        return self.dense.search(self._query_vector(query), pool, mask)

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
    ) -> Ranking:
        """(row, BM25) of the best-matching chunks with a positive score."""
        scores = self.lexical.scores(query)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        elif self._detached:
            scores = np.where(self._facts.live, scores, 0.0)
        # only rows with a positive score compete: far fewer than all rows at scale, where a
        # partition over every row was most of the search time (8 ms of 22 at a million)
        matching = np.flatnonzero(scores > 0)
        pool = min(pool, len(matching))
        if pool == 0:
            return []
        top = matching[np.argpartition(-scores[matching], pool - 1)[:pool]]
        # rows tied with the last one kept all compete, then equal scores go by row: which
        # tied rows make the cut is then the same on every backend
        top = matching[scores[matching] >= scores[top].min()]
        top = top[np.lexsort((top, -scores[top]))][:pool]
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


def named_sections(sections: SectionKnowledge, query: str) -> SectionPreference:
    """The label sections and populations a query names ('boxed warning', 'pregnancy'), by the
    section knowledge file: what every backend prefers in hybrid search."""
    return SectionPreference(
        roles=sections.roles_named(query), populations=sections.populations_named(query)
    )


def with_appended_rows(base: LexicalIndex, store: MetadataStore) -> LexicalIndex:
    """The base BM25 index, with the rows appended by incremental updates since."""
    rows = len(store.chunk_doc_index)
    if rows == base.base_size:
        return base
    appended = list(range(base.base_size, rows))
    texts = []
    for row, chunk in zip(appended, store.chunks(appended), strict=True):
        position = store.chunk_doc_index[row]
        live = position >= 0
        texts.append(index_text(store.documents[position], chunk) if live else "")
    return base.with_appended(texts)


def make_hit(
    doc: Document, chunk: Chunk, score: float, dense: float | None, lexical: float | None
) -> Hit:
    """A Hit from a chunk and its document."""
    pages = (
        (chunk.page_start, chunk.page_end or chunk.page_start)
        if chunk.page_start is not None
        else None
    )
    provenance = Provenance(
        drug_names=doc.drug_names,
        drug_classes=doc.drug_classes,
        partial_label=doc.partial,
        section_role=chunk.section_role,
        section_code=chunk.section_code,
        population=chunk.population,
        grade=chunk.grade,
        publication_types=doc.publication_types,
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
        provenance=provenance,
        table_rows=chunk.table_rows,
    )


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
