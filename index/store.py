"""SQLite metadata store: documents and chunk texts of one index version (write once)."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from guideqa.ingest.models import Chunk, Document, Population, SectionRole, SourceKind

_SCHEMA = """
CREATE TABLE documents (
  doc_idx INTEGER PRIMARY KEY, doc_id TEXT UNIQUE NOT NULL, kind TEXT NOT NULL,
  year INTEGER, content_hash TEXT NOT NULL, source_path TEXT NOT NULL, body TEXT NOT NULL,
  outline TEXT NOT NULL);
CREATE TABLE chunks (
  row INTEGER PRIMARY KEY, chunk_id TEXT UNIQUE NOT NULL,
  doc_idx INTEGER NOT NULL REFERENCES documents(doc_idx), role TEXT, population TEXT,
  body TEXT NOT NULL);
CREATE INDEX chunks_by_doc ON chunks(doc_idx);
"""


def outline(document: Document) -> Document:
    """The document without its section text: everything search and answers need in memory.

    Section text is most of a document's size (a million-chunk corpus holds gigabytes of it)
    and is read from SQLite when a whole document is asked for (`MetadataStore.document`)."""
    return document.model_copy(
        update={
            "sections": tuple(
                s.model_copy(update={"text": "", "page_breaks": (), "table_rows": ()})
                for s in document.sections
            )
        }
    )


def write_store(path: Path, documents: Sequence[Document], chunks: Sequence[Chunk]) -> None:
    """Write documents and chunks; chunk rows are numbered in the order given."""
    with sqlite3.connect(path) as db:
        db.executescript(_SCHEMA)
        _insert(db, documents, chunks, 0, 0)
    with sqlite3.connect(path) as db:
        db.execute("VACUUM")


def _insert(
    db: sqlite3.Connection,
    documents: Sequence[Document],
    chunks: Sequence[Chunk],
    first_doc: int,
    first_row: int,
) -> None:
    position = {doc.doc_id: first_doc + i for i, doc in enumerate(documents)}
    db.executemany(
        "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            (
                position[d.doc_id],
                d.doc_id,
                d.kind.value,
                d.year,
                d.content_hash,
                d.source_path,
                d.model_dump_json(),
                outline(d).model_dump_json(),
            )
            for d in documents
        ),
    )
    db.executemany(
        "INSERT INTO chunks VALUES (?, ?, ?, ?, ?, ?)",
        (
            (
                first_row + i,
                c.chunk_id,
                position[c.doc_id],
                c.section_role.value if c.section_role else None,
                c.population.value if c.population else None,
                c.model_dump_json(),
            )
            for i, c in enumerate(chunks)
        ),
    )


def document_stubs(path: Path) -> tuple[list[Document], dict[str, int]]:
    """The stored documents as stubs (id, kind, year, content hash, source path; no title or
    sections) with their chunk counts: all that planning a change needs, read without parsing
    any document (a second at a million chunks, against fifteen for whole outlines)."""
    db = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    try:
        found = db.execute(
            "SELECT d.doc_id, d.kind, d.year, d.content_hash, d.source_path, COUNT(c.row) "
            "FROM documents d LEFT JOIN chunks c ON c.doc_idx = d.doc_idx "
            "GROUP BY d.doc_idx ORDER BY d.doc_idx"
        ).fetchall()
    finally:
        db.close()
    stubs = [
        Document.model_construct(
            doc_id=doc_id,
            kind=SourceKind(kind),
            title=doc_id,
            year=year,
            content_hash=content_hash,
            source_path=source_path,
        )
        for doc_id, kind, year, content_hash, source_path, _ in found
    ]
    return stubs, {str(row[0]): int(row[5]) for row in found}


_ROWS_PER_QUERY = 10_000  # under SQLite's limit of bound parameters per statement


class MetadataStore:
    """Read-only access to one version's store, safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self._db = sqlite3.connect(
            f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False
        )
        self._lock = threading.Lock()
        # outlines only (no section text): see `outline`; older stores derive them from bodies
        columns = {str(c[1]) for c in self._query("PRAGMA table_info(documents)")}
        source = "outline" if "outline" in columns else "body"
        rows = self._query(f"SELECT doc_idx, {source} FROM documents ORDER BY doc_idx")
        parsed = (Document.model_validate_json(str(body)) for _, body in rows)
        self.documents: tuple[Document, ...] = tuple(
            outline(d) if source == "body" else d for d in parsed
        )
        # positions in `documents` by stored doc_idx (an incremental update leaves gaps)
        position = {int(str(idx)): i for i, (idx, _) in enumerate(rows)}
        self._doc_idx = {
            d.doc_id: int(str(idx)) for d, (idx, _) in zip(self.documents, rows, strict=True)
        }
        self._load_row_facts(position)
        self._by_id = {doc.doc_id: i for i, doc in enumerate(self.documents)}

    def _load_row_facts(self, position: dict[int, int]) -> None:
        """Per-row arrays (a million rows load in about a second): the document position
        (-1 for a row detached by an incremental update), and the section role and population
        as indexes into SectionRole and Population (-1 for none)."""
        roles = {r.value: i for i, r in enumerate(SectionRole)}
        populations = {p.value: i for i, p in enumerate(Population)}
        rows = self._query("SELECT doc_idx, role, population FROM chunks ORDER BY row")
        count = len(rows)
        self.chunk_doc_index: npt.NDArray[np.int32] = np.fromiter(
            (position.get(int(str(idx)), -1) for idx, _, _ in rows), dtype=np.int32, count=count
        )
        self.chunk_roles: npt.NDArray[np.int8] = np.fromiter(
            (roles.get(str(role), -1) for _, role, _ in rows), dtype=np.int8, count=count
        )
        self.chunk_populations: npt.NDArray[np.int8] = np.fromiter(
            (populations.get(str(pop), -1) for _, _, pop in rows), dtype=np.int8, count=count
        )

    def _query(self, sql: str, params: Iterable[object] = ()) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(params)).fetchall()

    def document(self, doc_id: str) -> Document | None:
        """A whole document by id, section text included (read from SQLite)."""
        result = self._query("SELECT body FROM documents WHERE doc_id = ?", (doc_id,))
        return Document.model_validate_json(str(result[0][0])) if result else None

    def full_documents(self) -> Iterator[Document]:
        """Every whole document, in store order, one at a time."""
        with self._lock:
            bodies = self._db.execute("SELECT body FROM documents ORDER BY doc_idx").fetchall()
        for (body,) in bodies:
            yield Document.model_validate_json(str(body))

    def chunks(self, rows: Sequence[int]) -> list[Chunk]:
        """Chunks at the given rows, in the same order: one query per 10,000 rows."""
        wanted = [int(r) for r in rows]  # numpy integers do not bind as SQLite integers
        found: dict[int, str] = {}
        for start in range(0, len(wanted), _ROWS_PER_QUERY):
            part = wanted[start : start + _ROWS_PER_QUERY]
            marks = ",".join("?" * len(part))
            result = self._query(f"SELECT row, body FROM chunks WHERE row IN ({marks})", part)
            found.update((int(str(r)), str(b)) for r, b in result)
        return [Chunk.model_validate_json(found[r]) for r in wanted]

    def rows_of_document(self, doc_id: str) -> list[int]:
        """Chunk rows of one document, in reading order."""
        index = self._doc_idx.get(doc_id)
        if index is None:
            return []
        result = self._query("SELECT row FROM chunks WHERE doc_idx = ? ORDER BY row", (index,))
        return [int(str(r)) for (r,) in result]

    def close(self) -> None:
        """Release the database handle."""
        self._db.close()


def append_to_store(
    path: Path, removed: Sequence[str], documents: Sequence[Document], chunks: Sequence[Chunk]
) -> tuple[list[int], int]:
    """Update a copy of a store in place: documents in `removed` lose their chunk rows (the
    rows stay, detached with doc_idx -1, so that every other row keeps its number);
    `documents` and `chunks` are added after the last row. Returns the detached rows and the
    first new row."""
    with sqlite3.connect(path) as db:
        detached: list[int] = []
        for doc_id in removed:
            found = db.execute("SELECT doc_idx FROM documents WHERE doc_id = ?", (doc_id,))
            for (index,) in found.fetchall():
                rows = db.execute("SELECT row FROM chunks WHERE doc_idx = ?", (index,))
                detached += [int(r) for (r,) in rows.fetchall()]
                # the new chunks of a changed document reuse its chunk ids
                db.execute(
                    "UPDATE chunks SET doc_idx = -1, chunk_id = chunk_id || '~' || row "
                    "WHERE doc_idx = ?",
                    (index,),
                )
                db.execute("DELETE FROM documents WHERE doc_idx = ?", (index,))
        first_doc = int(
            db.execute("SELECT COALESCE(MAX(doc_idx), -1) + 1 FROM documents").fetchone()[0]
        )
        first_row = int(db.execute("SELECT COALESCE(MAX(row), -1) + 1 FROM chunks").fetchone()[0])
        _insert(db, documents, chunks, first_doc, first_row)
    return sorted(detached), first_row
