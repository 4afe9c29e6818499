"""The bottom line: chosen by what the question asks for, from the statements already selected.

A dose, interval or threshold question leads with the statement that gives the number; a
management question with the most authoritative current recommendation; a "who should" question
with the population; a list question with the recommendation and its list. When the evidence is
split by population (women vs men, age bands), the bottom line gives each population."""

from __future__ import annotations

from guideqa.ingest.models import SourceKind
from guideqa.qa.knowledge import QuestionType
from guideqa.qa.scoring import Scored
from guideqa.qa.understanding import QuestionAnalysis

KIND_ORDER = (SourceKind.GUIDELINE, SourceKind.LABEL, SourceKind.RESEARCH)


def type_fit(candidate: Scored, analysis: QuestionAnalysis) -> float:
    """How a statement fits what the question's type asks for: the number for a how-much
    question, the recommendation for a management question, the list for a list question, the
    population for a who-should question."""
    recommendation = candidate.factor("recommendation") + candidate.factor("decisive")
    kind = analysis.question_type
    if kind is QuestionType.NUMBER:
        return candidate.factor("quantity") + candidate.factor("numbers")
    if kind is QuestionType.LIST:
        return candidate.factor("listed") + recommendation
    if kind is QuestionType.POPULATION:
        return candidate.factor("population_question") + recommendation
    if kind is QuestionType.RECOMMENDATION:
        return recommendation
    return candidate.factor("numbers")


def fit(candidate: Scored, analysis: QuestionAnalysis) -> tuple[float, float, float, float]:
    """How well a statement carries the answer: from the authoritative kind first (the drug's
    label for a question about a drug, else a guideline), fitting the question's type, from a
    document about the question's subject, then the calibrated lead score."""
    kind = candidate.unit.hit.kind
    preferred = SourceKind.LABEL if analysis.drugs else SourceKind.GUIDELINE
    return (
        1.0 if kind is preferred else 0.0,
        type_fit(candidate, analysis),
        candidate.factor("title"),
        candidate.lead_score,
    )


def choose_bottom_line(
    chosen: dict[SourceKind, list[Scored]], analysis: QuestionAnalysis, limit: int
) -> list[Scored]:
    """One to three statements that answer the question, best first."""
    pool = [c for kind in KIND_ORDER for c in chosen.get(kind, [])]
    if not pool:
        return []
    ranked = sorted(pool, key=lambda c: fit(c, analysis), reverse=True)
    named = [c for c in ranked if c.unit.hit.provenance.section_role in analysis.named_roles]
    if named:  # "What is the boxed warning ...": that section's opening statement answers
        opening = min(named, key=lambda c: (c.unit.hit.chunk_id, c.unit.start))
        ranked = [opening, *(c for c in ranked if c is not opening)]
    first = ranked[0]
    lines = [first]
    for split in _population_split(first, ranked):
        if len(lines) < limit + 1:
            lines.append(split)
    if len(lines) == 1 and limit > 1:
        other = next((c for c in ranked[1:] if _adds(first, c, analysis)), None)
        if other is not None:
            lines.append(other)
    return lines


def _population_split(first: Scored, ranked: list[Scored]) -> list[Scored]:
    """Statements of the same document for other populations (e.g. USPSTF women vs men)."""
    hit = first.unit.hit
    if hit.kind is not SourceKind.GUIDELINE or not hit.provenance.grade:
        return []
    return [
        c
        for c in ranked
        if c.unit.hit.doc_id == hit.doc_id
        and c.unit.hit.provenance.grade
        and c.unit.hit.section != hit.section
    ][:2]


def _adds(first: Scored, other: Scored, analysis: QuestionAnalysis) -> bool:
    """A second line from another kind, when it answers as directly as the first."""
    if other.unit.hit.kind is first.unit.hit.kind:
        return False
    return fit(other, analysis)[1:] >= fit(first, analysis)[1:]
