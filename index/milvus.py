"""Milvus as the index backend: search one version's collection, publish versions, readiness.

Dense search is Milvus's (FLAT: exact, as the local default; HNSW above the exact limit); BM25
is a sparse inner product over weights copied from the local bm25s index (`sparse_rows`), so
the lexical scores, idf and mean length are those of the local index rather than Milvus's
per-segment statistics. Fusion, section preference and provenance are the shared code
(`fusion.rank`, `hybrid.make_hit`): the two backends differ only in where candidates come
from."""

from __future__ import annotations

import json
import threading
from collections import Counter
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from guideqa.index.errors import (
    BackendUnavailableError,
    IndexNotFoundError,
)
from guideqa.index.fusion import Ranking, rank
from guideqa.index.hybrid import make_hit, named_sections
from guideqa.index.lexical import LexicalTokenizer, bm25_idf
from guideqa.index.milvus_store import (
    get_blob,
    literal,
    meta_of,
    population_index,
    read_manifest_of,
    role_index,
)
from guideqa.index.models import Hit, IndexManifest, SearchFilters, SectionPreference
from guideqa.index.settings import IndexSettings
from guideqa.ingest.embedding import Embedder
from guideqa.ingest.models import Chunk, Document, Population, SectionRole
from guideqa.ingest.sections import SectionKnowledge

if TYPE_CHECKING:
    from pymilvus import MilvusClient

_RANK_FIELDS = ["row", "role", "population"]  # what ranking needs of every candidate
_FIELDS = ["row", "doc_id", "role", "population", "chunk"]  # what a hit needs
Found = dict[int, dict[str, Any]]  # row -> the fields Milvus returned for it


def drug_documents(documents: tuple[Document, ...], drug: str) -> list[str]:
    """The documents a drug filter keeps, as the local index decides: the drug is one of a
    document's names, or one word of one (lower-cased)."""
    wanted = drug.lower()
    return [
        d.doc_id
        for d in documents
        if any(wanted == n.lower() or wanted in n.lower().split() for n in d.drug_names)
    ]


def filter_expression(filters: SearchFilters, documents: tuple[Document, ...]) -> str | None:
    """A Milvus boolean expression equal to the local index's row mask (None: no row can
    pass). Lite has no index on arrays, so a drug filter is a list of documents."""
    clauses: list[str] = []
    if filters.kinds:
        clauses.append(f"kind in {literal([k.value for k in filters.kinds])}")
    if filters.drug:
        kept = drug_documents(documents, filters.drug)
        if not kept:
            return None
        clauses.append(f"doc_id in {literal(kept)}")
    if filters.year_from:
        clauses.append(f"year >= {literal(filters.year_from)}")
    if filters.year_to:
        clauses.append(f"(year <= {literal(filters.year_to)} and year > 0)")
    if filters.exclude_superseded:
        clauses.append("current == true")
    return " and ".join(clauses)


class _Vocabulary:
    """The BM25 vocabulary of a version: token ids for query vectors, frequencies for idf."""

    def __init__(self, text: str) -> None:
        data = json.loads(text)
        self.rows = int(data["rows"])
        self.ids = {t: int(v[0]) for t, v in data["tokens"].items()}
        self.frequency = {t: int(v[1]) for t, v in data["tokens"].items()}

    def query_vector(self, tokens: list[str]) -> dict[int, float]:
        """A query as token counts: a repeated word counts again, as in bm25s."""
        counts = Counter(self.ids[t] for t in tokens if t in self.ids)
        return {token: float(n) for token, n in counts.items()}

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency, by the formula of the local index."""
        return {t: bm25_idf(self.rows, self.frequency.get(t, 0)) for t in tokens}


class MilvusIndex:
    """One version in Milvus, opened: the collection is fixed at open, so a search in flight
    finishes on the version it started on whatever the alias says meanwhile."""

    def __init__(
        self,
        client: MilvusClient,
        collection: str,
        settings: IndexSettings,
        embedder: Embedder,
    ) -> None:
        manifest = read_manifest_of(client, collection)
        vocabulary = get_blob(client, collection, "vocabulary")
        outlines = get_blob(client, collection, "outlines")
        if manifest is None or vocabulary is None or outlines is None:
            raise IndexNotFoundError(f"Milvus collection {collection} is not a complete version")
        self.manifest: IndexManifest = manifest
        for name in (collection, meta_of(collection)):
            client.load_collection(name)
        self.client, self.collection = client, collection
        self.settings, self.embedder = settings, embedder
        self._vocabulary = _Vocabulary(vocabulary)
        self._tokenize = LexicalTokenizer()
        self._documents = tuple(Document.model_validate(d) for d in json.loads(outlines))
        self._by_id = {d.doc_id: d for d in self._documents}
        self.sections = SectionKnowledge.load()
        self._last_query: tuple[str, npt.NDArray[np.float32]] | None = None
        self._lock = threading.Lock()

    @property
    def version(self) -> str:
        """The version name, e.g. v000003."""
        return self.manifest.version

    @property
    def documents(self) -> tuple[Document, ...]:
        """Every document, as outlines."""
        return self._documents

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        prefer: SectionPreference | None = None,
    ) -> list[Hit]:
        """Top-k passages, ranked exactly as the local index ranks the same candidates."""
        expression = filter_expression(filters or SearchFilters(), self._documents)
        if expression is None:
            return []
        pool = max(self.settings.candidates, k)
        found: Found = {}
        dense = self._dense(query, pool, expression, found) if mode != "lexical" else []
        lexical = self._lexical(query, pool, expression, found) if mode != "dense" else []
        preferred: Ranking = []
        if mode not in ("dense", "lexical"):
            preference = prefer if prefer is not None else named_sections(self.sections, query)
            preferred = _preferred(dense + lexical, preference, found)
        ranked = rank(dense, lexical, mode, preferred, self.settings)[:k]
        return self._hits(
            ranked, self._fetch([row for row, _ in ranked]), dict(dense), dict(lexical)
        )

    def _run(self, call: str, **kwargs: object) -> Any:
        from pymilvus import MilvusException

        try:
            return getattr(self.client, call)(self.collection, **kwargs)
        except MilvusException as exc:
            raise BackendUnavailableError(
                f"Milvus {call} on {self.collection} failed: {exc.message}"
            ) from exc

    def _dense(self, query: str, pool: int, expression: str, found: Found) -> Ranking:
        vector = self._query_vector(query)
        return self._search(vector.tolist(), "dense", pool, expression, found)

    def _lexical(self, query: str, pool: int, expression: str, found: Found) -> Ranking:
        vector = self._vocabulary.query_vector(self._tokenize(query))
        if not vector:
            return []
        ranked = self._search(vector, "sparse", pool, expression, found)
        return [(row, score) for row, score in ranked if score > 0]

    def _search(
        self,
        vector: object,
        field: str,
        pool: int,
        expression: str,
        found: Found,
    ) -> Ranking:
        result = self._run(
            "search",
            data=[vector],
            anns_field=field,
            limit=pool,
            filter=expression,
            output_fields=_RANK_FIELDS,
            search_params={"metric_type": "IP", "params": {"ef": max(pool, 64)}},
        )
        ranking: Ranking = []
        for hit in result[0]:
            row = int(hit["entity"]["row"])
            found[row] = hit["entity"]
            ranking.append((row, float(hit["distance"])))
        # the same order as the local index for equal scores: by row
        return sorted(ranking, key=lambda pair: (-pair[1], pair[0]))

    def _query_vector(self, query: str) -> npt.NDArray[np.float32]:
        with self._lock:
            cached = self._last_query
            if cached is not None and cached[0] == query:
                return cached[1]
        vector = self.embedder.embed([query], for_queries=True)[0]
        with self._lock:
            self._last_query = (query, vector)
        return vector

    def _fetch(self, rows: list[int]) -> Found:
        """The fields of the passages that made the final ranking (text only for those)."""
        if not rows:
            return {}
        found = self._run("query", filter=f"row in {literal(rows)}", output_fields=_FIELDS)
        return {int(r["row"]): r for r in found}

    def tokens(self, text: str) -> list[str]:
        """The stemmed lexical tokens of a text, as BM25 sees them."""
        return self._tokenize(text)

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """Inverse document frequency of each token in this version's passages."""
        return self._vocabulary.idf(tokens)

    def document(self, doc_id: str) -> Document | None:
        """A whole document by id, from the version's blobs."""
        if doc_id not in self._by_id:
            return None
        text = get_blob(self.client, self.collection, f"doc:{doc_id}")
        return Document.model_validate_json(text) if text else None

    def chunk_count(self, doc_id: str) -> int:
        """How many passages a document has in this version."""
        rows = self._run(
            "query", filter=f"doc_id == {literal(doc_id)}", output_fields=["row"], limit=16_384
        )
        return len(rows)

    def section_hits(
        self,
        doc_id: str,
        roles: tuple[SectionRole, ...],
        limit: int = 4,
        populations: tuple[Population, ...] = (),
        query: str | None = None,
    ) -> list[Hit]:
        """A document's passages from the given sections: in reading order, or most similar
        to `query` first."""
        wanted = literal([role_index(r) for r in roles] or [-2])
        groups = literal([population_index(p) for p in populations] or [-2])
        expression = f"doc_id == {literal(doc_id)} and (role in {wanted} or population in {groups})"
        fields = [*_FIELDS, "dense"] if query is not None else _FIELDS
        rows = self._run("query", filter=expression, output_fields=fields, limit=16_384)
        found: Found = {int(r["row"]): r for r in rows}
        ordered = sorted(found)
        if query is None:
            return self._hits([(row, 1.0) for row in ordered[:limit]], found)
        vector = self._query_vector(query)
        similar = [float(np.dot(vector, np.asarray(found[r]["dense"]))) for r in ordered]
        ranked = sorted(zip(ordered, similar, strict=True), key=lambda pair: -pair[1])[:limit]
        return self._hits(ranked, found, dict(ranked))

    def _hits(
        self,
        ranked: Ranking,
        found: Found,
        dense: dict[int, float] | None = None,
        lexical: dict[int, float] | None = None,
    ) -> list[Hit]:
        hits = []
        for row, score in ranked:
            fields = found[row]
            chunk = Chunk.model_validate_json(str(fields["chunk"]))
            document = self._by_id[str(fields["doc_id"])]
            hits.append(
                make_hit(document, chunk, score, (dense or {}).get(row), (lexical or {}).get(row))
            )
        return hits

    def close(self) -> None:
        """Nothing to release: the client belongs to the backend."""
        return None


def _preferred(candidates: Ranking, preference: SectionPreference, found: Found) -> Ranking:
    if preference.is_empty():
        return []
    roles = {role_index(r) for r in preference.roles}
    groups = {population_index(p) for p in preference.populations}
    return [
        (row, score)
        for row, score in dict(candidates).items()
        if int(found[row]["role"]) in roles or int(found[row]["population"]) in groups
    ]
