"""`guideqa bench ray` and `guideqa bench backends`: the scale-out engines, measured here.

ray: embedding throughput in this process against a local Ray with 1 and 2 actors.
backends: the same index served by the local backend and by Milvus Lite (search and answer
latency over the clinical questions; answer quality is `guideqa eval` with
GUIDEQA_INDEX__BACKEND=milvus)."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from guideqa.eval.bench_ingest import sample_texts
from guideqa.eval.bench_suite import BenchStep, Row
from guideqa.eval.benchmarks import percentiles
from guideqa.eval.dataset import load_questions, question_set
from guideqa.index.backend import SearchIndex
from guideqa.index.embed_run import BatchRunner, SequentialRunner
from guideqa.index.hybrid import HybridIndex
from guideqa.index.settings import BackendKind, IndexSettings
from guideqa.ingest.embedding import create_embedder
from guideqa.ingest.settings import EmbeddingSettings, RaySettings
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.settings import QASettings

BATCH = 256  # chunks per journaled batch, as IndexWriter sends them


def _throughput(runner: BatchRunner, texts: list[str]) -> tuple[float, float]:
    """(seconds, chunks/s) to embed the texts in build-sized batches."""
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    started = time.perf_counter()
    done = sum(len(vectors) for _, vectors in runner.run(batches))
    seconds = time.perf_counter() - started
    return seconds, done / seconds


def bench_ray(embedding: EmbeddingSettings, index: HybridIndex, sample: int | None) -> BenchStep:
    """Chunks/s: in-process (the local engine) against Ray with 1 and 2 embedding actors."""
    from guideqa.ingest.distributed import RayEngine

    texts = sample_texts(index, sample)
    local = create_embedder(embedding, for_ingest=True)
    local.warm_up()
    seconds, rate = _throughput(SequentialRunner(local), texts)
    rows: list[Row] = [
        {
            "engine": f"local, {embedding.ingest_threads} threads",
            "actors": None,
            "seconds": round(seconds, 1),
            "chunks/s": round(rate, 1),
        }
    ]
    for workers in (1, 2):
        engine = RayEngine(RaySettings(workers=workers), embedding)
        started = time.perf_counter()
        engine.start()
        boot = time.perf_counter() - started
        try:
            seconds, rate = _throughput(engine, texts)
        finally:
            engine.stop()
        rows.append(
            {
                "engine": "ray (local cluster)",
                "actors": workers,
                "seconds": round(seconds, 1),
                "chunks/s": round(rate, 1),
                "ray start s": round(boot, 1),
            }
        )
    notes = [
        f"{len(texts)} corpus chunks in batches of {BATCH}; seconds include starting the actors "
        "(each loads its ONNX Runtime session once), not starting Ray",
        "2 cores: two actors are the ceiling here; one actor per core scales with cores until "
        "the driver (gathering vectors, writing the journal) saturates",
    ]
    return BenchStep("ray", "guideqa bench ray", rows, notes)


def _latencies(
    index: SearchIndex, engine: AnswerEngine[SearchIndex], questions: list[str]
) -> tuple[list[float], list[float]]:
    search, ask = [], []
    for question in questions:
        started = time.perf_counter()
        index.search(question, 10)
        search.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        engine.ask(question)
        ask.append((time.perf_counter() - started) * 1000)
    return search, ask


def bench_backends(settings: IndexSettings, local: HybridIndex, qa: QASettings) -> BenchStep:
    """Search and answer latency of the same version on the local backend and Milvus Lite."""
    from guideqa.index.milvus_backend import MilvusBackend

    questions = [
        q.question for n in ("clinical", "unseen") for q in load_questions(question_set(n))
    ]
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="guideqa-milvus-") as folder:
        milvus_settings = settings.model_copy(
            update={"backend": BackendKind.MILVUS, "milvus_uri": str(Path(folder) / "m.db")}
        )
        backend = MilvusBackend(milvus_settings, local.manifest.settings_id)
        started = time.perf_counter()
        backend.publish(local.version_dir)
        publish_s = time.perf_counter() - started
        milvus = backend.open(local.embedder)
        for name, index in (("local (FAISS + bm25s + SQLite)", local), ("Milvus Lite", milvus)):
            engine: AnswerEngine[SearchIndex] = AnswerEngine(index, qa)
            engine.ask("warm up question about metformin dosing")
            search, ask = _latencies(index, engine, questions)
            for what, values in (("search k=10", search), ("ask", ask)):
                rows.append({"backend": name, "what": what, **percentiles(values)})
        backend.close()
    notes = [
        f"{local.manifest.chunks} chunks, {len(questions)} clinical questions, one process, "
        f"warm; copying the version into Milvus Lite took {publish_s:.1f} s (no re-embedding)",
        "Milvus Lite runs its server beside this process: a search is two gRPC searches "
        "(dense, BM25) and one fetch of the passages; an answer makes several searches (one "
        "per source kind, then section look-ups). The ranking is identical to the local "
        "backend's (tests/index/test_backend_contract.py)",
    ]
    return BenchStep("backends", "guideqa bench backends", rows, notes)
