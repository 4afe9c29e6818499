"""Gap reports and abstention: what was searched, what was closest, what is missing."""

from __future__ import annotations

import re
from collections import Counter

from index.hybrid import HybridIndex
from index.models import Hit
from ingest.models import SourceKind
from qa.evidence import Evidence, SentenceScorer
from qa.sentences import split_sentences
from qa.understanding import DATA_DIR, DrugLexicon, QuestionAnalysis, content_terms

_KIND_NOUNS = {
    SourceKind.GUIDELINE: ("guideline", "guidelines"),
    SourceKind.LABEL: ("FDA drug label", "FDA drug labels"),
    SourceKind.RESEARCH: ("research abstract", "research abstracts"),
}
# Which document would fill a kind's gap, said after the terms that found nothing.
_NEEDED = {
    SourceKind.GUIDELINE: "a practice guideline on this topic would be needed",
    SourceKind.LABEL: "the FDA label of a drug used for this would be needed",
    SourceKind.RESEARCH: "a study abstract on this topic would be needed",
}
_COMMON_WORDS = frozenset(
    ["done", "tone", "bone", "zone", "none", "cone", "phone", "stone", "alone", "ozone", "mycin"]
)


def _drug_suffixes() -> tuple[str, ...]:
    text = (DATA_DIR / "drug_suffixes.txt").read_text("utf-8")
    return tuple(line.strip() for line in text.splitlines() if line.strip() and line[0] != "#")


class GapFinder:
    """Knows what the index holds, to say honestly what it does not."""

    def __init__(self, index: HybridIndex, drugs: DrugLexicon) -> None:
        self.index = index
        self.drugs = drugs
        self.counts = Counter(d.kind for d in index.documents)
        self.partial_only = {
            generic
            for generic, doc_ids in drugs.label_docs.items()
            if all((doc := index.store.document(i)) is not None and doc.partial for i in doc_ids)
        }
        self._suffixes = _drug_suffixes()

    def searched(self, kinds: tuple[SourceKind, ...]) -> str:
        """'157 guidelines, 250 FDA drug labels and 1000 research abstracts'."""
        parts = [f"{self.counts.get(k, 0)} {_KIND_NOUNS[k][1]}" for k in kinds]
        return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]

    def abstention_message(self, kinds: tuple[SourceKind, ...]) -> str:
        """The summary used when nothing relevant enough was found."""
        return (
            "The indexed corpus holds no evidence relevant enough to answer this question. "
            f"Searched {self.searched(kinds)} (index {self.index.version})."
        )

    def unindexed_drugs(self, analysis: QuestionAnalysis) -> list[str]:
        """Words of the question that look like drug names but have no indexed label."""
        words = re.findall(r"[a-z][a-z-]{4,}", analysis.question.lower())
        return [
            w
            for w in dict.fromkeys(words)
            if w.endswith(self._suffixes)
            and w not in _COMMON_WORDS
            and w not in self.drugs.canonical
        ]

    def boxed_warning(self, analysis: QuestionAnalysis) -> Evidence | None:
        """The boxed warning of the drug the question is about, when its label has one."""
        if not analysis.drugs:
            return None
        for doc_id in self.drugs.label_docs.get(analysis.drugs[0], ()):
            rows = self.index.store.rows_of_document(doc_id)[:6]
            for row, chunk in zip(rows, self.index.store.chunks(rows), strict=True):
                if chunk.section.startswith("Boxed Warning"):
                    spans = split_sentences(chunk.text)[:2]
                    if not spans:
                        continue
                    sentence = chunk.text[spans[0].start : spans[-1].end]
                    hit = self.index.hits([(row, 1.0)])[0]
                    return Evidence(hit, sentence, score=10.0, coverage=1.0, boxed=True)
        return None

    def report(
        self,
        analysis: QuestionAnalysis,
        wanted: tuple[SourceKind, ...],
        hits: dict[SourceKind, list[Hit]],
        chosen: dict[SourceKind, list[Evidence]],
        scorer: SentenceScorer,
    ) -> tuple[str, ...]:
        """One line per missing kind or drug: what was searched and what came closest."""
        gaps: list[str] = []
        for drug in self.unindexed_drugs(analysis):
            gaps.append(f"No FDA label for {drug} is indexed.")
        for drug in analysis.drugs:
            if drug in self.partial_only:
                gaps.append(f"Only a partial FDA label (selected sections) is indexed for {drug}.")
        terms = scorer.key_terms(content_terms(analysis.question))
        for kind in wanted:
            if not chosen.get(kind):
                gaps.append(self._kind_gap(kind, terms, hits.get(kind) or []))
        return tuple(gaps)

    def _kind_gap(self, kind: SourceKind, terms: tuple[str, ...], closest: list[Hit]) -> str:
        noun, plural = _KIND_NOUNS[kind]
        about = f" on {_either(terms)}" if terms else " relevant enough"
        line = f"No {noun} passage{about} was found (searched {self.counts.get(kind, 0)} {plural})"
        if closest:
            line += f"; closest: \u201c{closest[0].title}\u201d, {closest[0].section}"
        return f"{line}; {_NEEDED[kind]}."


def _either(terms: tuple[str, ...]) -> str:
    """'“a”, “b” or “c”'."""
    quoted = [f"\u201c{t}\u201d" for t in terms]
    return ", ".join(quoted[:-1]) + (" or " if len(quoted) > 1 else "") + quoted[-1]
