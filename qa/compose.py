"""Extractive composition: verbatim units with light framing, numbered references, callouts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Protocol

from guideqa.index.models import Hit
from guideqa.ingest.models import Population, SourceKind
from guideqa.qa.discrepancies import FoundDiscrepancy
from guideqa.qa.drugs import short_generic
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.models import (
    Answer,
    AnswerSection,
    Callout,
    Citation,
    Discrepancy,
    Explanation,
    Intent,
    PopulationTag,
    SourceValue,
    Statement,
    applies_to,
)
from guideqa.qa.scoring import Scored

SECTION_TITLES = {
    SourceKind.GUIDELINE: "From the Guidelines",
    SourceKind.LABEL: "From the FDA Drug Label",
    SourceKind.RESEARCH: "From the Research",
}
POPULATION_LABELS = {
    Population.PREGNANCY: "pregnancy",
    Population.LACTATION: "lactation",
    Population.REPRODUCTIVE_POTENTIAL: "reproductive potential",
    Population.PEDIATRIC: "pediatric",
    Population.GERIATRIC: "geriatric",
    Population.RENAL_IMPAIRMENT: "renal impairment",
    Population.HEPATIC_IMPAIRMENT: "hepatic impairment",
    Population.WOMEN: "women",
    Population.MEN: "men",
}


@dataclass(frozen=True)
class CompositionInput:
    """Everything a composer may use: the question, chosen evidence and the gaps found."""

    question: str
    interpreted_question: str
    intent: Intent
    drugs: tuple[str, ...]
    evidence: dict[SourceKind, list[Scored]]
    summary_evidence: list[Scored]
    gaps: tuple[str, ...]
    abstained: bool
    abstention_message: str
    callouts: list[Scored] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    conversation_id: str | None = None
    index_version: str | None = None
    disclaimer: str = ""
    question_type: str = "general"
    explanation: Explanation | None = None
    discrepancies: list[FoundDiscrepancy] = field(default_factory=list)


class Composer(Protocol):
    """Writes the answer from numbered passages (extractive here; a chat model could too)."""

    name: str  # "extractive" or "generative", as Answer.composer says

    def compose(self, request: CompositionInput) -> Answer:
        """The Answer for the request; statements must cite the passages they use."""
        ...


def _finite(value: float) -> float | None:
    return None if math.isinf(value) else value


def drug_label_name(hit: Hit) -> str:
    """'Naproxen' or 'Prolia (partial)': the label's drug, from typed provenance."""
    names = hit.provenance.drug_names
    name = short_generic(names[0], frozenset()).split()[0].capitalize() if names else "Drug"
    return f"{name} (partial)" if hit.provenance.partial_label else name


class Framing:
    """How a statement names its source: issuer and year, drug and label section, or design."""

    def __init__(self, knowledge: ClinicalKnowledge) -> None:
        self.knowledge = knowledge

    def prefix(self, candidate: Scored) -> str:
        hit = candidate.unit.hit
        if hit.kind is SourceKind.GUIDELINE:
            issuer = self.knowledge.issuer_short(hit.issuer)
            grade = f"grade {hit.provenance.grade}" if hit.provenance.grade else ""
            details = ", ".join(p for p in (str(hit.year or ""), grade) if p)
            return f"{issuer} ({details}): " if details else f"{issuer}: "
        if hit.kind is SourceKind.LABEL:
            return f"{drug_label_name(hit)} label, {hit.section}: "
        design = candidate.design or "study"
        year = f"{hit.year} " if hit.year else ""
        article = "An" if (year or design)[:1].lower() in "aeio8" else "A"
        return f"{article} {year}{design} reported: "

    def source_name(self, hit: Hit) -> str:
        """A short name of a passage's source: 'VA/DoD 2014', 'Metformin label', 'PMID 123'."""
        if hit.kind is SourceKind.GUIDELINE:
            issuer = self.knowledge.issuer_short(hit.issuer)
            return f"{issuer} {hit.year}" if hit.year else issuer
        if hit.kind is SourceKind.LABEL:
            return f"{drug_label_name(hit)} label"
        return (
            f"{hit.identifier or 'study'} ({hit.year})" if hit.year else hit.identifier or "study"
        )


class Numbering:
    """References numbered in order of first use, one per cited passage."""

    def __init__(self, notes: dict[str, str]) -> None:
        self.by_chunk: dict[str, Citation] = {}
        self.notes = notes

    def adopt(self, citation: Citation) -> int:
        """The number of an existing reference in this numbering (renumbered on first use)."""
        existing = self.by_chunk.get(citation.chunk_id)
        if existing:
            return existing.n
        renumbered = citation.model_copy(update={"n": len(self.by_chunk) + 1})
        self.by_chunk[citation.chunk_id] = renumbered
        return renumbered.n

    def references(self) -> tuple[Citation, ...]:
        """The references in number order."""
        return tuple(sorted(self.by_chunk.values(), key=lambda c: c.n))

    def cite(self, hit: Hit) -> int:
        """The number of a passage's reference, creating it on first use."""
        existing = self.by_chunk.get(hit.chunk_id)
        if existing:
            return existing.n
        citation = Citation(
            n=len(self.by_chunk) + 1,
            kind=hit.kind,
            doc_id=hit.doc_id,
            chunk_id=hit.chunk_id,
            title=hit.title,
            issuer=hit.issuer,
            year=hit.year,
            section=hit.section,
            pages=hit.pages,
            url=hit.url,
            identifier=hit.identifier,
            passage=hit.text,
            note=self.notes.get(hit.doc_id),
        )
        self.by_chunk[hit.chunk_id] = citation
        return citation.n


def population_tag(candidate: Scored) -> PopulationTag | None:
    """The typed population qualifier of a statement, if it applies only to some patients."""
    if candidate.population is None:
        return None
    return PopulationTag(kind=candidate.population, label=POPULATION_LABELS[candidate.population])


class ExtractiveComposer:
    """Every statement is a verbatim unit of its cited passage, framed by its source."""

    name = "extractive"

    def __init__(self, knowledge: ClinicalKnowledge) -> None:
        self.framing = Framing(knowledge)

    def _statement(self, candidate: Scored, numbering: Numbering) -> Statement:
        unit = candidate.unit
        return Statement(
            text=self.framing.prefix(candidate) + unit.lead,
            quote=unit.text,
            citations=(numbering.cite(unit.hit),),
            items=unit.item_texts(),
            population=population_tag(candidate),
            role=unit.hit.provenance.section_role,
        )

    def compose(self, request: CompositionInput) -> Answer:
        numbering = Numbering(request.notes)
        summary = [
            f"{c.unit.inline()} [{numbering.cite(c.unit.hit)}]" for c in request.summary_evidence
        ]
        # the table of differing values sits under the bottom line: numbered in reading order
        discrepancies = tuple(self._discrepancy(d, numbering) for d in request.discrepancies)
        sections = []
        for kind in (SourceKind.GUIDELINE, SourceKind.LABEL, SourceKind.RESEARCH):
            statements = tuple(
                self._statement(c, numbering) for c in request.evidence.get(kind, [])
            )
            if statements:
                sections.append(
                    AnswerSection(kind=kind, title=SECTION_TITLES[kind], statements=statements)
                )
        callouts = tuple(self._callout(c, numbering) for c in request.callouts)
        return Answer(
            question=request.question,
            interpreted_question=request.interpreted_question,
            summary=" ".join(summary) if summary else request.abstention_message,
            summary_citations=tuple(numbering.cite(c.unit.hit) for c in request.summary_evidence),
            sections=tuple(sections),
            references=tuple(sorted(numbering.by_chunk.values(), key=lambda c: c.n)),
            abstained=request.abstained,
            gaps=request.gaps,
            callouts=callouts,
            discrepancies=discrepancies,
            conversation_id=request.conversation_id,
            index_version=request.index_version,
            intent=request.intent,
            drugs=request.drugs,
            disclaimer=request.disclaimer,
            question_type=request.question_type,
            explanation=request.explanation,
        )

    def _callout(self, candidate: Scored, numbering: Numbering) -> Callout:
        hit = candidate.unit.hit
        return Callout(
            kind="boxed_warning",
            title=f"Boxed warning: {drug_label_name(hit)}",
            text=candidate.unit.text,
            quote=candidate.unit.text,
            citations=(numbering.cite(hit),),
        )

    def _discrepancy(self, found: FoundDiscrepancy, numbering: Numbering) -> Discrepancy:
        values = []
        for sourced in found.values:
            quantity, hit = sourced.quantity, sourced.hit
            value = SourceValue(
                value=quantity.text,
                normalised=quantity.normalised,
                low=quantity.low,
                high=quantity.high,
                unit=quantity.unit,
                comparator=quantity.comparator,
                population=tuple(sorted(quantity.qualifiers)),
                min_age=quantity.ages.low if quantity.ages else None,
                max_age=_finite(quantity.ages.high) if quantity.ages else None,
                statement=sourced.unit.inline(),
                citation=numbering.cite(hit),
                doc_id=hit.doc_id,
                source=self.framing.source_name(hit),
                year=hit.year,
                kind=hit.kind,
            )
            values.append(value.model_copy(update={"applies_to": applies_to(value)}))
        return Discrepancy(
            quantity=found.measure.name, measure_kind=found.measure.kind, values=tuple(values)
        )
