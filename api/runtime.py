"""Wiring shared by the CLI and the HTTP app: thread limits, embedders, opened indexes."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

from guideqa.api.settings import Settings
from guideqa.index.backend import IndexBackend, SearchIndex, create_backend
from guideqa.index.builder import IndexWriter
from guideqa.index.embed_run import BatchRunner
from guideqa.ingest.chunking import SectionChunker, model_token_counter
from guideqa.ingest.embedding import create_embedder
from guideqa.qa.conversation import ConversationStore, InMemoryConversationStore


def limit_threads() -> None:
    """One thread per request for faiss and torch: on 2 cores they otherwise fight 4-7x."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import faiss

    faiss.omp_set_num_threads(1)


_M_ARENA_MAX = -8  # glibc mallopt parameter


def limit_malloc_arenas(arenas: int) -> bool:
    """Cap glibc's malloc arenas for a long-running server. Each worker thread otherwise gets an
    arena of its own, and every index version swapped in leaves freed but unreturned memory in
    several of them: a 10-minute soak grew RSS 92% with the default, 3% with 2 arenas
    (eval/README.md). Call before threads start. False where glibc is not the allocator."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        return bool(libc.mallopt(_M_ARENA_MAX, arenas))
    except (OSError, AttributeError):
        logging.getLogger("guideqa.api").info("mallopt unavailable: malloc arenas not capped")
        return False


def open_backend(settings: Settings) -> IndexBackend:
    """The index backend the settings name (local folders or Milvus)."""
    return create_backend(settings.index, settings.embedding, settings.chunking)


def open_searcher(settings: Settings, backend: IndexBackend | None = None) -> SearchIndex:
    """The published index with a warmed-up query embedder."""
    limit_threads()
    embedder = create_embedder(settings.embedding)
    embedder.warm_up()
    return (backend or open_backend(settings)).open(embedder)


def open_conversations(settings: Settings) -> ConversationStore:
    """The conversation store the settings name: in memory, or Redis shared by replicas."""
    server = settings.server
    if server.conversation_store == "memory":
        return InMemoryConversationStore(
            server.max_conversations, server.conversation_idle_seconds, server.max_turns
        )
    from guideqa.qa.conversation_redis import RedisConversationStore

    return RedisConversationStore(
        server.conversation_store,
        server.max_conversations,
        server.conversation_idle_seconds,
        server.max_turns,
    )


def index_writer(settings: Settings, runner: BatchRunner | None = None) -> IndexWriter:
    """A writer whose embedder may use every core (ingest runs alone); with a `runner`
    (Ray's actor pool) the batches are embedded there instead."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    embedder = create_embedder(settings.embedding, for_ingest=True)
    if runner is None:
        embedder.warm_up()
    counter = model_token_counter()
    chunker = SectionChunker(settings.chunking, counter)
    return IndexWriter(
        settings.index, settings.embedding, settings.chunking, embedder, chunker, runner
    )
