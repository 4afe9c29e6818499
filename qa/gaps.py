"""Gap reports and abstention: what was searched, what was closest, what is missing.

Gap lines name the question's concepts (never generic words such as "first-line" or "options")."""

from __future__ import annotations

from collections import Counter

from guideqa.index.models import Hit
from guideqa.ingest.models import SourceKind
from guideqa.qa.drugs import DrugLexicon
from guideqa.qa.sources import EvidenceSource
from guideqa.qa.understanding import ConceptKind, QuestionAnalysis

_KIND_NOUNS = {
    SourceKind.GUIDELINE: ("guideline", "guidelines"),
    SourceKind.LABEL: ("FDA drug label", "FDA drug labels"),
    SourceKind.RESEARCH: ("research abstract", "research abstracts"),
}
# Which document would fill a kind's gap, said after the concepts that found nothing.
_NEEDED = {
    SourceKind.GUIDELINE: "a practice guideline on this topic would be needed",
    SourceKind.LABEL: "the FDA label of a drug used for this would be needed",
    SourceKind.RESEARCH: "a study abstract on this topic would be needed",
}


class GapReporter:
    """Knows what the index holds, to say honestly what it does not."""

    def __init__(self, source: EvidenceSource, drugs: DrugLexicon) -> None:
        self.source = source
        self.drugs = drugs
        self.counts = Counter(d.kind for d in source.documents)
        partial = {d.doc_id for d in source.documents if d.partial}  # outlines suffice
        self.partial_only = {
            generic
            for generic, doc_ids in drugs.label_docs.items()
            if all(i in partial for i in doc_ids)
        }

    def searched(self, kinds: tuple[SourceKind, ...]) -> str:
        """'157 guidelines, 250 FDA drug labels and 1000 research abstracts'."""
        parts = [f"{self.counts.get(k, 0)} {_KIND_NOUNS[k][1]}" for k in kinds]
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]

    def abstention_message(self, kinds: tuple[SourceKind, ...]) -> str:
        """The summary used when nothing relevant enough was found."""
        return (
            "The indexed corpus holds no evidence relevant enough to answer this question. "
            f"Searched {self.searched(kinds)} (index {self.source.version})."
        )

    def report(
        self,
        analysis: QuestionAnalysis,
        missing_kinds: tuple[SourceKind, ...],
        closest: dict[SourceKind, list[Hit]],
        weights: dict[str, float],
    ) -> tuple[str, ...]:
        """One line per missing kind or drug: what was searched and what came closest."""
        gaps = [f"No FDA label for {drug} is indexed." for drug in analysis.unindexed_drugs]
        gaps += [
            f"Only a partial FDA label (selected sections) is indexed for {drug}."
            for drug in analysis.drugs
            if drug in self.partial_only
        ]
        terms = key_concepts(analysis, weights)
        for kind in missing_kinds:
            gaps.append(self._kind_gap(kind, terms, closest.get(kind) or []))
        return tuple(gaps)

    def _kind_gap(self, kind: SourceKind, terms: tuple[str, ...], closest: list[Hit]) -> str:
        noun, plural = _KIND_NOUNS[kind]
        about = f" on {_either(terms)}" if terms else " relevant enough"
        line = f"No {noun} passage{about} was found (searched {self.counts.get(kind, 0)} {plural})"
        if closest:
            line += f"; closest: \u201c{closest[0].title}\u201d, {closest[0].section}"
        return f"{line}; {_NEEDED[kind]}."


def key_concepts(
    analysis: QuestionAnalysis, weights: dict[str, float], limit: int = 3
) -> tuple[str, ...]:
    """The most telling concepts of the question, in question order (drugs and terms first)."""
    ranked = sorted(
        (c for c in analysis.concepts if c.kind is not ConceptKind.POPULATION),
        key=lambda c: -weights.get(c.label, 0.0),
    )[:limit]
    order = {c.label: i for i, c in enumerate(analysis.concepts)}
    return tuple(c.label for c in sorted(ranked, key=lambda c: order[c.label]))


def _either(terms: tuple[str, ...]) -> str:
    """'“a”, “b” or “c”'."""
    quoted = [f"\u201c{t}\u201d" for t in terms]
    return ", ".join(quoted[:-1]) + (" or " if len(quoted) > 1 else "") + quoted[-1]
