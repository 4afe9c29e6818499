"""SQLite metadata store: documents and chunk texts of one index version (write once)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

from guideqa.ingest.models import Chunk, Document, Population, SectionRole

_SCHEMA = """
CREATE TABLE documents (
  doc_idx INTEGER PRIMARY KEY, doc_id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
  year INTEGER, content_hash TEXT NOT NULL, source_path TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE chunks (
  row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL,
  doc_idx INTEGER NOT NULL REFERENCES documents(doc_idx), role TEXT, population TEXT,
  body TEXT NOT NULL);
CREATE INDEX chunks_by_doc ON chunks(doc_idx);
"""


def write_store(path: Path, documents: Sequence[Document], chunks: Sequence[Chunk]) -> None:
    """Write documents and chunks; chunk rows are numbered in the order given."""
    position = {doc.doc_id: i for i, doc in enumerate(documents)}
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (
                    i,
                    d.doc_id,
                    d.kind.value,
                    d.year,
                    d.content_hash,
                    d.source_path,
                    d.model_dump_json(),
                )
                for i, d in enumerate(documents)
            ),
        )
        db.executemany(
            "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
            (
                (
                    row,
                    c.chunk_id,
                    position[c.doc_id],
                    c.section_role.value if c.section_role else None,
                    c.population.value if c.population else None,
                    c.model_dump_json(),
                )
                for row, c in enumerate(chunks)
            ),
        )
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")


class MetadataStore:
    """Read-only access to one version's store, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        self.documents: tuple[Document, ...] = tuple(
            Document.model_validate_json(str(body))
            for (body,) in self._query("SELECT body FROM documents ORDER BY doc_idx")
        )
        rows = self._query("SELECT doc_idx, role, population FROM chunks ORDER BY row")
        self.chunk_doc_index: tuple[int, ...] = tuple(int(str(idx)) for idx, _, _ in rows)
        self.chunk_roles: tuple[SectionRole | None, ...] = tuple(
            SectionRole(str(role)) if role else None for _, role, _ in rows
        )
        self.chunk_populations: tuple[Population | None, ...] = tuple(
            Population(str(pop)) if pop else None for _, _, pop in rows
        )
        self._by_id = {doc.doc_id: i for i, doc in enumerate(self.documents)}

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def document(self, doc_id: str) -> Document | None:
        """A document by id."""
        index = self._by_id.get(doc_id)
        return self.documents[index] if index is not None else None

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """Chunks at the given rows, in the same order."""
        if not rows:
            return []
        marks = ",".join("?" * len(rows))
        result = self._query(f"SELECT row, body FROM chunks WHERE row IN ({marks})", rows)
        found: dict[int, str] = {int(str(r)): str(b) for r, b in result}
        return [Chunk.model_validate_json(str(found[r])) for r in rows]

    def rows_of_document(self, doc_id: str) -> list[int]:
        """Chunk rows of one document, in reading order."""
        index = self._by_id.get(doc_id)
        if index is None:
            return []
        result = self._query("SELECT row FROM chunks WHERE doc_idx = ? ORDER BY row", (index,))
        return [int(str(r)) for (r,) in result]

    def close(self) -> None:
        """Release the database handle."""
        self._db.close()
