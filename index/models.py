"""Typed results and filters of index search, free of FAISS ids and numpy types."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from guideqa.ingest.models import Population, SectionRole, SourceKind, Span


class SearchFilters(BaseModel):
    """Restrict a search by source kind, drug name, publication year and supersession."""

    model_config = ConfigDict(frozen=True)

    kinds: tuple[SourceKind, ...] = ()
    drug: str | None = None
    year_from: int | None = None
    year_to: int | None = None
    exclude_superseded: bool = False

    def is_empty(self) -> bool:
        """True when no filter narrows the search."""
        return not (
            self.kinds or self.drug or self.year_from or self.year_to or self.exclude_superseded
        )


class SectionPreference(BaseModel):
    """Sections a search should rank first (a question naming 'boxed warning' or 'pregnancy')."""

    model_config = ConfigDict(frozen=True)

    roles: tuple[SectionRole, ...] = ()
    populations: tuple[Population, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is preferred."""
        return not (self.roles or self.populations)


class Provenance(BaseModel):
    """Typed facts about where a passage comes from, set at ingest: answers never parse titles
    or headings to recover them."""

    model_config = ConfigDict(frozen=True)

    drug_names: tuple[str, ...] = ()
    drug_classes: tuple[str, ...] = ()
    partial_label: bool = False
    section_role: SectionRole | None = None
    section_code: str | None = Field(default=None, description="LOINC section code")
    population: Population | None = None
    grade: str | None = Field(default=None, description="recommendation grade, e.g. 'B'")
    publication_types: tuple[str, ...] = ()


class Hit(BaseModel):
    """One retrieved passage with its provenance and scores."""

    model_config = ConfigDict(frozen=True)

    doc_id: str
    chunk_id: str
    kind: SourceKind
    title: str
    issuer: str | None
    year: int | None
    section: str
    section_path: tuple[str, ...]
    section_number: str | None
    pages: tuple[int, int] | None
    url: str | None
    identifier: str | None
    score: float
    dense_score: float | None = None
    lexical_score: float | None = None
    text: str
    provenance: Provenance = Provenance()
    table_rows: tuple[Span, ...] = Field(
        default=(), description="[start, end) of table rows (with headers) in text"
    )


class IndexManifest(BaseModel):
    """What a published index version was built from and with."""

    model_config = ConfigDict(frozen=True)

    format_version: int = 1
    version: str
    created: dt.datetime
    settings_id: str
    embedding: dict[str, object]
    chunking: dict[str, object]
    dense: str
    documents: int
    chunks: int
    counts_by_kind: dict[str, int]
    corpus_hash: str
    source_fingerprint: str | None = None
    build_seconds: float = 0.0
    embedded_chunks: int = 0
    rows: int | None = Field(
        default=None, description="chunk rows incl. detached ones (None: equal to chunks)"
    )
    base_rows: int | None = Field(
        default=None, description="rows of the last full build; later rows were appended"
    )
