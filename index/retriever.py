"""LangChain adapter: the hybrid index as a `BaseRetriever` for LangChain chains."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LangChainDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.hybrid import HybridIndex
from index.models import SearchFilters


class GuideQARetriever(BaseRetriever):
    """Returns LangChain documents whose metadata carries GuideQA's provenance fields."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: HybridIndex
    k: int = 5
    filters: SearchFilters = SearchFilters()

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[LangChainDocument]:
        hits = self.index.search(query, kwargs.get("k", self.k), self.filters)
        return [
            LangChainDocument(
                page_content=hit.text,
                metadata=hit.model_dump(mode="json", exclude={"text"}),
                id=hit.chunk_id,
            )
            for hit in hits
        ]
