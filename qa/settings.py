"""Settings owned by the answer layer: retrieval depth, selection sizes, every ranking weight and
the relevance thresholds. Weights are tuned on the dev split only (eval/calibrate.py)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from guideqa.qa.weights_model import ScoreWeights, calibrated_bar


class LLMSettings(BaseModel):
    """An optional chat model that writes the answer as prose from the selected passages;
    every sentence it writes is verified against the passages it cites before it is shown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: Literal["none", "ollama", "openai", "openai-compatible"] = Field(
        default="none", description="none keeps the extractive answer (the default)"
    )
    model: str = Field(default="", description="the chat model's name, e.g. llama3.1:8b")
    base_url: str | None = Field(
        default=None, description="the server, e.g. http://localhost:11434 or http://host/v1"
    )
    api_key: SecretStr | None = Field(default=None, description="sent as the provider's key")
    temperature: float = Field(default=0.0, ge=0, le=2)
    timeout_seconds: float = Field(
        default=30.0, gt=0, description="longer, and the extractive answer is given instead"
    )
    structured_output: bool = Field(
        default=True,
        description="ask for the answer schema where the model supports it; otherwise the "
        "reply is parsed as JSON, then as lines ending in [n]",
    )
    max_concurrent: int = Field(
        default=4,
        gt=0,
        description="answers the chat model writes at once; others wait up to queue_seconds, "
        "then get the extractive answer with a note",
    )
    queue_seconds: float = Field(
        default=5.0, ge=0, description="how long an answer waits for the chat model to be free"
    )
    min_support: float = Field(
        default=0.55,
        ge=0,
        le=1,
        description="share of a sentence's content words that must appear in its cited "
        "passages; 0.55 is the value `guideqa eval --calibrate-verifier` chooses on the dev "
        "sentences of eval/verification/sentences.yaml",
    )
    max_failed_share: float = Field(
        default=0.34,
        ge=0,
        le=1,
        description="when more of the generated sentences than this fail verification, the "
        "extractive answer is given instead",
    )
    show_failed: bool = Field(
        default=False,
        description="show sentences that failed verification struck through, with the reason",
    )


class DiscrepancySettings(BaseModel):
    """Where sources differ: which values are compared, and how many rows are shown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=True, description="compare sources' values for a quantity")
    seed_statements: int = Field(
        default=12,
        ge=0,
        description="besides the chosen statements, this many of the most relevant on-topic "
        "statements retrieved are read for values",
    )
    search_passages: int = Field(
        default=10,
        ge=0,
        description="passages a search for each quantity found reads for other sources' values",
    )
    passages_per_source: int = Field(
        default=3, ge=1, description="passages one document may contribute to that search"
    )
    max_measures: int = Field(default=2, ge=0, description="quantities compared per answer")
    max_rows: int = Field(default=2, ge=0, description="discrepancy rows shown per answer")
    max_sources: int = Field(default=4, ge=2, description="sources shown in one row")
    max_values_per_source: int = Field(
        default=8,
        ge=1,
        description="distinct values of one document compared for a quantity (the first, from "
        "its most relevant statement, is shown)",
    )


class QASettings(BaseModel):
    """How evidence is retrieved, scored, gated and selected."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    candidates_per_kind: int = Field(default=8, description="passages retrieved per source kind")
    max_question_chars: int = Field(
        default=2000,
        gt=0,
        description="longest question accepted; a rewritten follow-up is capped at it too",
    )
    section_passages: int = Field(
        default=4,
        description="passages added from the asked drug's label sections that answer the "
        "question's intent (or population), most similar first",
    )
    max_guideline_statements: int = Field(
        default=4, description="statements in the guideline section"
    )
    max_label_statements: int = Field(default=4, description="statements in the label section")
    max_research_statements: int = Field(
        default=3, description="statements in the research section"
    )
    max_summary_sentences: int = Field(
        default=2, description="bottom-line units (3 when evidence is split by population)"
    )
    max_statements_per_document: int = Field(
        default=2, description="statements from one guideline or abstract (labels: no cap)"
    )
    max_label_drugs: int = Field(
        default=3, description="labels shown for drugs the guideline statements recommend"
    )
    mmr_lambda: float = Field(
        default=0.7, ge=0, le=1, description="relevance vs novelty trade-off when selecting"
    )
    near_duplicate: float = Field(
        default=0.8, ge=0, le=1, description="token overlap above which two statements are one"
    )
    min_sentence_words: int = Field(default=5, description="shorter sentences are not statements")
    max_sentence_words: int = Field(default=90, description="longer sentences are not quoted")
    # relevance gate, per statement
    min_passage_similarity: float = Field(
        default=0.35,
        ge=0,
        le=1,
        description="a kind is answered only from passages at least this similar (dense cosine)",
    )
    min_term_weight: float = Field(
        default=1.8,
        ge=0,
        description="question words less telling than this (IDF over passages) are not concepts",
    )
    min_relevance_anchored: float = Field(
        default=0.3,
        ge=0,
        le=1,
        description="the relevance bar for statements from a document about the question's "
        "subject (the asked drug's label, a guideline titled by the question's concepts)",
    )
    anchor_title_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="a document whose title names this share of the question's concepts is "
        "about it: its best statement is shown rather than abstaining",
    )
    context_credit: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="credit for a concept named only in the statement's document title or "
        "section headings, relative to one the statement names itself",
    )
    require_population: bool = Field(
        default=True,
        description="a population the question names (pregnancy, children, renal impairment) "
        "must apply to every statement",
    )
    non_clinical_concept_weight: float = Field(
        default=0.3,
        ge=0,
        description="weight of a question word the corpus never uses in a title, heading or MeSH "
        "term ('asking', 'ones'), relative to its IDF",
    )
    population_concept_weight: float = Field(
        default=0.5, ge=0, description="weight of a population concept relative to its IDF"
    )
    # the two statement scores; their weights are calibrated on the dev split (eval/calibrate.py)
    relevance: ScoreWeights = Field(
        default_factory=lambda: ScoreWeights.calibrated("relevance"),
        description="weights of the relevance score: is a statement about the question",
    )
    answer: ScoreWeights = Field(
        default_factory=lambda: ScoreWeights.calibrated("answer"),
        description="weights of the answer score: does a statement state a fact that answers "
        "the question (ranks statements within a section)",
    )
    lead: ScoreWeights = Field(
        default_factory=lambda: ScoreWeights.calibrated("lead"),
        description="weights of the lead score: does a statement carry the answer",
    )
    min_relevance: float = Field(
        default_factory=calibrated_bar,
        ge=0,
        le=1,
        description="statements less likely than this to be about the question are not shown",
    )
    discrepancies: DiscrepancySettings = Field(
        default_factory=DiscrepancySettings,
        description="the block showing where current sources give different values",
    )
    include_superseded: bool = Field(
        default=False, description="answer from superseded guideline versions too"
    )
    disclaimer: str = (
        "For healthcare professionals. Built only from the indexed documents listed above; "
        "verify against the primary sources and use clinical judgement."
    )
