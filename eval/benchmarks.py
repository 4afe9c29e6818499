"""Speed benchmarks on the built index: search and ask latency (p50/p95).

    guideqa bench search|ask [--questions FILE] [--repeat N] [--out FILE.json]

Results are printed and optionally written as JSON; they are measurements, never test asserts.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from guideqa.index.hybrid import HybridIndex
from guideqa.qa.pipeline import AnswerEngine

DEFAULT_QUESTIONS = Path(__file__).parent / "questions" / "latency.txt"


def read_questions(path: Path) -> list[str]:
    """Non-empty, non-comment lines."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 and max of a list of milliseconds (nearest rank)."""
    ordered = sorted(values)

    def rank(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)

    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": rank(0.95),
        "p99_ms": rank(0.99),
        "max_ms": round(ordered[-1], 2),
    }


def bench_search(index: HybridIndex, questions: list[str], repeat: int) -> dict[str, object]:
    """Hybrid search latency with a warm process (top 10, no filters)."""
    index.search("warm up", 10)
    timings = []
    for _ in range(repeat):
        for question in questions:
            start = time.perf_counter()
            index.search(question, 10)
            timings.append((time.perf_counter() - start) * 1000)
    return {"what": "search", "chunks": index.manifest.chunks, **percentiles(timings)}


def bench_ask(
    engine: AnswerEngine[HybridIndex], chunks: int, questions: list[str], repeat: int
) -> dict[str, object]:
    """Answer latency with a warm process, with the time per pipeline stage."""
    engine.ask("warm up question about metformin dosing")
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    for _ in range(repeat):
        for question in questions:
            start = time.perf_counter()
            answer = engine.ask(question)
            totals.append((time.perf_counter() - start) * 1000)
            for stage, ms in answer.timings_ms.items():
                stages.setdefault(stage, []).append(ms)
    return {
        "what": "ask",
        "chunks": chunks,
        **percentiles(totals),
        "stages_p50_ms": {k: round(statistics.median(v), 2) for k, v in stages.items()},
    }
