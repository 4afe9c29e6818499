"""The two linear scores over a statement's features: relevance (is it about the question) and
lead (does it carry the answer). Their weights are calibrated on the dev split by
eval/calibrate.py and stored in qa/data/score_weights.yaml; every weight can be overridden."""

from __future__ import annotations

import math
from functools import cached_property
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guideqa.ingest.sections import KnowledgeFileError, load_yaml

WEIGHTS_FILE = Path(__file__).parent / "data" / "score_weights.yaml"


class ScoreWeights(BaseModel):
    """Weights of a statement's features in one linear score (a logit)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bias: float = Field(default=0.0, description="intercept")
    coverage: float = Field(
        default=0.0,
        description="weighted share of the question's concepts the statement names (its title "
        "and headings count partly)",
    )
    term_share: float = Field(
        default=0.0, description="share of the question's topic words found with it"
    )
    title: float = Field(
        default=0.0, description="share of the question's concepts its document's title names"
    )
    in_sentence: float = Field(
        default=0.0, description="share of the question's concepts the sentence itself names"
    )
    passage: float = Field(default=0.0, description="dense similarity of its passage")
    rank: float = Field(default=0.0, description="1/(rank+2) of its passage in hybrid search")
    phrases: float = Field(default=0.0, description="share of the question's word pairs it repeats")
    numbers: float = Field(
        default=0.0, description="its range covers the question's number (-1: another band)"
    )
    section: float = Field(default=0.0, description="its label section fits the question's intent")
    population_match: float = Field(
        default=0.0, description="applies to the population the question names"
    )
    population_other: float = Field(
        default=0.0,
        description="applies only to a population the question does not name (pediatric "
        "dosing for an adult question)",
    )
    named_section: float = Field(
        default=0.0, description="from the label section the question names (boxed warning)"
    )
    recommendation: float = Field(default=0.0, description="states a recommendation or directive")
    quantity: float = Field(default=0.0, description="states a dose, interval or threshold")
    decisive: float = Field(default=0.0, description="graded A/B/D or tagged strong")
    design: float = Field(default=0.0, description="research design weight minus 1")
    recency: float = Field(default=0.0, description="guideline recency (-0.05 to +0.10)")
    label: float = Field(default=0.0, description="from an FDA label")
    research: float = Field(default=0.0, description="from a research abstract")
    listed: float = Field(default=0.0, description="a recommendation with its list")
    table_row: float = Field(default=0.0, description="a table row with its headers")
    words: float = Field(default=0.0, description="length, min(words, 60) / 60")
    number_question_quantity: float = Field(
        default=0.0, description="a how-much question and a statement with a quantity"
    )
    recommendation_question: float = Field(
        default=0.0, description="a should/management question and a recommendation"
    )
    list_question: float = Field(default=0.0, description="a list question and a list")
    population_question: float = Field(
        default=0.0, description="a who-should question and a statement naming a population"
    )

    def logit(self, features: dict[str, float]) -> float:
        """bias + sum of weight x feature."""
        weights = self._weights
        return self.bias + sum(weights[name] * value for name, value in features.items() if value)

    @cached_property
    def _weights(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in type(self).model_fields if name != "bias"}

    @classmethod
    def calibrated(cls, name: str, path: Path = WEIGHTS_FILE) -> ScoreWeights:
        """The weights calibrated on the dev split (qa/data/score_weights.yaml)."""
        data = load_yaml(path)
        if not isinstance(data, dict) or not isinstance(data.get(name), dict):
            raise KnowledgeFileError(f"{path} has no '{name}' weights; run eval/calibrate.py")
        try:
            return cls.model_validate(data[name])
        except ValidationError as exc:
            raise KnowledgeFileError(f"{path}: invalid '{name}' weights: {exc}") from exc


def calibrated_bar(path: Path = WEIGHTS_FILE) -> float:
    """The relevance bar chosen with the calibrated weights (0.5 when none was stored)."""
    data = load_yaml(path)
    value = data.get("min_relevance", 0.5) if isinstance(data, dict) else 0.5
    return float(value) if isinstance(value, (int, float)) else 0.5


def probability(logit: float) -> float:
    """The logistic function."""
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, logit))))


FEATURES = tuple(name for name in ScoreWeights.model_fields if name != "bias")
