"""What the answer layer reads from an opened index version, as a narrow protocol: qa never
reaches into an index's lexical model or store. Both backends (`index.hybrid.HybridIndex`,
`index.milvus.MilvusIndex`) implement it; qa tests use fakes."""

from __future__ import annotations

from typing import Protocol

from guideqa.index.models import Hit, SearchFilters, SectionPreference
from guideqa.ingest.models import Document, Population, SectionRole


class PassageSource(Protocol):
    """Search, term statistics and document lookups over one index version."""

    @property
    def version(self) -> str:
        """The index version answers are built from."""
        ...

    @property
    def documents(self) -> tuple[Document, ...]:
        """Every document of the version, as outlines (sections without their text)."""
        ...

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        prefer: SectionPreference | None = None,
    ) -> list[Hit]:
        """The top-k passages for a query, preferring the given sections."""
        ...

    def tokens(self, text: str) -> list[str]:
        """The lexical tokens (stems) of a text."""
        ...

    def term_weights(self, tokens: list[str]) -> dict[str, float]:
        """How telling each token is (inverse document frequency)."""
        ...

    def document(self, doc_id: str) -> Document | None:
        """A whole document by id, section text included."""
        ...

    def section_hits(
        self,
        doc_id: str,
        roles: tuple[SectionRole, ...],
        limit: int = 4,
        populations: tuple[Population, ...] = (),
        query: str | None = None,
    ) -> list[Hit]:
        """A document's passages from sections with the given roles (or about the given
        populations): in reading order, or most similar to `query` first."""
        ...
