"""The naive LangChain pipeline: a LangChain FAISS vector store queried through
HuggingFaceEmbeddings (same all-MiniLM-L6-v2 weights), top passages concatenated."""

from __future__ import annotations

import time

import numpy as np

from guideqa.eval.dataset import EvalQuestion
from guideqa.eval.systems import SystemOutput
from guideqa.index.hybrid import HybridIndex
from guideqa.ingest.model_files import model_directory


class LangChainBaseline:
    """Dense retrieval only, no per-kind pools, no sentence selection, no conversation.

    The passage vectors are the index's own (so the baseline does not re-embed the corpus);
    queries go through HuggingFaceEmbeddings on torch, as a LangChain user would set it up.
    """

    name = "langchain-naive"

    def __init__(self, index: HybridIndex, passages: int = 3) -> None:
        import torch
        from langchain_community.vectorstores import FAISS
        from langchain_huggingface import HuggingFaceEmbeddings

        torch.set_num_threads(1)
        embeddings = HuggingFaceEmbeddings(
            model_name=str(model_directory()),
            model_kwargs={"device": "cpu"},
            encode_kwargs={"normalize_embeddings": True},
        )
        rows = list(range(index.manifest.chunks))
        chunks = index.store.chunks(rows)
        vectors = np.load(index.version_dir / "vectors.npy")
        self.store = FAISS.from_embeddings(
            [(c.text, v) for c, v in zip(chunks, vectors.tolist(), strict=True)],
            embeddings,
            metadatas=[{"doc_id": c.doc_id} for c in chunks],
        )
        self.passages = passages

    def answer(self, question: EvalQuestion) -> SystemOutput:
        start = time.perf_counter()
        documents = self.store.similarity_search(question.question, k=20)
        latency = (time.perf_counter() - start) * 1000
        ranked = tuple(dict.fromkeys(str(d.metadata["doc_id"]) for d in documents))
        top = documents[: self.passages]
        return SystemOutput(
            ranked_docs=ranked,
            answer_text="\n\n".join(d.page_content for d in top),
            abstained=False,
            summary=top[0].page_content if top else "",
            statements=tuple(d.page_content for d in top),
            cited_docs=tuple(str(d.metadata["doc_id"]) for d in top),
            latency_ms=latency,
        )
