"""Document-level evidence weights: research study design and guideline recency."""

from __future__ import annotations

import re
from collections.abc import Callable

from guideqa.ingest.models import Document, SourceKind
from guideqa.qa.knowledge import ClinicalKnowledge

Design = tuple[str | None, float]

# Recency is measured from this year: a guideline from it scores 0; each year is worth 0.01,
# capped so that an old guideline is never buried by recency alone.
_RECENCY_ORIGIN = 2015


def study_design(document: Document, knowledge: ClinicalKnowledge) -> tuple[str | None, float]:
    """The study design a research abstract reports, and its evidence weight."""
    types = " ".join(document.publication_types).lower()
    text = " ".join(
        [
            document.title,
            *document.publication_types,
            *document.mesh_terms,
            *(s.text for s in document.sections[:3]),
        ]
    ).lower()
    for design in knowledge.study_designs:
        if re.search(design.pattern, types) or re.search(design.pattern, text):
            return design.name, design.weight
    return None, 1.0


def recency(year: int | None) -> float:
    """-0.05 (old) to +0.10 (recent): a small preference for the current version."""
    if not year:
        return 0.0
    return min(0.10, max(-0.05, 0.01 * (year - _RECENCY_ORIGIN)))


class StudyDesigns:
    """The study design of each research document, worked out the first time it is needed.

    Reads the whole document (its opening sections) through `load`, since the index keeps only
    outlines in memory; a large corpus thus pays nothing at startup for designs never used."""

    def __init__(
        self, load: Callable[[str], Document | None], knowledge: ClinicalKnowledge
    ) -> None:
        self._load = load
        self._knowledge = knowledge
        self._known: dict[str, Design] = {}

    def get(self, doc_id: str, default: Design = (None, 1.0)) -> Design:
        """Design name and evidence weight; `default` for documents that are not research."""
        if doc_id not in self._known:
            document = self._load(doc_id)
            if document is not None and document.kind is SourceKind.RESEARCH:
                self._known[doc_id] = study_design(document, self._knowledge)
            else:
                self._known[doc_id] = default
        return self._known[doc_id]
