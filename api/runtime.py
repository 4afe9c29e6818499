"""Wiring shared by the CLI and the HTTP app: thread limits, embedders, opened indexes."""

from __future__ import annotations

import os

from api.settings import Settings
from index.builder import IndexWriter
from index.hybrid import HybridIndex, open_index
from ingest.chunking import SectionChunker, model_token_counter
from ingest.embedding import create_embedder
from qa.conversation import ConversationStore
from qa.pipeline import AnswerEngine


def limit_threads() -> None:
    """One thread per request for faiss and torch: on 2 cores they otherwise fight 4-7x."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import faiss

    faiss.omp_set_num_threads(1)


def open_searcher(settings: Settings) -> HybridIndex:
    """The published index with a warmed-up query embedder."""
    limit_threads()
    embedder = create_embedder(settings.embedding)
    embedder.warm_up()
    return open_index(settings.index, settings.embedding, settings.chunking, embedder)


def index_writer(settings: Settings) -> IndexWriter:
    """A writer whose embedder may use every core (ingest runs alone)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = create_embedder(settings.embedding, for_ingest=True)
    embedder.warm_up()
    counter = model_token_counter()
    chunker = SectionChunker(settings.chunking, counter)
    return IndexWriter(settings.index, settings.embedding, settings.chunking, embedder, chunker)


def answer_engine(
    settings: Settings, conversations: ConversationStore | None = None
) -> AnswerEngine[HybridIndex]:
    """An answer engine over the published index."""
    return AnswerEngine(open_searcher(settings), settings.qa, conversations)
