"""Run a question set through one or more systems and score every answer."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from guideqa.eval.dataset import EvalQuestion, KnownDisagreements, load_disagreements
from guideqa.eval.metrics import (
    matched,
    ndcg_at,
    percentile,
    precision_recall_f1,
    recall_at,
    reciprocal_rank,
)
from guideqa.eval.systems import ShownDiscrepancy, System, SystemOutput

Progress = Callable[[int, int], None]


@dataclass
class QuestionResult:
    """One system's scored answer to one question, with what went wrong."""

    id: str
    category: str
    recall_5: float | None
    recall_10: float | None
    mrr: float | None
    ndcg_10: float | None
    fact_recall: float | None
    missed_facts: list[str]
    lead_recall: float | None
    missed_lead: list[str]
    on_topic_statements: int
    topic_judged_statements: int
    statements: int
    forbidden_hit: bool
    citation_validity: float | None
    failed_citations: int
    section_accuracy: float | None
    abstained: bool
    abstain_expected: bool
    success: bool
    latency_ms: float
    cited_docs: list[str] = field(default_factory=list)
    discrepancy_rows: int = 0
    wrong_discrepancies: list[str] = field(default_factory=list)
    differ_expected: int = 0
    missed_differ: list[str] = field(default_factory=list)
    generated_sentences: int = 0
    dropped_sentences: int = 0
    generation_fell_back: bool = False


def wrong_rows(rows: Sequence[ShownDiscrepancy], known: KnownDisagreements) -> list[str]:
    """The rows that are not real disagreements: a row is right when some pair of its sources
    is a known disagreement on that quantity, every other pair either is one too or states
    overlapping values (sources that agree), and each value shown from a known source is in
    one of its recorded passages (the right value, not another number of the document)."""
    wrong = []
    for row in rows:
        values = row.values
        pairs = [
            (a, b) for i, a in enumerate(values) for b in values[i + 1 :] if a.doc_id != b.doc_id
        ]
        differ = [known.holds(row.quantity, a.doc_id, b.doc_id) for a, b in pairs]
        agree = [not (a.high < b.low or b.high < a.low) for a, b in pairs]
        misread = any(
            (quotes := known.quotes_of(row.quantity, v.doc_id))
            and v.text
            and not any(v.text in " ".join(q.split()) for q in quotes)
            for v in values
        )
        if (
            misread
            or not any(differ)
            or not all(d or g for d, g in zip(differ, agree, strict=True))
        ):
            wrong.append(f"{row.quantity}: " + ", ".join(v.doc_id for v in values))
    return wrong


def score(
    question: EvalQuestion, output: SystemOutput, known: KnownDisagreements | None = None
) -> QuestionResult:
    """All metrics of one answer; discrepancy rows are judged against `known`."""
    known = known or KnownDisagreements(disagreements=())
    shown = {row.quantity for row in output.discrepancies}
    gold = {g.doc for g in question.gold}
    retrieval = bool(gold) and question.answerable
    facts = matched(question.required, output.answer_text)
    forbidden = any(matched(question.forbidden, output.answer_text))
    checks = output.citation_checks
    sections = output.section_checks
    fact_recall = sum(facts) / len(facts) if facts else None
    lead = matched(question.lead, output.summary)
    judged = output.statements if question.topic and question.answerable else ()
    on_topic = sum(all(matched(question.topic, s)) for s in judged)
    if question.answerable:
        success = (fact_recall in (None, 1.0)) and not forbidden and not output.abstained
    else:  # abstained, or honestly reported the specific gap the question is about
        success = output.abstained or (bool(facts) and all(facts))
    return QuestionResult(
        id=question.id,
        category=question.category,
        recall_5=recall_at(output.ranked_docs, gold, 5) if retrieval else None,
        recall_10=recall_at(output.ranked_docs, gold, 10) if retrieval else None,
        mrr=reciprocal_rank(output.ranked_docs, gold) if retrieval else None,
        ndcg_10=ndcg_at(output.ranked_docs, gold, 10) if retrieval else None,
        fact_recall=fact_recall if question.answerable else None,
        missed_facts=[p for p, ok in zip(question.required, facts, strict=True) if not ok],
        lead_recall=sum(lead) / len(lead) if lead and question.answerable else None,
        missed_lead=[p for p, ok in zip(question.lead, lead, strict=True) if not ok],
        on_topic_statements=on_topic,
        topic_judged_statements=len(judged),
        statements=len(output.statements),
        forbidden_hit=forbidden,
        citation_validity=sum(checks) / len(checks) if checks else None,
        failed_citations=sum(1 for ok in checks if not ok) if checks else 0,
        section_accuracy=sum(sections) / len(sections) if sections else None,
        abstained=output.abstained,
        abstain_expected=not question.answerable,
        success=success,
        latency_ms=round(output.latency_ms, 2),
        cited_docs=list(output.cited_docs),
        discrepancy_rows=len(output.discrepancies),
        wrong_discrepancies=wrong_rows(output.discrepancies, known),
        differ_expected=len(question.differ),
        missed_differ=[q for q in question.differ if q not in shown],
        generated_sentences=output.generated_sentences,
        dropped_sentences=output.dropped_sentences,
        generation_fell_back=output.generation_fell_back,
    )


def _mean(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.fmean(present), 4) if present else None


def aggregate(results: Sequence[QuestionResult]) -> dict[str, object]:
    """Averages over questions, abstention P/R/F1, follow-up success and latency."""
    # reporting the specific gap an unanswerable question is about counts as abstaining
    predicted = [r for r in results if r.abstained or (r.abstain_expected and r.success)]
    expected = [r for r in results if r.abstain_expected]
    correct_abstain = sum(1 for r in predicted if r.abstain_expected)
    follow_ups = [r for r in results if r.category == "follow-up"]
    judged = sum(r.topic_judged_statements for r in results)
    answered = [r for r in results if not r.abstain_expected and not r.abstained]
    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "recall@5": _mean([r.recall_5 for r in results]),
        "recall@10": _mean([r.recall_10 for r in results]),
        "mrr": _mean([r.mrr for r in results]),
        "ndcg@10": _mean([r.ndcg_10 for r in results]),
        "fact_recall": _mean([r.fact_recall for r in results]),
        "lead_recall": _mean([r.lead_recall for r in results]),
        "on_topic_precision": (
            round(sum(r.on_topic_statements for r in results) / judged, 4) if judged else None
        ),
        "statements_per_answer": _mean([float(r.statements) for r in answered]),
        "forbidden_rate": _mean([1.0 if r.forbidden_hit else 0.0 for r in results]),
        "citation_validity": _mean([r.citation_validity for r in results]),
        "section_accuracy": _mean([r.section_accuracy for r in results]),
        "abstention": precision_recall_f1(correct_abstain, len(predicted), len(expected)),
        "follow_up_success": _mean([1.0 if r.success else 0.0 for r in follow_ups]),
        "success_rate": _mean([1.0 if r.success else 0.0 for r in results]),
        **_discrepancy_metrics(results),
        **_generation_metrics(results),
        "latency_p50_ms": round(percentile(latencies, 0.5), 2),
        "latency_p95_ms": round(percentile(latencies, 0.95), 2),
    }


def _discrepancy_metrics(results: Sequence[QuestionResult]) -> dict[str, object]:
    """Precision of the rows shown (over every question) and recall of the known differences
    (over the questions that have one)."""
    rows = sum(r.discrepancy_rows for r in results)
    wrong = sum(len(r.wrong_discrepancies) for r in results)
    expected = sum(r.differ_expected for r in results)
    missed = sum(len(r.missed_differ) for r in results)
    return {
        "discrepancy_rows": rows,
        "discrepancy_precision": round((rows - wrong) / rows, 4) if rows else None,
        "discrepancy_recall": round((expected - missed) / expected, 4) if expected else None,
    }


def _generation_metrics(results: Sequence[QuestionResult]) -> dict[str, object]:
    """With a chat model: the share of generated sentences verification dropped, and how often
    the extractive answer was given instead (None without one)."""
    generated = sum(r.generated_sentences for r in results)
    fell_back = [r.generation_fell_back for r in results]
    if not generated and not any(fell_back):
        return {"generated_dropped_share": None, "generation_fallback_rate": None}
    dropped = sum(r.dropped_sentences for r in results)
    return {
        "generated_dropped_share": round(dropped / generated, 4) if generated else None,
        "generation_fallback_rate": round(sum(fell_back) / len(results), 4),
    }


def by_category(results: Sequence[QuestionResult]) -> dict[str, dict[str, object]]:
    """The aggregates per question category (guideline, label, research, multi-kind, ...)."""
    categories = sorted({r.category for r in results})
    return {c: aggregate([r for r in results if r.category == c]) for c in categories}


def run_system(
    system: System,
    questions: Sequence[EvalQuestion],
    progress: Progress | None = None,
    known: KnownDisagreements | None = None,
) -> list[QuestionResult]:
    """Every question through one system, in file order (follow-ups after their first);
    discrepancy rows judged against `known` (default: eval/questions/disagreements.yaml)."""
    known = known if known is not None else load_disagreements()
    results = []
    for done, question in enumerate(questions, start=1):
        results.append(score(question, system.answer(question), known))
        if progress:
            progress(done, len(questions))
    return results


def system_report(name: str, results: Sequence[QuestionResult]) -> dict[str, object]:
    """The JSON-ready report of one system."""
    return {
        "system": name,
        "overall": aggregate(results),
        "by_category": by_category(results),
        "questions": [asdict(r) for r in results],
    }
