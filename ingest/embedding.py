"""Sentence embeddings behind one small interface: ONNX Runtime, torch, or a hashing fake."""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

from guideqa.ingest.model_files import load_tokenizer, model_directory
from guideqa.ingest.settings import EmbeddingBackend, EmbeddingSettings

if TYPE_CHECKING:
    import onnxruntime
    from tokenizers import Tokenizer

# Embedding matrices stay between this module and the index adapters.
Vectors = npt.NDArray[np.float32]
DIMENSION = 384


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors; heavy state is loaded by `warm_up`."""

    dimension: int

    def warm_up(self) -> None:
        """Load the model now rather than on the first request."""
        ...

    def embed(self, texts: list[str], *, for_queries: bool = False) -> Vectors:
        """One row per text, unit length, float32."""
        ...


def _normalise(matrix: npt.NDArray[np.floating]) -> Vectors:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return (matrix / np.maximum(norms, 1e-12)).astype(np.float32)


class HashingEmbedder:
    """Deterministic bag-of-words hashing vectors: a fake with the real interface."""

    def __init__(self, dimension: int = DIMENSION) -> None:
        self.dimension = dimension

    def warm_up(self) -> None:
        """Nothing to load."""

    def embed(self, texts: list[str], *, for_queries: bool = False) -> Vectors:
        matrix = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in re.findall(r"\w+", text.lower()):
                digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
                bucket = int.from_bytes(digest[:4], "little") % self.dimension
                matrix[row, bucket] += 1.0 if digest[4] % 2 else -1.0
        return _normalise(matrix + 1e-6)


def onnx_feeds(batch: list[Any]) -> dict[str, npt.NDArray[np.int64]]:
    """The model inputs for a batch of tokenizer encodings, padded to the longest one."""
    width = max(len(e.ids) for e in batch)
    ids = np.zeros((len(batch), width), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, enc in enumerate(batch):
        ids[row, : len(enc.ids)] = enc.ids
        mask[row, : len(enc.ids)] = 1
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


class OnnxEmbedder:
    """all-MiniLM-L6-v2 run by ONNX Runtime: mean pooling and normalisation as in the model."""

    def __init__(self, settings: EmbeddingSettings, threads: int) -> None:
        self.settings = settings
        self.threads = threads
        self.dimension = DIMENSION
        self._session: onnxruntime.InferenceSession | None = None
        self._tokenizer: Tokenizer | None = None

    def warm_up(self) -> None:
        import onnxruntime as ort

        from guideqa.ingest.onnx_export import ensure_onnx_model

        options = ort.SessionOptions()
        # One batch per core: run() releases the GIL, and whole batches on parallel threads
        # beat splitting every operator across cores (78.6 vs 72.4 chunks/s on 2 cores).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        model_path = ensure_onnx_model(self.settings)
        self._session = ort.InferenceSession(
            str(model_path), options, providers=[self.settings.onnx_provider]
        )
        self._tokenizer = load_tokenizer(self.settings.max_seq_length)

    def embed(self, texts: list[str], *, for_queries: bool = False) -> Vectors:
        if self._session is None or self._tokenizer is None:
            self.warm_up()
        assert self._session is not None and self._tokenizer is not None
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings])
        size = self.settings.batch_size
        batches = [order[start : start + size] for start in range(0, len(order), size)]

        def run(rows: npt.NDArray[np.intp]) -> Vectors:
            return self._run([encodings[i] for i in rows])

        if self.threads > 1 and len(batches) > 1:
            with ThreadPoolExecutor(self.threads) as pool:
                results = list(pool.map(run, batches))
        else:
            results = [run(rows) for rows in batches]
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for rows, vectors in zip(batches, results, strict=True):
            out[rows] = vectors
        return out

    def _run(self, batch: list[Any]) -> Vectors:
        assert self._session is not None
        feeds = onnx_feeds(batch)
        mask = feeds["attention_mask"]
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)


class TorchEmbedder:
    """The same model through sentence-transformers on torch (slower for queries here).

    Precision bf16 casts the weights to bfloat16: oneDNN then runs the matrix products on AMX
    where the CPU has it; fp32 (and int8, which torch does not quantise here) run fp32."""

    def __init__(self, settings: EmbeddingSettings, threads: int) -> None:
        self.settings = settings
        self.threads = threads
        self.dimension = DIMENSION
        self._model: Any = None

    def warm_up(self) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(self.threads)
        model = SentenceTransformer(str(model_directory()), device="cpu")
        model.max_seq_length = self.settings.max_seq_length
        if self.settings.precision == "bf16":
            model = model.to(torch.bfloat16)
        self._model = model

    def embed(self, texts: list[str], *, for_queries: bool = False) -> Vectors:
        if self._model is None:
            self.warm_up()
        assert self._model is not None
        import torch

        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        with torch.inference_mode():
            vectors = self._model.encode(
                texts,
                batch_size=self.settings.batch_size,
                normalize_embeddings=True,
                show_progress_bar=False,
                convert_to_tensor=True,
            )
        # normalised in bf16 when the model runs bf16: normalise again in float32
        return _normalise(vectors.float().numpy().reshape(len(texts), self.dimension))


def create_embedder(settings: EmbeddingSettings, *, for_ingest: bool = False) -> Embedder:
    """The embedder the settings name; ingest may use more threads than request handling."""
    threads = settings.ingest_threads if for_ingest else settings.query_threads
    if settings.backend is EmbeddingBackend.HASHING:
        return HashingEmbedder()
    if settings.backend is EmbeddingBackend.TORCH:
        return TorchEmbedder(settings, threads)
    return OnnxEmbedder(settings, threads)
