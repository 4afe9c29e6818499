"""Which of the question's concepts a statement is about.

A concept counts when the statement mentions it, or when its passage's context does (the
document title and section headings: a sentence of the "Folic Acid for the Prevention of Neural
Tube Defects" recommendation is about neural tube defects). The drug of a label, and the
population of a section, come from typed provenance."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guideqa.ingest.models import Population
from guideqa.qa.drugs import short_generic
from guideqa.qa.understanding import Concept, ConceptKind, QuestionAnalysis
from guideqa.qa.units import Unit

Stems = Callable[[str], frozenset[str]]
REQUIRED_KINDS = frozenset({ConceptKind.DRUG, ConceptKind.DRUG_CLASS, ConceptKind.POPULATION})


@dataclass(frozen=True)
class Coverage:
    """How a statement covers the question's concepts.

    share: weighted share, context-only mentions credited partly (for ranking);
    term_share: weighted share of the TERM concepts mentioned in the statement or its context;
    missing: concepts found nowhere; missing_required: drugs, classes or populations found
    nowhere; in_sentence: how many concepts the statement itself mentions."""

    share: float
    term_share: float
    missing: tuple[Concept, ...]
    missing_required: tuple[Concept, ...]
    in_sentence: int
    title_share: float = 0.0


class ConceptMatcher:
    """Measures coverage of one question's concepts, with IDF weights per concept."""

    def __init__(
        self,
        analysis: QuestionAnalysis,
        weights: dict[str, float],
        stems: Stems,
        salts: frozenset[str],
        context_credit: float,
        require_population: bool,
    ) -> None:
        self.analysis = analysis
        self.weights = weights
        self.stems = stems
        self.salts = salts
        self.context_credit = context_credit
        self.required = (
            REQUIRED_KINDS if require_population else REQUIRED_KINDS - {ConceptKind.POPULATION}
        )
        self.total = sum(weights.values()) or 1.0
        terms = [c for c in analysis.concepts if c.kind is ConceptKind.TERM]
        self.term_total = sum(weights[c.label] for c in terms)

    def coverage(self, unit: Unit, population: Population | None) -> Coverage:
        """The coverage of one unit (population: the one it applies to, if any)."""
        text = unit.text
        stems = self.stems(text)
        hit = unit.hit
        context = f"{hit.title} {' '.join(hit.section_path)} {hit.section}"
        context_stems = self.stems(context)
        share = term_found = titled = 0.0
        title_stems = self.stems(hit.title)
        missing: list[Concept] = []
        in_sentence = 0
        for concept in self.analysis.concepts:
            weight = self.weights[concept.label]
            here = self._by_provenance(concept, unit, population) or concept.mentioned(stems, text)
            around = not here and concept.mentioned(context_stems, context)
            in_sentence += 1 if here else 0
            share += weight if here else weight * self.context_credit if around else 0.0
            if concept.kind is ConceptKind.TERM and (here or around):
                term_found += weight
            if concept.mentioned(title_stems, hit.title):
                titled += weight
            if not (here or around):
                missing.append(concept)
        return Coverage(
            share=share / self.total,
            term_share=term_found / self.term_total if self.term_total else 1.0,
            missing=tuple(missing),
            missing_required=tuple(c for c in missing if c.kind in self.required),
            in_sentence=in_sentence,
            title_share=titled / self.total,
        )

    def _by_provenance(self, concept: Concept, unit: Unit, population: Population | None) -> bool:
        provenance = unit.hit.provenance
        if concept.kind is ConceptKind.DRUG and provenance.drug_names:
            generic = short_generic(provenance.drug_names[0], self.salts)
            return concept.drug == generic
        if concept.kind is ConceptKind.POPULATION:
            return concept.population in (population, provenance.population)
        return False
