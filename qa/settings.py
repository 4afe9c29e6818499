"""Settings owned by the answer layer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class QASettings(BaseModel):
    """Retrieval depth, selection sizes and the calibrated relevance thresholds."""

    model_config = ConfigDict(frozen=True)

    candidates_per_kind: int = 8
    max_guideline_statements: int = 4
    max_label_statements: int = 4
    max_research_statements: int = 3
    max_summary_sentences: int = 2
    mmr_lambda: float = 0.7
    relative_coverage: float = 0.5
    max_statements_per_document: int = 2
    # A kind has relevant evidence only when its best passage clears both thresholds
    # (calibrated on answerable and unanswerable questions: see eval/README.md).
    min_dense_score: float = 0.50
    min_term_coverage: float = 0.34
    min_sentence_score: float = 0.2
    max_sentence_words: int = 90
    include_superseded: bool = False
    disclaimer: str = (
        "For healthcare professionals. Built only from the indexed documents listed above; "
        "verify against the primary sources and use clinical judgement."
    )
