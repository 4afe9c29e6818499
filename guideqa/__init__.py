"""GuideQA: clinical evidence answers built only from indexed guidelines, FDA drug labels and
research abstracts.

The public API is what this module exports (`__all__`); everything else (``guideqa.ingest``,
``guideqa.index``, ``guideqa.qa``, ``guideqa.api``, ``guideqa.eval``) is internal and may change
between versions.

    from guideqa import GuideQA

    with GuideQA.open() as qa:
        answer = qa.ask("Should women 65 and older be screened for osteoporosis?")
        print(answer.summary)
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

try:
    __version__ = version("guideqa")
except PackageNotFoundError:  # running from a checkout that was never installed
    __version__ = "0+unknown"

# name -> module: imported on first use, so that `import guideqa` stays light
_EXPORTS = {
    "GuideQA": "guideqa.api.library",
    "ClosedError": "guideqa.api.library",
    "Settings": "guideqa.api.settings",
    "load_settings": "guideqa.api.settings",
    "Answer": "guideqa.qa.models",
    "AnswerSection": "guideqa.qa.models",
    "Statement": "guideqa.qa.models",
    "Citation": "guideqa.qa.models",
    "Callout": "guideqa.qa.models",
    "Hit": "guideqa.index.models",
    "SearchFilters": "guideqa.index.models",
    "IngestSummary": "guideqa.index.plan",
    "GuideQARetriever": "guideqa.index.retriever",
    "Document": "guideqa.ingest.models",
    "Section": "guideqa.ingest.models",
    "SourceKind": "guideqa.ingest.models",
    "GuideQAError": "guideqa.ingest.errors",
    "IngestError": "guideqa.ingest.errors",
}
__all__ = [
    "Answer",
    "AnswerSection",
    "Callout",
    "Citation",
    "ClosedError",
    "Document",
    "GuideQA",
    "GuideQAError",
    "GuideQARetriever",
    "Hit",
    "IngestError",
    "IngestSummary",
    "SearchFilters",
    "Section",
    "Settings",
    "SourceKind",
    "Statement",
    "__version__",
    "load_settings",
]

if TYPE_CHECKING:
    from guideqa.api.library import ClosedError, GuideQA
    from guideqa.api.settings import Settings, load_settings
    from guideqa.index.models import Hit, SearchFilters
    from guideqa.index.plan import IngestSummary
    from guideqa.index.retriever import GuideQARetriever
    from guideqa.ingest.errors import GuideQAError, IngestError
    from guideqa.ingest.models import Document, Section, SourceKind
    from guideqa.qa.models import Answer, AnswerSection, Callout, Citation, Statement


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'guideqa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
