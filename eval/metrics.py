"""Metrics: retrieval (recall@k, MRR, nDCG@10), answer facts, citations, abstention, ROUGE."""

from __future__ import annotations

import itertools
import math
import re
from collections import Counter
from collections.abc import Sequence


def recall_at(ranked: Sequence[str], gold: set[str], k: int) -> float:
    """Share of gold documents among the first k retrieved."""
    return len(gold & set(ranked[:k])) / len(gold) if gold else 0.0


def reciprocal_rank(ranked: Sequence[str], gold: set[str]) -> float:
    """1/rank of the first gold document (0 when none is retrieved)."""
    for rank, doc in enumerate(ranked, start=1):
        if doc in gold:
            return 1.0 / rank
    return 0.0


def ndcg_at(ranked: Sequence[str], gold: set[str], k: int = 10) -> float:
    """Binary-relevance nDCG over the first k."""
    dcg = sum(1.0 / math.log2(i + 2) for i, doc in enumerate(ranked[:k]) if doc in gold)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(k, len(gold))))
    return dcg / ideal if ideal else 0.0


def matched(patterns: Sequence[str], text: str) -> list[bool]:
    """Which patterns (case-insensitive regexes) occur in the text."""
    return [bool(re.search(p, text, re.IGNORECASE)) for p in patterns]


def precision_recall_f1(true_positive: int, predicted: int, actual: int) -> dict[str, float]:
    """Precision, recall and F1 from counts."""
    precision = true_positive / predicted if predicted else 0.0
    recall = true_positive / actual if actual else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _f1(overlap: int, candidate: int, reference: int) -> float:
    if not overlap or not candidate or not reference:
        return 0.0
    precision, recall = overlap / candidate, overlap / reference
    return 2 * precision * recall / (precision + recall)


def rouge_2(candidate: str, reference: str) -> float:
    """ROUGE-2 F1: bigram overlap."""
    cand, ref = _tokens(candidate), _tokens(reference)
    cand_bi = Counter(itertools.pairwise(cand))
    ref_bi = Counter(itertools.pairwise(ref))
    overlap = sum((cand_bi & ref_bi).values())
    return _f1(overlap, sum(cand_bi.values()), sum(ref_bi.values()))


def _skip_units(tokens: list[str], max_gap: int = 4) -> Counter[tuple[str, ...]]:
    units: Counter[tuple[str, ...]] = Counter((t,) for t in tokens)
    for i, first in enumerate(tokens):
        for second in tokens[i + 1 : i + 2 + max_gap]:
            units[(first, second)] += 1
    return units


def rouge_su4(candidate: str, reference: str) -> float:
    """ROUGE-SU4 F1: skip-bigrams with at most 4 words between, plus unigrams."""
    cand, ref = _skip_units(_tokens(candidate)), _skip_units(_tokens(reference))
    overlap = sum((cand & ref).values())
    return _f1(overlap, sum(cand.values()), sum(ref.values()))


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]
