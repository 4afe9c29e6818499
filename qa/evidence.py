"""Evidence selection at sentence level: score, prefer fitting sections, de-duplicate (MMR)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.hybrid import HybridIndex
from index.models import Hit
from ingest.models import Document, SourceKind
from qa.models import Intent
from qa.sentences import split_sentences
from qa.settings import QASettings
from qa.understanding import GENERIC_WORDS, INTENT_LABEL_SECTIONS, QuestionAnalysis

_DESIGNS: tuple[tuple[str, str, float], ...] = (
    ("meta-analysis", r"meta-analy|metaanaly", 1.2),
    ("systematic review", r"systematic review", 1.15),
    ("randomized trial", r"randomi[sz]ed|randomly assigned|randomly allocated", 1.1),
    ("cohort study", r"cohort|prospective|longitudinal", 1.0),
    ("case-control study", r"case-control|case control", 1.0),
    ("cross-sectional study", r"cross-sectional|survey|questionnaire", 0.95),
    ("case series", r"case series|case report|retrospective", 0.95),
)

# A guideline's recommendation statements are what a clinician asks for; the surrounding
# rationale and risk-factor prose shares the same words but answers less.
_RECOMMENDATION = re.compile(
    r"\b(recommends?|recommended|recommendations?|should|suggests?|is indicated)\b", re.I
)
_RECOMMENDATION_WEIGHT = 1.15
_RECOMMENDATION_INTENTS = frozenset({Intent.TREATMENT, Intent.SCREENING, Intent.MONITORING})


@dataclass(frozen=True)
class Evidence:
    """One verbatim sentence, the passage it sits in, and why it was chosen."""

    hit: Hit
    sentence: str
    score: float
    coverage: float
    design: str | None = None
    boxed: bool = False


def study_design(document: Document) -> tuple[str | None, float]:
    """The study design a research abstract reports, and its evidence weight."""
    types = " ".join(document.publication_types).lower()
    text = " ".join(
        [
            document.title,
            *document.publication_types,
            *document.mesh_terms,
            *(s.text for s in document.sections[:3]),
        ]
    ).lower()
    for name, pattern, weight in _DESIGNS:
        if re.search(pattern, types) or re.search(pattern, text):
            return name, weight
    return None, 1.0


def _section_fits(hit: Hit, intent: Intent) -> bool:
    wanted = INTENT_LABEL_SECTIONS.get(intent, ())
    number = hit.section_number or ""
    if "boxed" in wanted and hit.section.startswith("Boxed Warning"):
        return True
    return any(number == w or number.startswith(w + ".") for w in wanted if w != "boxed")


class SentenceScorer:
    """Weighted query-term coverage of sentences, with IDF from the index's BM25 vocabulary."""

    def __init__(self, index: HybridIndex, analysis: QuestionAnalysis) -> None:
        self._lexical = index.lexical
        generic = set(self._lexical.tokens(" ".join(GENERIC_WORDS)))
        tokens = [
            t
            for t in dict.fromkeys(self._lexical.tokens(analysis.search_query))
            if t not in generic
        ]
        self.weights = self._lexical.idf(tokens)
        drug_tokens = {t for d in analysis.drugs for t in self._lexical.tokens(d)}
        for token in drug_tokens & self.weights.keys():
            self.weights[token] *= 0.5  # the drug is implied by the label being cited
        self.total = sum(self.weights.values()) or 1.0

    def coverage(self, text: str) -> float:
        """Share of the question's term weight found in the text."""
        found = set(self._lexical.tokens(text))
        return sum(w for t, w in self.weights.items() if t in found) / self.total

    def key_terms(self, words: tuple[str, ...], limit: int = 3) -> tuple[str, ...]:
        """The rarest (most telling) of the question's words, in question order."""
        weighted = [
            (max((self.weights.get(t, 0.0) for t in self._lexical.tokens(w)), default=0.0), i, w)
            for i, w in enumerate(words)
        ]
        top = sorted((x for x in weighted if x[0] > 0), key=lambda x: -x[0])[:limit]
        top = [x for x in top if x[0] >= 0.5 * top[0][0]]  # common words say little
        return tuple(w for _, _, w in sorted(top, key=lambda x: x[1]))

    def token_set(self, text: str) -> frozenset[str]:
        """Tokens for near-duplicate detection."""
        return frozenset(self._lexical.tokens(text))


def hit_sentences(
    hit: Hit,
    rank: int,
    scorer: SentenceScorer,
    analysis: QuestionAnalysis,
    settings: QASettings,
    design_weight: float,
) -> list[Evidence]:
    """Candidate sentences of one passage, each scored against the question."""
    passage_bonus = (hit.dense_score or 0.0) * 0.5 + 1.0 / (rank + 2)
    fits = hit.kind is SourceKind.LABEL and _section_fits(hit, analysis.intent)
    wants_recommendation = (
        hit.kind is SourceKind.GUIDELINE and analysis.intent in _RECOMMENDATION_INTENTS
    )
    out = []
    for span in split_sentences(hit.text):
        sentence = hit.text[span.start : span.end]
        words = len(sentence.split())
        if words < 5 or words > settings.max_sentence_words or looks_like_table_row(sentence):
            continue
        coverage = scorer.coverage(sentence)
        score = (coverage + 0.35 * passage_bonus) * design_weight * (1.2 if fits else 1.0)
        if wants_recommendation and _RECOMMENDATION.search(sentence):
            score *= _RECOMMENDATION_WEIGHT
        out.append(Evidence(hit, sentence, score, coverage))
    return out


_SAMPLE_SIZE = re.compile(r"\bN\s*=\s*\d")


def looks_like_table_row(sentence: str) -> bool:
    """A flattened table row (numbers, arm sizes, cells) rather than a statement."""
    if "|" in sentence or len(_SAMPLE_SIZE.findall(sentence)) >= 2:
        return True
    tokens = sentence.split()
    numeric = sum(1 for t in tokens if not any(c.isalpha() for c in t))
    return numeric >= 0.4 * len(tokens)


def _similar(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / max(1, min(len(a), len(b)))


def select_mmr(
    candidates: list[Evidence],
    scorer: SentenceScorer,
    limit: int,
    lambda_: float,
    per_document: int = 2,
) -> list[Evidence]:
    """Maximal marginal relevance: good sentences that do not repeat each other."""
    pool = sorted(candidates, key=lambda e: -e.score)[: limit * 6]
    tokens = {id(e): scorer.token_set(e.sentence) for e in pool}
    chosen: list[Evidence] = []
    while pool and len(chosen) < limit:

        def value(e: Evidence) -> float:
            overlap = max((_similar(tokens[id(e)], tokens[id(c)]) for c in chosen), default=0.0)
            return lambda_ * e.score - (1 - lambda_) * overlap

        best = max(pool, key=value)
        pool.remove(best)
        if any(_similar(tokens[id(best)], tokens[id(c)]) > 0.8 for c in chosen):
            continue  # a near-duplicate (same text in another label or chunk)
        if sum(1 for c in chosen if c.hit.doc_id == best.hit.doc_id) >= per_document:
            continue
        chosen.append(best)
    return chosen
