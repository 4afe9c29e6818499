"""LangChain adapter: GuideQA search as a `BaseRetriever` for LangChain chains."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LangChainDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from guideqa.index.models import Hit, SearchFilters


@runtime_checkable
class Searcher(Protocol):
    """What the retriever searches: a HybridIndex, or the GuideQA facade (which follows newly
    published index versions)."""

    def search(self, query: str, k: int = 10, filters: SearchFilters | None = None) -> list[Hit]:
        """Passages with their provenance, best first."""
        ...


class GuideQARetriever(BaseRetriever):
    """Returns LangChain documents whose metadata carries GuideQA's provenance fields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Searcher
    k: int = 5
    filters: SearchFilters = SearchFilters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[LangChainDocument]:
        hits = self.searcher.search(query, kwargs.get("k", self.k), self.filters)
        return [
            LangChainDocument(
                page_content=hit.text,
                metadata=hit.model_dump(mode="json", exclude={"text"}),
                id=hit.chunk_id,
            )
            for hit in hits
        ]
