"""Scale benchmark: a labelled synthetic corpus of N chunks, built and searched like a real one.

The corpus replicates the built default index: replica r of document D is `D-rNNN`, holds the
same sections, and its chunks keep their source chunk as label. Chunk texts lose a random tenth
of their words and vectors get Gaussian noise (cosine about 0.89 to the source), so every real
chunk has dozens of near neighbours and approximate search has real work to do.

    python -m guideqa.eval.bench_scale build --chunks 1000000 --out .guideqa/scale-1m
    python -m guideqa.eval.bench_scale measure .guideqa/scale-1m   # fresh process: RSS, speed

`guideqa bench scale` runs both for 100k, 300k and 1M chunks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path

import numpy as np

from guideqa.eval.load_http import rss_mib
from guideqa.index.dense import DenseIndex, build_faiss, choose_structure
from guideqa.index.hybrid import HybridIndex, open_index
from guideqa.index.lexical import LexicalIndex
from guideqa.index.settings import DenseKind, IndexSettings
from guideqa.index.store import write_store
from guideqa.index.versions import MANIFEST, current_version_dir, publish, write_json
from guideqa.ingest.chunking import index_text
from guideqa.ingest.embedding import create_embedder
from guideqa.ingest.models import Chunk, Document
from guideqa.ingest.settings import ChunkingSettings, EmbeddingSettings

NOISE_NORM = 0.5  # |noise| / |vector|: cosine to the source ~ 1 / sqrt(1 + 0.25) = 0.89
WORD_DROP = 0.1


def _replica_chunks(
    base: HybridIndex, replicas: int, limit: int, rng: np.random.Generator
) -> Iterator[tuple[int, Chunk]]:
    """(source row, perturbed chunk) for every replica, document by document."""
    rows_by_doc = [base.store.rows_of_document(d.doc_id) for d in base.documents]
    for replica in range(replicas):
        for doc, rows in zip(base.documents, rows_by_doc, strict=True):
            for row, chunk in zip(rows, base.store.chunks(rows), strict=True):
                if limit <= 0:
                    return
                limit -= 1
                words = chunk.text.split()
                kept = [w for w in words if rng.random() >= WORD_DROP] or words
                yield (
                    row,
                    chunk.model_copy(
                        update={
                            "chunk_id": f"{chunk.chunk_id}-r{replica:03d}",
                            "doc_id": f"{doc.doc_id}-r{replica:03d}",
                            "text": " ".join(kept),
                        }
                    ),
                )


def build_synthetic(
    base: HybridIndex, chunks: int, out: Path, settings: IndexSettings
) -> dict[str, float]:
    """Write a published synthetic index of `chunks` rows at `out`; seconds per step."""
    rng = np.random.default_rng(0)
    replicas = math.ceil(chunks / base.manifest.chunks)
    timings: dict[str, float] = {}
    shutil.rmtree(out, ignore_errors=True)
    build = out / "versions" / ".build-v000001"
    build.mkdir(parents=True)
    started = time.perf_counter()
    pairs = list(_replica_chunks(base, replicas, chunks, rng))
    docs = _replica_documents(tuple(base.store.full_documents()), {c.doc_id for _, c in pairs})
    timings["generate_s"] = time.perf_counter() - started
    step = time.perf_counter()
    write_store(build / "store.sqlite", docs, [c for _, c in pairs])
    timings["store_s"] = time.perf_counter() - step
    step = time.perf_counter()
    vectors = _perturbed_vectors(base, [row for row, _ in pairs], build / "vectors.npy", rng)
    structure = choose_structure(len(pairs), settings)
    DenseIndex(build_faiss(vectors, structure, settings), structure).save(build / "dense.faiss")
    timings["dense_s"] = time.perf_counter() - step
    step = time.perf_counter()
    by_id = {d.doc_id: d for d in docs}
    texts = [index_text(by_id[c.doc_id], c) for _, c in pairs]
    del pairs
    LexicalIndex.build(texts).save(build / "bm25")
    timings["lexical_s"] = time.perf_counter() - step
    manifest = base.manifest.model_copy(
        update={
            "version": "v000001",
            "dense": structure.value,
            "documents": len(docs),
            "chunks": len(texts),
            "rows": len(texts),
            "base_rows": len(texts),
            "corpus_hash": f"synthetic-{chunks}",
            "build_seconds": round(time.perf_counter() - started, 1),
        }
    )
    write_json(build / MANIFEST, manifest.model_dump(mode="json"))
    publish(out, build, "v000001")
    timings["total_s"] = time.perf_counter() - started
    return {k: round(v, 1) for k, v in timings.items()}


def _replica_documents(documents: tuple[Document, ...], wanted: set[str]) -> list[Document]:
    replicas = {doc_id.rsplit("-r", 1)[1] for doc_id in wanted}
    made = [
        d.model_copy(update={"doc_id": f"{d.doc_id}-r{r}", "supersedes": ()})
        for r in sorted(replicas)
        for d in documents
    ]
    return sorted((d for d in made if d.doc_id in wanted), key=lambda d: d.doc_id)


def _perturbed_vectors(
    base: HybridIndex, source_rows: list[int], path: Path, rng: np.random.Generator
) -> np.ndarray:
    source = np.load(base.version_dir / "vectors.npy", mmap_mode="r")
    shape = (len(source_rows), source.shape[1])
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=shape)
    sigma = NOISE_NORM / math.sqrt(shape[1])
    for start in range(0, len(source_rows), 65536):
        rows = np.asarray(source_rows[start : start + 65536])
        block = source[rows] + rng.normal(0, sigma, (len(rows), shape[1])).astype(np.float32)
        out[start : start + len(rows)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    out.flush()
    return out


class RssCurve:
    """This process's resident memory every few seconds, in a background thread."""

    def __init__(self, every_s: float = 2.0) -> None:
        self.points: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._every_s = every_s
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> RssCurve:
        self._started = time.perf_counter()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(self._every_s):
            self.points.append((round(time.perf_counter() - self._started, 1), _rss_mib()))

    def summary(self, points: int = 12) -> str:
        """Up to `points` evenly spaced samples as 't s: MiB' pairs."""
        step = max(1, len(self.points) // points)
        return ", ".join(f"{t:.0f}s {m:.0f}" for t, m in self.points[::step])


def _rss_mib() -> float:
    return rss_mib(os.getpid()) or 0.0


def measure(folder: Path, questions: list[str], settings: IndexSettings) -> dict[str, object]:
    """Open the index cold in this process, then time hybrid and dense search and recall@10."""
    embedding = EmbeddingSettings()
    started = time.perf_counter()
    embedder = create_embedder(embedding)
    embedder.warm_up()
    model_s = time.perf_counter() - started
    settings = settings.model_copy(update={"directory": folder})
    index = open_index(settings, embedding, ChunkingSettings(), embedder)
    open_s = time.perf_counter() - started - model_s
    hybrid_ms = [_timed_ms(partial(index.search, q, 10)) for q in questions]
    queries = embedder.embed(questions, for_queries=True)
    serving_rss = _rss_mib()  # before the exact ground truth below allocates its matrices
    dense_ms, recall, sweep = _dense_speed_and_recall(index, queries, folder)
    return {
        "chunks": index.manifest.chunks,
        "dense": index.manifest.dense,
        "disk_mib": round(sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20),
        "model_load_s": round(model_s, 2),
        "open_s": round(open_s, 2),
        "rss_serving_mib": serving_rss,
        "hybrid_p50_ms": _pct(hybrid_ms, 50),
        "hybrid_p95_ms": _pct(hybrid_ms, 95),
        "dense_p50_ms": _pct(dense_ms, 50),
        "dense_p95_ms": _pct(dense_ms, 95),
        "dense_recall_at_10": recall,
        "dense_sweep": sweep,
    }


def _timed_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1000


def _pct(values: list[float], q: int) -> float:
    return round(float(np.percentile(values, q)), 2)


_SWEEP = {DenseKind.IVF_SQ8: "ivf_nprobe", DenseKind.HNSW: "hnsw_ef_search"}


def _dense_speed_and_recall(
    index: HybridIndex, queries: np.ndarray, folder: Path
) -> tuple[list[float], float, str]:
    """Dense latency and recall@10 against exact search, at the settings and in a sweep."""
    dense = index.dense
    timings = [_timed_ms(partial(dense.search, v, 10, None)) for v in list(queries) * 3]
    if dense.kind is DenseKind.FLAT:
        return timings, 1.0, ""
    exact = np.load(current_version_dir(folder) / "vectors.npy", mmap_mode="r")
    scores = np.zeros((len(queries), len(exact)), dtype=np.float32)
    for start in range(0, len(exact), 131072):
        scores[:, start : start + 131072] = queries @ np.asarray(exact[start : start + 131072]).T
    truth = [set(t.tolist()) for t in np.argsort(-scores, axis=1)[:, :10]]
    knob = _SWEEP[dense.kind]
    sweep = []
    for value in (8, 16, 32, 64, 128):
        variant = dense.tuned(index.settings.model_copy(update={knob: value}))
        ms = [_timed_ms(partial(variant.search, v, 10, None)) for v in queries]
        sweep.append(
            f"{knob}={value}: recall {_recall(variant, queries, truth):.3f} p95 {_pct(ms, 95)} ms"
        )
    return timings, _recall(dense, queries, truth), "; ".join(sweep)


def _recall(dense: DenseIndex, queries: np.ndarray, truth: list[set[int]]) -> float:
    found = [{r for r, _ in dense.search(v, 10, None)} for v in queries]
    hits = sum(len(f & t) for f, t in zip(found, truth, strict=True))
    return round(hits / (10 * len(queries)), 4)


def main() -> None:
    """Command line: build a synthetic index, or measure one in a fresh process."""
    from guideqa.eval.dataset import load_questions, question_set

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("action", choices=["build", "measure"])
    parser.add_argument("folder", type=Path, nargs="?")
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--base", type=Path, default=Path(".guideqa/index"))
    parser.add_argument("--dense", default="auto")
    args = parser.parse_args()
    settings = IndexSettings(dense=DenseKind(args.dense))
    if args.action == "build":
        embedding = EmbeddingSettings()
        base = open_index(
            settings.model_copy(update={"directory": args.base}),
            embedding,
            ChunkingSettings(),
            create_embedder(embedding),
        )
        out = args.out or Path(f".guideqa/scale-{args.chunks}")
        with RssCurve() as curve:
            timings = build_synthetic(base, args.chunks, out, settings)
        peak = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
        result = {"chunks": args.chunks, **timings, "build_peak_rss_mib": peak}
        print(json.dumps({**result, "build_rss_curve_mib": curve.summary()}))
    else:
        questions = [
            q.question for n in ("clinical", "unseen") for q in load_questions(question_set(n))
        ]
        print(json.dumps(measure(args.folder, questions, settings)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
