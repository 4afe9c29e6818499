"""`guideqa bench`: ingest, ask, http, scale and startup, each a table plus JSON.

Every step measures; none asserts. eval/bench_report.py keeps eval/BENCHMARKS.md current.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from guideqa.eval.bench_ingest import (
    bench_backends,
    bench_langchain,
    flops_per_token,
    gemm_ceiling,
    profile_onnx,
    sample_texts,
)
from guideqa.eval.benchmarks import percentiles
from guideqa.eval.dataset import load_questions, question_set
from guideqa.eval.load_http import rss_mib
from guideqa.eval.load_http import run as load_run
from guideqa.eval.serving import free_port, start_server, stop_server
from guideqa.index.hybrid import HybridIndex
from guideqa.index.settings import IndexSettings
from guideqa.ingest.settings import EmbeddingSettings
from guideqa.qa.pipeline import AnswerEngine

Cell = str | int | float | None
Row = dict[str, Cell]

# (backend, precision) pairs ingest can run; the first is the reference for cosine
BACKENDS = [("onnx", "fp32"), ("onnx", "int8"), ("torch", "fp32"), ("torch", "bf16")]
HTTP_CLIENTS = (1, 4, 16, 64)
SCALE_SIZES = (100_000, 300_000, 1_000_000)


@dataclass(frozen=True)
class BenchStep:
    """One benchmark's table (rows of named cells), notes, and the command that made it."""

    name: str
    command: str
    rows: list[Row]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Cell] = field(default_factory=dict)

    def to_json(self) -> str:
        """The step as JSON (what --out writes)."""
        return json.dumps(self.__dict__, indent=2, default=str)


def bench_ingest(embedding: EmbeddingSettings, index: HybridIndex, sample: int | None) -> BenchStep:
    """Embedding throughput per backend and for LangChain, against the GEMM ceiling."""
    texts = sample_texts(index, sample)
    runs = bench_backends(embedding, texts, BACKENDS)
    threads = embedding.ingest_threads
    runs.append(bench_langchain(texts, embedding.max_seq_length, threads))
    ceiling = gemm_ceiling(threads)
    profile = profile_onnx(embedding, texts[: min(len(texts), 600)])
    per_token = flops_per_token(float(str(profile["mean_tokens"])))
    default = f"{embedding.backend.value}-{embedding.precision}"
    langchain = runs[-1].chunks_per_s
    rows: list[Row] = []
    for run in runs:
        precision = run.backend.rsplit("-", 1)[-1]
        peak = ceiling.get(precision, ceiling["fp32"]) * 1e9
        rows.append(
            {
                "backend": run.backend + (" (default)" if run.backend == default else ""),
                "chunks/s": run.chunks_per_s,
                "tokens/s": run.tokens_per_s,
                "x LangChain": round(run.chunks_per_s / langchain, 2),
                "GOP/s": round(run.tokens_per_s * per_token / 1e9, 1),
                "of ceiling": f"{run.tokens_per_s * per_token / peak:.1%}",
                "min cosine to fp32": run.cosine_to_fp32_min,
            }
        )
    notes = [
        f"{len(texts)} chunks, {threads} threads; model {per_token / 1e6:.1f} MFLOP per token "
        f"at the mean {profile['mean_tokens']} tokens per chunk",
        "GEMM ceiling (2048x2048, torch, "
        + ", ".join(f"{k} {v} G/s" for k, v in ceiling.items())
        + "); 'of ceiling' compares with the ceiling of the backend's precision",
        f"profile of onnx-{embedding.precision}, 1 thread: tokenising "
        f"{profile['tokenise_share']:.1%} of the time, padding {profile['padding_share']:.1%} "
        f"of the tokens run; operators: {profile['operators_share']}",
    ]
    return BenchStep("ingest", "guideqa bench ingest", rows, notes, {**ceiling})


def bench_ask(engine: AnswerEngine[HybridIndex], index: HybridIndex) -> BenchStep:
    """Answer latency over the clinical questions by stage, with the naive LangChain pipeline."""
    from guideqa.eval.langchain_baseline import LangChainBaseline

    questions = [q for name in ("clinical", "unseen") for q in load_questions(question_set(name))]
    engine.ask("warm up question about metformin dosing")
    totals: list[float] = []
    stages: dict[str, list[float]] = {}
    for question in questions:
        start = time.perf_counter()
        answer = engine.ask(question.question)
        totals.append((time.perf_counter() - start) * 1000)
        for stage, ms in answer.timings_ms.items():
            stages.setdefault(stage, []).append(ms)
    baseline = LangChainBaseline(index)
    baseline_ms = [baseline.answer(q).latency_ms for q in questions]
    rows = [
        _latency_row("GuideQA ask (total)", totals),
        *(_latency_row(f"  stage: {stage}", ms) for stage, ms in stages.items()),
        _latency_row("LangChain naive (embed + FAISS top-20)", baseline_ms),
    ]
    notes = [f"{len(questions)} clinical questions (dev and unseen), warm process, 1 thread"]
    return BenchStep("ask", "guideqa bench ask", rows, notes)


def _latency_row(name: str, milliseconds: list[float]) -> Row:
    row: Row = {"pipeline": name}
    row.update(percentiles(milliseconds))
    return row


def bench_http(index_dir: Path, seconds: float) -> BenchStep:
    """Answers/s and latency at 1-64 clients against `guideqa serve` on loopback."""
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="guideqa-bench-") as tmp:
        log = Path(tmp) / "server.log"
        port = free_port()
        server, ready_s = start_server(index_dir, port, log, {})
        try:
            before = rss_mib(server.pid)
            for clients in HTTP_CLIENTS:
                result = asyncio.run(load_run(f"http://127.0.0.1:{port}", clients, seconds))
                rows.append(
                    {
                        "clients": clients,
                        "answers/s": result["answers_per_second"],  # type: ignore[dict-item]
                        "p50_ms": result["p50_ms"],  # type: ignore[dict-item]
                        "p95_ms": result["p95_ms"],  # type: ignore[dict-item]
                        "p99_ms": result["p99_ms"],  # type: ignore[dict-item]
                        "errors": result["failed"],  # type: ignore[dict-item]
                        "server RSS MiB": rss_mib(server.pid),
                    }
                )
        finally:
            stop_server(server)
    notes = [
        f"{seconds:.0f} s per level, loopback, server RSS {before} MiB before the first level",
        f"server ready {ready_s:.1f} s after start",
    ]
    return BenchStep("http", f"guideqa bench http --seconds {seconds:.0f}", rows, notes)


def bench_startup(index_dirs: list[Path], repeat: int = 3) -> BenchStep:
    """Process start to /readyz OK, for the default index and any other index given."""
    rows: list[Row] = []
    for index_dir in index_dirs:
        times: list[float] = []
        with tempfile.TemporaryDirectory(prefix="guideqa-startup-") as tmp:
            for _ in range(repeat):
                server, ready_s = start_server(index_dir, free_port(), Path(tmp) / "log", {})
                rss = rss_mib(server.pid)
                stop_server(server)
                times.append(ready_s)
        chunks = json.loads(_manifest(index_dir).read_text())["chunks"]
        rows.append(
            {
                "index": str(index_dir),
                "chunks": chunks,
                "start to ready s (median)": round(statistics.median(times), 2),
                "max s": round(max(times), 2),
                "RSS at ready MiB": rss,
            }
        )
    return BenchStep("startup", "guideqa bench startup", rows, [f"{repeat} starts each"])


def _manifest(index_dir: Path) -> Path:
    name = (index_dir / "CURRENT").read_text().strip()
    return index_dir / "versions" / name / "manifest.json"


def bench_scale(settings: IndexSettings, sizes: list[int], folder: Path, keep: bool) -> BenchStep:
    """Synthetic indexes of each size: build, then measure in a fresh process."""
    rows: list[Row] = []
    for size in sizes:
        out = folder / f"scale-{size}"
        built = _python_json(
            [
                "build",
                "--chunks",
                str(size),
                "--out",
                str(out),
                "--base",
                str(settings.directory),
                "--dense",
                settings.dense.value,
            ]
        )
        measured = _python_json(["measure", str(out), "--dense", settings.dense.value])
        rows.append({**_scale_cells(built), **_scale_cells(measured)})
        if not keep:
            shutil.rmtree(out, ignore_errors=True)
    notes = [
        "synthetic: the default corpus replicated, a tenth of each chunk's words dropped, "
        "vector noise of norm 0.5 (cosine ~0.89 to the source); build and measure each in a "
        "fresh process (python -m guideqa.eval.bench_scale)",
    ]
    return BenchStep("scale", "guideqa bench scale", rows, notes)


def _scale_cells(data: dict[str, object]) -> Row:
    return {k: v for k, v in data.items() if isinstance(v, str | int | float) or v is None}


def _python_json(args: list[str]) -> dict[str, object]:
    command = [sys.executable, "-m", "guideqa.eval.bench_scale", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr[-1500:]}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
