"""Ingest benchmark: embedding throughput per backend, against LangChain and the CPU ceiling.

Chunks come from the built index (the default corpus, exactly as ingest embeds them). Each
backend embeds the same sample; LangChain's `FAISS.from_documents` with `HuggingFaceEmbeddings`
(same weights) embeds it in the same run. The ceiling is sustained GEMM throughput measured
here, and the model's operations per token say what fraction of it embedding reaches.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np

from guideqa.index.hybrid import HybridIndex
from guideqa.ingest.chunking import index_text
from guideqa.ingest.embedding import create_embedder, onnx_feeds
from guideqa.ingest.model_files import load_tokenizer, model_directory
from guideqa.ingest.settings import EmbeddingBackend, EmbeddingSettings


@dataclass(frozen=True)
class EmbedRun:
    """One backend embedding the sample."""

    backend: str
    chunks: int
    tokens: int
    seconds: float
    chunks_per_s: float
    tokens_per_s: float
    cosine_to_fp32_min: float | None = None


def sample_texts(index: HybridIndex, size: int | None) -> list[str]:
    """Every chunk's index text, or an evenly spaced sample of `size` of them."""
    total = index.manifest.chunks
    rows = (
        list(range(total))
        if not size or size >= total
        else list(np.linspace(0, total - 1, size).astype(int).tolist())
    )
    by_id = {d.doc_id: d for d in index.documents}
    return [index_text(by_id[c.doc_id], c) for c in index.store.chunks(rows)]


def token_count(texts: list[str], max_length: int) -> int:
    """Model tokens the embedder sees (truncated at max_length)."""
    tokenizer = load_tokenizer(max_length)
    return sum(len(e.ids) for e in tokenizer.encode_batch(texts))


def _timed(
    name: str, texts: list[str], tokens: int, embed: Callable[[], np.ndarray]
) -> tuple[EmbedRun, np.ndarray]:
    start = time.perf_counter()
    vectors = embed()
    seconds = time.perf_counter() - start
    run = EmbedRun(
        name,
        len(texts),
        tokens,
        round(seconds, 2),
        round(len(texts) / seconds, 1),
        round(tokens / seconds),
    )
    return run, np.asarray(vectors, dtype=np.float32)


def bench_backends(
    base: EmbeddingSettings, texts: list[str], backends: list[tuple[str, str]]
) -> list[EmbedRun]:
    """Each (backend, precision) embeds the texts with the ingest thread layout."""
    tokens = token_count(texts, base.max_seq_length)
    runs: list[EmbedRun] = []
    reference: np.ndarray | None = None
    for backend, precision in backends:
        settings = base.model_copy(
            update={"backend": EmbeddingBackend(backend), "precision": precision}
        )
        embedder = create_embedder(settings, for_ingest=True)
        embedder.warm_up()
        embedder.embed(texts[:8])
        run, vectors = _timed(
            f"{backend}-{precision}", texts, tokens, partial(embedder.embed, texts)
        )
        if reference is None:
            reference = vectors
        cosine = float(np.min(np.sum(vectors * reference, axis=1)))
        runs.append(EmbedRun(**{**asdict(run), "cosine_to_fp32_min": round(cosine, 4)}))
    return runs


def bench_langchain(texts: list[str], max_length: int, threads: int) -> EmbedRun:
    """LangChain's naive ingest: FAISS.from_documents over HuggingFaceEmbeddings."""
    import torch
    from langchain_community.vectorstores import FAISS
    from langchain_core.documents import Document as LangChainDocument
    from langchain_huggingface import HuggingFaceEmbeddings

    torch.set_num_threads(threads)
    embeddings = HuggingFaceEmbeddings(
        model_name=str(model_directory()),
        model_kwargs={"device": "cpu"},
        encode_kwargs={"normalize_embeddings": True},
    )
    embeddings.embed_documents(texts[:8])
    documents = [LangChainDocument(page_content=t) for t in texts]

    def build() -> np.ndarray:
        store = FAISS.from_documents(documents, embeddings)
        return np.zeros((store.index.ntotal, 1))

    run, _ = _timed("langchain-faiss-from-documents", texts, token_count(texts, max_length), build)
    return run


def profile_onnx(settings: EmbeddingSettings, texts: list[str]) -> dict[str, object]:
    """Where embedding time goes: ONNX Runtime's per-operator profile, tokenising, padding."""
    import onnxruntime as ort

    from guideqa.ingest.onnx_export import ensure_onnx_model

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.enable_profiling = True
    options.profile_file_prefix = str(settings.cache_dir / "ort-profile")
    session = ort.InferenceSession(str(ensure_onnx_model(settings)), options)
    tokenizer = load_tokenizer(settings.max_seq_length)
    start = time.perf_counter()
    encodings = tokenizer.encode_batch(texts)
    tokenise_s = time.perf_counter() - start
    order = np.argsort([len(e.ids) for e in encodings])
    real = padded = 0
    start = time.perf_counter()
    for begin in range(0, len(order), settings.batch_size):
        feeds = onnx_feeds([encodings[i] for i in order[begin : begin + settings.batch_size]])
        session.run(None, feeds)
        mask = feeds["attention_mask"]
        real, padded = real + int(mask.sum()), padded + mask.size
    run_s = time.perf_counter() - start
    return {
        "tokenise_share": round(tokenise_s / (tokenise_s + run_s), 3),
        "padding_share": round(1 - real / padded, 3),
        "mean_tokens": round(real / len(texts), 1),
        "operators_share": _operator_shares(session.end_profiling()),
    }


def _operator_shares(profile_path: str) -> dict[str, float]:
    events = json.loads(Path(profile_path).read_text(encoding="utf-8"))
    by_op: dict[str, float] = {}
    for event in events:
        if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time"):
            op = str(event.get("args", {}).get("op_name", "?"))
            by_op[op] = by_op.get(op, 0.0) + float(event.get("dur", 0))
    total = sum(by_op.values()) or 1.0
    top = sorted(by_op.items(), key=lambda item: -item[1])[:8]
    return {op: round(us / total, 3) for op, us in top}


def gemm_ceiling(threads: int, size: int = 2048, seconds: float = 1.5) -> dict[str, float]:
    """Sustained fp32, bf16 and int8 matrix-multiply throughput (GFLOP/s or GOP/s) here."""
    import torch

    torch.set_num_threads(threads)
    results: dict[str, float] = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16), ("int8", torch.int8)):
        if dtype is torch.int8:
            a = torch.randint(-128, 127, (size, size), dtype=torch.int8)
            b = torch.randint(-128, 127, (size, size), dtype=torch.int8)

            def multiply(a: torch.Tensor = a, b: torch.Tensor = b) -> object:
                return torch._int_mm(a, b)
        else:
            a = torch.randn(size, size, dtype=dtype)
            b = torch.randn(size, size, dtype=dtype)

            def multiply(a: torch.Tensor = a, b: torch.Tensor = b) -> object:
                return a @ b

        multiply()
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            multiply()
            count += 1
        elapsed = time.perf_counter() - start
        results[name] = round(2 * size**3 * count / elapsed / 1e9, 1)
    return results


def flops_per_token(mean_tokens: float) -> float:
    """Multiply-adds x2 per token of all-MiniLM-L6-v2 at a given sequence length."""
    config = json.loads((model_directory() / "config.json").read_text())
    hidden, inner = config["hidden_size"], config["intermediate_size"]
    per_layer = 2 * (4 * hidden * hidden + 2 * hidden * inner + 2 * mean_tokens * hidden)
    return float(config["num_hidden_layers"] * per_layer)
