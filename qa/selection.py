"""Choosing statements: the relevance gate, maximal marginal relevance within a section, and
merging near-duplicates across sections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from guideqa.ingest.models import SourceKind
from guideqa.qa.scoring import Scored
from guideqa.qa.settings import QASettings
from guideqa.qa.understanding import ConceptKind, QuestionAnalysis

Stems = Callable[[str], frozenset[str]]


@dataclass(frozen=True)
class Verdict:
    """Whether a candidate may be shown, and if not, why not."""

    passed: bool
    reason: str
    below_bar: bool = False  # failed only the relevance bar (every hard rule held)


class RelevanceGate:
    """A statement is shown only when it is about the question: it mentions enough of the
    question's concepts, the drug asked about, and comes from a relevant enough passage."""

    def __init__(
        self,
        analysis: QuestionAnalysis,
        settings: QASettings,
        first_drug: Callable[[str], str | None],
        allowed_drugs: frozenset[str],
        find_drugs: Callable[[str], tuple[str, ...]],
    ) -> None:
        self.analysis = analysis
        self.settings = settings
        self.first_drug = first_drug
        self.allowed_drugs = allowed_drugs
        self.find_drugs = find_drugs

    def check(self, candidate: Scored) -> Verdict:
        """The gate's verdict on one scored unit."""
        coverage = candidate.coverage
        hit = candidate.unit.hit
        if coverage.missing_required:
            first = coverage.missing_required[0]
            if first.kind is ConceptKind.DRUG and hit.kind is SourceKind.LABEL:
                return Verdict(False, f"from another drug's label (not {first.label})")
            return Verdict(False, f"not about {first.label}")
        if self.analysis.drugs and hit.kind is not SourceKind.LABEL:
            subject = self.first_drug(candidate.unit.lead)
            if subject is not None and subject not in self.allowed_drugs:
                return Verdict(False, f"about another drug ({subject})")
            named = set(self.find_drugs(candidate.unit.lead)) & set(self.analysis.drugs)
            if self.analysis.label_first and not named:
                return Verdict(False, "does not name the drug asked about (its label answers)")
        if (hit.dense_score or 0.0) < self.settings.min_passage_similarity:
            return Verdict(False, f"its passage is not similar enough ({hit.dense_score or 0:.2f})")
        if coverage.in_sentence == 0 and self.analysis.concepts:
            return Verdict(False, "names none of the question's concepts itself")
        if candidate.relevance < self.settings.min_relevance:
            labels = ", ".join(c.label for c in coverage.missing if c.kind is ConceptKind.TERM)
            missing = f"; does not mention {labels}" if labels else ""
            return Verdict(
                False, f"relevance {candidate.relevance:.2f} below the bar{missing}", True
            )
        return Verdict(True, "about the question")


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Token overlap relative to the smaller set (1.0: one contains the other)."""
    return len(a & b) / max(1, min(len(a), len(b)))


def select_mmr(
    candidates: list[Scored],
    stems: Stems,
    limit: int,
    settings: QASettings,
    per_document: int,
) -> tuple[list[Scored], list[tuple[Scored, str]]]:
    """Good statements that do not repeat each other: chosen, and the rest with reasons."""
    pool = sorted(candidates, key=lambda c: -c.answer_score)
    tokens = {id(c): stems(c.unit.text) for c in pool}
    chosen: list[Scored] = []
    rejected: list[tuple[Scored, str]] = []
    while pool and len(chosen) < limit:

        def value(c: Scored) -> float:
            overlap = max((similarity(tokens[id(c)], tokens[id(o)]) for o in chosen), default=0.0)
            return settings.mmr_lambda * c.answer_score - (1 - settings.mmr_lambda) * overlap

        best = max(pool, key=value)
        pool.remove(best)
        if any(
            similarity(tokens[id(best)], tokens[id(c)]) > settings.near_duplicate for c in chosen
        ):
            rejected.append((best, "repeats a chosen statement"))
        elif sum(1 for c in chosen if c.unit.hit.doc_id == best.unit.hit.doc_id) >= per_document:
            rejected.append((best, f"already {per_document} statements from this document"))
        else:
            chosen.append(best)
    rejected += [(c, "a better statement filled the section") for c in pool]
    return chosen, rejected


def merge_across_sections(
    chosen: dict[SourceKind, list[Scored]], stems: Stems, threshold: float
) -> tuple[dict[SourceKind, list[Scored]], list[tuple[Scored, str]]]:
    """A statement that repeats one already kept in an earlier section is dropped."""
    kept: dict[SourceKind, list[Scored]] = {}
    seen: list[frozenset[str]] = []
    dropped: list[tuple[Scored, str]] = []
    for kind, items in chosen.items():
        kept[kind] = []
        for item in items:
            token_set = stems(item.unit.text)
            if any(similarity(token_set, other) > threshold for other in seen):
                dropped.append((item, "repeats a statement shown in another section"))
                continue
            seen.append(token_set)
            kept[kind].append(item)
    return {k: v for k, v in kept.items() if v}, dropped


def on_topic(verdict: Verdict, candidate: Scored, floor: float) -> bool:
    """Shown, or kept out only by the relevance bar while still clearly about the question."""
    return verdict.passed or (verdict.below_bar and candidate.relevance >= floor)
