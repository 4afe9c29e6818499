"""Evidence per source kind: cut passages into units, score them, gate them, select them; the
boxed-warning rule; and the explanation of what was chosen and what was not."""

from __future__ import annotations

from guideqa.index.models import Hit
from guideqa.ingest.models import Population, SectionRole, SourceKind
from guideqa.qa.bottom_line import fit
from guideqa.qa.drugs import DrugLexicon
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.models import ChosenStatement, Explanation, RejectedCandidate
from guideqa.qa.scoring import Scored, UnitScorer
from guideqa.qa.selection import RelevanceGate, Verdict, select_mmr
from guideqa.qa.settings import QASettings
from guideqa.qa.sources import EvidenceSource
from guideqa.qa.understanding import ConceptKind, QuestionAnalysis
from guideqa.qa.units import Unit, UnitKind, build_units
from guideqa.qa.weights import StudyDesigns, recency

_MAX_REJECTED = 40
# A label sentence is about a population when its first words name it ("In pediatric patients
# 3 to 11 years ..."), not when it mentions one in passing.
_POPULATION_LEAD_CHARS = 40


class EvidencePool:
    """Scores and selects the units of each kind's passages; remembers every decision."""

    def __init__(
        self,
        scorer: UnitScorer,
        analysis: QuestionAnalysis,
        knowledge: ClinicalKnowledge,
        settings: QASettings,
        designs: StudyDesigns,
        drugs: DrugLexicon,
    ) -> None:
        self.scorer = scorer
        self.analysis = analysis
        self.knowledge = knowledge
        self.settings = settings
        self.designs = designs
        self.gate = RelevanceGate(
            analysis, settings, drugs.first_drug, allowed_drugs(analysis, drugs), drugs.find
        )
        self.rejected: list[RejectedCandidate] = []
        self.scored: list[Scored] = []  # every unit scored, for calibration and debugging
        self.chosen_reasons: dict[int, str] = {}

    def population_of(self, unit: Unit) -> Population | None:
        """The population a unit applies to: its section's, or one its own words name first."""
        section = unit.hit.provenance.population
        if section is not None or unit.hit.kind is not SourceKind.LABEL:
            return section
        named = self.knowledge.sections.populations_named(unit.lead[: _POPULATION_LEAD_CHARS + 30])
        for population in named:
            match = self.knowledge.sections.population_cue(population).search(unit.lead)
            if match and match.start() < _POPULATION_LEAD_CHARS:
                return population
        return None

    def score_hits(self, hits: list[Hit]) -> list[Scored]:
        """Every unit of the passages, scored; refused pieces are recorded with the reason."""
        scored: list[Scored] = []
        for rank, hit in enumerate(hits):
            units, refused = build_units(
                hit,
                self.knowledge,
                self.settings.min_sentence_words,
                self.settings.max_sentence_words,
            )
            for refusal in refused:
                self._reject(hit, refusal.text, None, refusal.reason)
            design = self.designs.get(hit.doc_id, (None, 1.0))
            year = recency(hit.year) if hit.kind is SourceKind.GUIDELINE else 0.0
            for unit in units:
                scored.append(self.scorer.score(unit, rank, self.population_of(unit), design, year))
        self.scored += scored
        return scored

    def select(self, kind: SourceKind, hits: list[Hit], limit: int | None = None) -> list[Scored]:
        """The statements of one kind: gated, then the best that do not repeat each other
        (at most `limit`, default the section's setting; one per label when limited).

        When nothing clears the relevance bar but a passage comes from a document about the
        question's key concept (the asked drug's label, a guideline titled by it), its best
        statement is shown rather than abstaining."""
        passed: list[Scored] = []
        below_bar: list[Scored] = []
        for candidate in self.score_hits(hits):
            verdict = self.gate.check(candidate)
            if (
                verdict.below_bar
                and candidate.relevance >= self.settings.min_relevance_anchored
                and self.anchored(candidate)
            ):  # from a document about the question's subject
                verdict = Verdict(True, "from a document about the question's subject")
            if verdict.passed:
                passed.append(candidate)
            else:
                self._reject_scored(candidate, verdict.reason)
                if verdict.below_bar:
                    below_bar.append(candidate)
        if not passed:
            anchored = [c for c in below_bar if self.anchored(c)]
            passed = [max(anchored, key=lambda c: fit(c, self.analysis))] if anchored else []
        section_limit = {
            SourceKind.GUIDELINE: self.settings.max_guideline_statements,
            SourceKind.LABEL: self.settings.max_label_statements,
            SourceKind.RESEARCH: self.settings.max_research_statements,
        }[kind]
        per_document = self.settings.max_statements_per_document
        if kind is SourceKind.LABEL:
            per_document = 1 if limit is not None else section_limit
        limit = min(limit, section_limit) if limit is not None else section_limit
        chosen, rejected = select_mmr(passed, self.scorer.stems, limit, self.settings, per_document)
        self.reject_all(rejected)
        return chosen

    def anchored(self, candidate: Scored) -> bool:
        """Whether a candidate's document is about the question's key concept: the label of
        the drug asked about, or a document whose title names most of what was asked."""
        hit = candidate.unit.hit
        if hit.kind is SourceKind.LABEL and self.analysis.drugs:
            return not any(c.kind is ConceptKind.DRUG for c in candidate.coverage.missing)
        weights = self.scorer.weights
        keys = [c for c in self.analysis.concepts if c.kind is not ConceptKind.POPULATION]
        total = sum(weights[c.label] for c in keys)
        stems = self.scorer.stems(hit.title)
        named = sum(weights[c.label] for c in keys if c.mentioned(stems, hit.title))
        return bool(total) and named / total >= self.settings.anchor_title_share

    def reject_all(self, rejected: list[tuple[Scored, str]]) -> None:
        """Record several rejected candidates."""
        for candidate, reason in rejected:
            self._reject_scored(candidate, reason)

    def _reject_scored(self, candidate: Scored, reason: str) -> None:
        self._reject(candidate.unit.hit, candidate.unit.inline(), candidate.score, reason)

    def _reject(self, hit: Hit, text: str, score: float | None, reason: str) -> None:
        if len(self.rejected) < _MAX_REJECTED:
            self.rejected.append(
                RejectedCandidate(
                    kind=hit.kind,
                    chunk_id=hit.chunk_id,
                    text=text[:300],
                    score=score,
                    reason=reason,
                )
            )


def allowed_drugs(analysis: QuestionAnalysis, drugs: DrugLexicon) -> frozenset[str]:
    """Drugs a statement may be about: those the question names, or their named classes."""
    named = {*analysis.drugs, *analysis.unindexed_drugs}
    for drug_class in drugs.classes:
        if drug_class.name in analysis.classes:
            named |= {m.lower() for m in drug_class.members}
            named |= {drugs.canonical.get(m.lower(), m.lower()) for m in drug_class.members}
    return frozenset(named)


def boxed_warning(
    source: EvidenceSource, drugs: DrugLexicon, drug: str, pool: EvidencePool
) -> Scored | None:
    """The boxed warning of a drug's label (its first two sentences), scored for display."""
    for doc_id in drugs.label_docs.get(drug, ()):
        for hit in source.section_hits(doc_id, (SectionRole.BOXED_WARNING,), limit=1):
            units, _ = build_units(hit, pool.knowledge, 3, 200)
            if not units:
                continue
            first, last = units[0], units[min(1, len(units) - 1)]
            unit = Unit(hit, first.start, last.end, UnitKind.SENTENCE)
            return pool.scorer.score(unit, 0, None, (None, 1.0), 0.0)
    return None


def explanation(
    analysis: QuestionAnalysis, chosen: dict[SourceKind, list[Scored]], pool: EvidencePool
) -> Explanation:
    """What was understood, each chosen statement's score breakdown, and the rejected."""
    statements = tuple(
        ChosenStatement(
            kind=kind,
            chunk_id=c.unit.hit.chunk_id,
            text=c.unit.inline()[:300],
            score=c.breakdown(pool.settings.relevance),
            reason=f"about the question (relevance {c.relevance:.2f}, lead score "
            f"{c.lead_score:.2f}) and among the best of its section",
        )
        for kind, items in chosen.items()
        for c in items
    )
    return Explanation(
        question_type=analysis.question_type.value,
        intent=analysis.intent,
        concepts=tuple(f"{c.kind.value}: {c.label}" for c in analysis.concepts),
        chosen=statements,
        rejected=tuple(pool.rejected),
    )
