"""Relevance per statement: named features, two calibrated linear scores over them (relevance:
is it about the question; lead: does it carry the answer), returned as a ScoreBreakdown so that
an answer can explain itself."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from guideqa.ingest.models import Population, SourceKind
from guideqa.qa.coverage import ConceptMatcher, Coverage
from guideqa.qa.knowledge import ClinicalKnowledge, QuestionType
from guideqa.qa.models import Factor, ScoreBreakdown
from guideqa.qa.quantities import number_fit, question_quantities
from guideqa.qa.settings import QASettings
from guideqa.qa.sources import EvidenceSource
from guideqa.qa.understanding import Concept, ConceptKind, QuestionAnalysis
from guideqa.qa.units import Unit, UnitKind
from guideqa.qa.weights_model import ScoreWeights, probability

# How decisive a grade or strength tag is: A/B/D and "strong" answer a "should" question;
# C and "weak" less so; I (insufficient) and "not applicable" not at all.
_DECISIVE_GRADES = {"A": 1.0, "B": 1.0, "D": 1.0, "C": 0.5, "I": 0.0}
_STRENGTH = re.compile(r"\b(strong|weak|moderate|conditional|not applicable)\b", re.IGNORECASE)
_STRENGTH_VALUE = {"strong": 1.0, "weak": 0.5, "moderate": 0.5, "conditional": 0.5}


@dataclass(frozen=True)
class Scored:
    """A unit with its features, its two scores, its coverage and its population."""

    unit: Unit
    score: float  # the relevance logit: how surely the statement is about the question
    coverage: Coverage
    population: Population | None
    features: dict[str, float]
    lead_score: float
    answer_score: float = 0.0
    design: str | None = None

    @property
    def relevance(self) -> float:
        """The relevance as a probability."""
        return probability(self.score)

    def breakdown(self, weights: ScoreWeights) -> ScoreBreakdown:
        """The relevance score as named factors, each with its weight (for explanations)."""
        factors = tuple(
            Factor(
                name=name,
                value=round(value, 3),
                weight=getattr(weights, name),
                note=type(weights).model_fields[name].description or "",
            )
            for name, value in self.features.items()
            if value
        )
        return ScoreBreakdown(factors=factors, total=round(self.score, 4))

    def factor(self, name: str) -> float:
        """The value of one feature (0 when absent)."""
        return self.features.get(name, 0.0)


class UnitScorer:
    """Scores units against one analysed question."""

    def __init__(
        self,
        source: EvidenceSource,
        analysis: QuestionAnalysis,
        knowledge: ClinicalKnowledge,
        settings: QASettings,
    ) -> None:
        self.source = source
        self.analysis = analysis
        self.knowledge = knowledge
        self.settings = settings
        self.weights = {c.label: self._concept_weight(c) for c in analysis.concepts}
        self.matcher = ConceptMatcher(
            analysis,
            self.weights,
            self.stems,
            knowledge.salts,
            settings.context_credit,
            settings.require_population,
        )
        self._stem_cache: dict[str, frozenset[str]] = {}
        self.quantities = question_quantities(analysis.question)
        self.bigrams = frozenset(itertools.pairwise(source.tokens(analysis.question)))

    def _concept_weight(self, concept: Concept) -> float:
        stems = list(concept.stems) or self.source.tokens(concept.label)
        weight = max(self.source.term_weights(stems).values(), default=1.0) or 1.0
        if concept.kind is ConceptKind.POPULATION:
            return weight * self.settings.population_concept_weight
        if not concept.clinical:
            return weight * self.settings.non_clinical_concept_weight
        return weight

    def stems(self, text: str) -> frozenset[str]:
        """The lexical stems of a text (cached: one question scores each text several ways)."""
        found = self._stem_cache.get(text)
        if found is None:
            found = self._stem_cache[text] = frozenset(self.source.tokens(text))
        return found

    def score(
        self,
        unit: Unit,
        rank: int,
        population: Population | None,
        design: tuple[str | None, float],
        year_bonus: float,
    ) -> Scored:
        """The unit's features, coverage and both scores."""
        coverage = self.matcher.coverage(unit, population)
        features = self.features(unit, rank, population, coverage, design[1], year_bonus)
        s = self.settings
        return Scored(
            unit,
            s.relevance.logit(features),
            coverage,
            population,
            features,
            s.lead.logit(features),
            s.answer.logit(features),
            design[0],
        )

    def features(
        self,
        unit: Unit,
        rank: int,
        population: Population | None,
        coverage: Coverage,
        design: float,
        year_bonus: float,
    ) -> dict[str, float]:
        """Every feature of a unit, named as the ScoreWeights fields."""
        kind = unit.hit.kind
        question_type = self.analysis.question_type
        quantity = self._quantity(unit)
        recommendation = self._recommendation(unit)
        listed = 1.0 if unit.kind is UnitKind.LIST else 0.0
        concepts = len(self.analysis.concepts) or 1
        return {
            "coverage": coverage.share,
            "term_share": coverage.term_share,
            "title": coverage.title_share,
            "in_sentence": coverage.in_sentence / concepts,
            "passage": unit.hit.dense_score or 0.0,
            "rank": 1.0 / (rank + 2),
            "phrases": self._phrases(unit),
            "numbers": number_fit(self.quantities, unit.text),
            "section": self._section_fit(unit),
            "population_match": 1.0
            if population and population in self.analysis.populations
            else 0.0,
            "population_other": 1.0
            if population and population not in self.analysis.populations
            else 0.0,
            "named_section": 1.0
            if unit.hit.provenance.section_role in self.analysis.named_roles
            else 0.0,
            "recommendation": recommendation,
            "quantity": quantity,
            "decisive": self._decisive(unit),
            "design": design - 1.0,
            "recency": year_bonus,
            "label": 1.0 if kind is SourceKind.LABEL else 0.0,
            "research": 1.0 if kind is SourceKind.RESEARCH else 0.0,
            "listed": listed,
            "table_row": 1.0 if unit.kind is UnitKind.TABLE_ROW else 0.0,
            "words": min(len(unit.lead.split()), 60) / 60,
            "number_question_quantity": quantity if question_type is QuestionType.NUMBER else 0.0,
            "recommendation_question": recommendation
            if question_type in (QuestionType.RECOMMENDATION, QuestionType.POPULATION)
            else 0.0,
            "list_question": listed if question_type is QuestionType.LIST else 0.0,
            "population_question": self._names_population(unit)
            if question_type is QuestionType.POPULATION
            else 0.0,
        }

    def _phrases(self, unit: Unit) -> float:
        if not self.bigrams:
            return 0.0
        pairs = set(itertools.pairwise(self.source.tokens(unit.text)))
        return len(self.bigrams & pairs) / len(self.bigrams)

    def _section_fit(self, unit: Unit) -> float:
        role = unit.hit.provenance.section_role
        wanted = self.analysis.wanted_roles
        if unit.hit.kind is not SourceKind.LABEL or role is None or role not in wanted:
            return 0.0
        return 1.0 - 0.15 * wanted.index(role)

    def _names_population(self, unit: Unit) -> float:
        ages = self.knowledge.quantity.search(unit.lead)
        return 1.0 if ages or self.knowledge.sections.populations_named(unit.lead) else 0.0

    def _recommendation(self, unit: Unit) -> float:
        return 1.0 if self.knowledge.recommendation_pattern.search(unit.lead) else 0.0

    def _quantity(self, unit: Unit) -> float:
        return 1.0 if self.knowledge.quantity.search(unit.text) else 0.0

    def _decisive(self, unit: Unit) -> float:
        grade = unit.hit.provenance.grade
        if grade in _DECISIVE_GRADES:
            return _DECISIVE_GRADES[grade]
        tag = self.knowledge.strength_anywhere.search(unit.text)
        if not tag:
            return 0.0
        strength = _STRENGTH.search(tag.group(0))
        if strength:
            return _STRENGTH_VALUE.get(strength.group(1).lower(), 0.0)
        letter = re.search(r"\[([A-DI])\]", tag.group(0))
        return _DECISIVE_GRADES.get(letter.group(1), 0.0) if letter else 0.0
