"""Index versions as Milvus collections: names, schemas, stored blobs, publishing, retention.

One version is two collections: `PREFIX_vNNNNNN_HASH` holds a row per passage (dense vector,
BM25 weights as a sparse vector, filter fields, the chunk), and `..._meta` holds the manifest,
the BM25 vocabulary, the document outlines and the whole documents as JSON parts. The alias
`PREFIX_current` names the served version: publishing switches it in one call, so a replica
either sees the old version or the new one, and a reader keeps the collection it opened.

pymilvus is imported here and in `index.milvus` only: nothing above the index sees it."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from guideqa.index.errors import BackendUnavailableError
from guideqa.index.hybrid import with_appended_rows
from guideqa.index.lexical import LexicalIndex, sparse_rows
from guideqa.index.models import IndexManifest
from guideqa.index.settings import IndexSettings
from guideqa.index.store import MetadataStore
from guideqa.index.supersession import superseded_ids
from guideqa.index.versions import read_manifest
from guideqa.ingest.embedding import Vectors
from guideqa.ingest.models import Population, SectionRole

if TYPE_CHECKING:
    from pymilvus import MilvusClient

log = logging.getLogger("guideqa.index")
PART_CHARS = 16_000  # a VARCHAR holds 65,535 bytes: 16,000 characters fit at 4 bytes each
COMPLETE = "complete"  # the last blob written: a version without it is an interrupted upload
_ROLES = list(SectionRole)
_POPULATIONS = list(Population)


@dataclass(frozen=True)
class MilvusPlace:
    """Where versions live in Milvus and what they are called."""

    prefix: str

    @property
    def alias(self) -> str:
        """The alias every replica serves."""
        return f"{self.prefix}_current"

    def collection(self, manifest: IndexManifest) -> str:
        """The collection of a version: its name, corpus hash and settings id, so that
        publishing the same version again is a no-op, and neither another index's v000003 nor
        the same corpus embedded with other settings overwrites this one."""
        corpus, settings = manifest.corpus_hash[:8], manifest.settings_id[:6]
        return f"{self.prefix}_{manifest.version}_{corpus}_{settings}"

    def is_version(self, name: str) -> bool:
        """Whether a collection is one of this prefix's versions (not its meta, not another
        prefix's such as PREFIX_v2_...)."""
        pattern = rf"{re.escape(self.prefix)}_v\d{{6}}_[0-9a-f]{{8}}_[0-9a-f]{{6}}"
        return re.fullmatch(pattern, name) is not None


def literal(value: str | int | list[str] | list[int]) -> str:
    """A value written into a Milvus filter expression, quoted and escaped: filters carry user
    input (a drug name), and Lite does not take expression parameters."""
    if isinstance(value, list):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, int):
        return str(int(value))
    printable = "".join(ch for ch in value if ch.isprintable())
    return '"' + printable.replace("\\", "\\\\").replace('"', '\\"') + '"'


def meta_of(collection: str) -> str:
    """The blob collection that goes with a version's passage collection."""
    return f"{collection}_meta"


def connect(settings: IndexSettings) -> MilvusClient:
    """A client for the configured Milvus (a Lite file is opened embedded)."""
    from pymilvus import MilvusClient, MilvusException

    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    if settings.milvus_uri.endswith(".db"):
        # Milvus Lite serves in-process and logs a traceback for AllocTimestamp, an optional
        # call the client probes on every insert and then does without
        logging.getLogger("grpc._server").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(
            uri=settings.milvus_uri,
            token=token,
            db_name=settings.milvus_database,
            timeout=settings.milvus_timeout_s,
        )
    except (MilvusException, OSError, RuntimeError) as exc:
        raise BackendUnavailableError(
            f"cannot reach Milvus at {settings.milvus_uri} ({exc}); start it, or check "
            "GUIDEQA_INDEX__MILVUS_URI, _TOKEN and _DATABASE"
        ) from exc


def _passage_schema(client: MilvusClient, dimension: int) -> object:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=512)
    schema.add_field("kind", DataType.VARCHAR, max_length=32)
    schema.add_field("year", DataType.INT64)
    schema.add_field("role", DataType.INT64)
    schema.add_field("population", DataType.INT64)
    schema.add_field("current", DataType.BOOL)
    schema.add_field("chunk", DataType.VARCHAR, max_length=65_535)
    schema.add_field("dense", DataType.FLOAT_VECTOR, dim=dimension)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    return schema


def _meta_schema(client: MilvusClient) -> object:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=600)
    schema.add_field("name", DataType.VARCHAR, max_length=560)
    schema.add_field("part", DataType.INT64)
    schema.add_field("data", DataType.VARCHAR, max_length=65_535)
    schema.add_field("unused", DataType.FLOAT_VECTOR, dim=2)  # Milvus requires a vector field
    return schema


def _create(
    client: MilvusClient, name: str, rows: int, dimension: int, settings: IndexSettings
) -> None:
    """Create a version's two collections, with the dense structure chosen by size as locally:
    exact (FLAT) up to `exact_search_limit`, HNSW above (Lite has no DiskANN or PQ)."""
    dense = client.prepare_index_params()
    if rows <= settings.exact_search_limit:
        dense.add_index("dense", index_type="FLAT", metric_type="IP")
    else:
        dense.add_index(
            "dense",
            index_type="HNSW",
            metric_type="IP",
            params={"M": settings.hnsw_m, "efConstruction": settings.hnsw_ef_construction},
        )
    dense.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    # filters by kind and by document (a drug filter becomes a list of documents) use these
    dense.add_index("kind", index_type="INVERTED")
    dense.add_index("doc_id", index_type="INVERTED")
    client.create_collection(name, schema=_passage_schema(client, dimension), index_params=dense)
    meta = client.prepare_index_params()
    meta.add_index("unused", index_type="FLAT", metric_type="L2")
    client.create_collection(meta_of(name), schema=_meta_schema(client), index_params=meta)


def put_blob(client: MilvusClient, collection: str, name: str, text: str) -> None:
    """Store a text under a name, in parts that fit a VARCHAR."""
    parts = [text[i : i + PART_CHARS] for i in range(0, len(text), PART_CHARS)] or [""]
    client.insert(
        meta_of(collection),
        [
            {"key": f"{name}#{i}", "name": name, "part": i, "data": part, "unused": [0.0, 0.0]}
            for i, part in enumerate(parts)
        ],
    )


def get_blob(client: MilvusClient, collection: str, name: str) -> str | None:
    """A stored text by name (None when absent)."""
    found = client.query(
        meta_of(collection),
        filter=f"name == {literal(name)}",
        output_fields=["part", "data"],
        limit=16_384,
    )
    if not found:
        return None
    return "".join(str(r["data"]) for r in sorted(found, key=lambda r: int(r["part"])))


def read_manifest_of(
    client: MilvusClient, collection: str, strict: bool = False
) -> IndexManifest | None:
    """A version's manifest, or None when the version is incomplete or not GuideQA's. With
    `strict`, a failing Milvus raises instead of looking like an incomplete version."""
    from pymilvus import MilvusException

    try:
        if not client.has_collection(meta_of(collection)):
            return None
        client.load_collection(meta_of(collection))  # a server restart leaves it released
        if get_blob(client, collection, COMPLETE) is None:
            return None
        text = get_blob(client, collection, "manifest")
    except MilvusException:
        if strict:
            raise
        return None
    return IndexManifest.model_validate_json(text) if text else None


def _passage_rows(
    store: MetadataStore, vectors: Vectors, weights: sparse.csr_matrix, batch: int
) -> Iterator[list[dict[str, object]]]:
    """The version's live rows, as Milvus rows, `batch` at a time."""
    superseded = superseded_ids(store.documents)
    live = np.flatnonzero(store.chunk_doc_index >= 0)
    for start in range(0, len(live), batch):
        rows = [int(r) for r in live[start : start + batch]]
        out = []
        for row, chunk in zip(rows, store.chunks(rows), strict=True):
            doc = store.documents[store.chunk_doc_index[row]]
            vector = weights.getrow(row)
            out.append(
                {
                    "row": row,
                    "doc_id": doc.doc_id,
                    "kind": doc.kind.value,
                    "year": doc.year or 0,
                    "role": int(store.chunk_roles[row]),
                    "population": int(store.chunk_populations[row]),
                    "current": doc.doc_id not in superseded,
                    "chunk": chunk.model_dump_json(),
                    "dense": np.asarray(vectors[row], dtype=np.float32).tolist(),
                    "sparse": {
                        int(c): float(v) for c, v in zip(vector.indices, vector.data, strict=True)
                    },
                }
            )
        yield out


def _vocabulary(weights: sparse.csr_matrix, vocabulary: dict[str, int]) -> str:
    """The BM25 vocabulary as JSON: token -> [id, document frequency], and the row count."""
    frequency = np.diff(weights.tocsc().indptr)
    return json.dumps(
        {
            "rows": int(weights.shape[0]),
            "tokens": {t: [i, int(frequency[i])] for t, i in vocabulary.items()},
        }
    )


def upload_version(
    client: MilvusClient, place: MilvusPlace, version_dir: Path, settings: IndexSettings
) -> str:
    """Copy a locally built version into its own collections (vectors as stored: nothing is
    embedded again). Returns the collection name; an upload already complete is kept."""
    manifest = read_manifest(version_dir)
    name = place.collection(manifest)
    if read_manifest_of(client, name) is not None:
        return name
    for stale in (name, meta_of(name)):  # an upload interrupted earlier
        if client.has_collection(stale):
            client.drop_collection(stale)
    store = MetadataStore(version_dir / "store.sqlite")
    try:
        vectors = np.load(version_dir / "vectors.npy", mmap_mode="r")
        # BM25 as the local backend searches it, appended rows included
        lexical = with_appended_rows(LexicalIndex.load(version_dir / "bm25"), store)
        weights, vocabulary = sparse_rows(lexical)
        _create(client, name, manifest.chunks, int(vectors.shape[1]), settings)
        inserted = 0
        for rows in _passage_rows(store, vectors, weights, settings.milvus_batch_rows):
            client.insert(name, rows)
            inserted += len(rows)
        outlines = [d.model_dump(mode="json") for d in store.documents]
        put_blob(client, name, "outlines", json.dumps(outlines))
        for document in store.full_documents():
            put_blob(client, name, f"doc:{document.doc_id}", document.model_dump_json())
    finally:
        store.close()
    put_blob(client, name, "vocabulary", _vocabulary(weights, vocabulary))
    put_blob(client, name, "manifest", manifest.model_dump_json())
    client.flush(name)
    client.flush(meta_of(name))
    put_blob(client, name, COMPLETE, str(inserted))
    client.flush(meta_of(name))
    log.info("uploaded %s to Milvus as %s: %d passages", manifest.version, name, inserted)
    return name


def switch_alias(client: MilvusClient, place: MilvusPlace, collection: str) -> None:
    """Point the served alias at a collection, atomically for every reader."""
    for name in (collection, meta_of(collection)):
        client.load_collection(name)
    aliases = client.list_aliases().get("aliases", [])
    if place.alias in aliases:
        client.alter_alias(collection, place.alias)
    else:
        client.create_alias(collection, place.alias)


def served_collection(client: MilvusClient, place: MilvusPlace, strict: bool = False) -> str | None:
    """The collection the alias names now (None: nothing published). With `strict`, a
    failing Milvus raises instead of looking like nothing published."""
    from pymilvus import MilvusException

    try:
        if place.alias not in client.list_aliases().get("aliases", []):
            return None
        return str(client.describe_alias(place.alias)["collection_name"])
    except MilvusException:
        if strict:
            raise
        return None


def version_collections(
    client: MilvusClient, place: MilvusPlace, strict: bool = False
) -> list[tuple[str, IndexManifest]]:
    """Complete versions in Milvus, oldest first."""
    found = []
    for name in client.list_collections():
        if place.is_version(name):
            manifest = read_manifest_of(client, name, strict)
            if manifest is not None:
                found.append((name, manifest))
    return sorted(found, key=lambda pair: (pair[1].created, pair[0]))


def drop_old_versions(client: MilvusClient, place: MilvusPlace, keep: int) -> list[str]:
    """Drop complete versions beyond the newest `keep`, never the served one. Uploads still
    in progress (incomplete) are left alone, and any Milvus error stops the clean-up rather
    than making a version look droppable. Replicas reading a dropped version reopen the
    alias on their next poll."""
    served = served_collection(client, place, strict=True)
    if served is None:
        return []
    complete = [name for name, _ in version_collections(client, place, strict=True)]
    kept = set(complete[-keep:]) | {served}
    dropped = []
    for name in complete:
        if name not in kept:
            for each in (name, meta_of(name)):
                if client.has_collection(each):
                    client.drop_collection(each)
            dropped.append(name)
    return dropped


def role_index(role: SectionRole) -> int:
    """A section role as stored in the `role` field."""
    return _ROLES.index(role)


def population_index(population: Population) -> int:
    """A population as stored in the `population` field."""
    return _POPULATIONS.index(population)
