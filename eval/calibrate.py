"""Calibrate the relevance thresholds that decide abstention, on answerable and unanswerable
questions. Prints, for each candidate pair (min dense score, min term coverage), how many
answerable questions would still be answered and how many unanswerable ones would abstain.

    python -m eval.calibrate [--answerable FILE] [--unanswerable FILE]
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

from api.runtime import answer_engine
from api.settings import load_settings
from eval.benchmarks import DEFAULT_QUESTIONS, read_questions
from qa.evidence import SentenceScorer
from qa.pipeline import KIND_ORDER
from qa.understanding import analyse

UNANSWERABLE = Path(__file__).parent / "questions" / "abstention.txt"


def best_scores(engine, question: str) -> list[tuple[float, float]]:  # type: ignore[no-untyped-def]
    """(best dense score, best term coverage) per source kind for a question."""
    analysis = analyse(question, engine.drugs, engine.abbreviations, engine.synonyms)
    scorer = SentenceScorer(engine.index, analysis)
    out = []
    for kind in KIND_ORDER:
        hits = engine._retrieve(analysis, kind)
        dense = max((h.dense_score or 0.0) for h in hits) if hits else 0.0
        coverage = max((scorer.coverage(h.text) for h in hits[:5]), default=0.0)
        out.append((dense, coverage))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--answerable", type=Path, default=DEFAULT_QUESTIONS)
    parser.add_argument("--unanswerable", type=Path, default=UNANSWERABLE)
    args = parser.parse_args()
    engine = answer_engine(load_settings())
    unanswerable = set(read_questions(args.unanswerable))
    answerable = [q for q in read_questions(args.answerable) if q not in unanswerable]
    scores = {q: best_scores(engine, q) for q in [*answerable, *unanswerable]}
    print("dense  cover  answered/answerable  abstained/unanswerable  F1(abstain)")
    for dense, cover in itertools.product(
        [0.35, 0.4, 0.42, 0.45, 0.5, 0.55], [0.2, 0.25, 0.3, 0.34, 0.4, 0.5]
    ):

        def answers(q: str, d: float = dense, c: float = cover) -> bool:
            return any(x >= d and y >= c for x, y in scores[q])

        answered = sum(answers(q) for q in answerable)
        abstained = sum(not answers(q) for q in unanswerable)
        false_abstain = len(answerable) - answered
        precision = abstained / max(1, abstained + false_abstain)
        recall = abstained / max(1, len(unanswerable))
        f1 = 2 * precision * recall / max(1e-9, precision + recall)
        print(
            f"{dense:5.2f}  {cover:5.2f}  {answered:3d}/{len(answerable)}"
            f"               {abstained:3d}/{len(unanswerable)}                 {f1:.2f}"
        )


if __name__ == "__main__":
    main()
