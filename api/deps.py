"""Request-scoped dependencies: settings, the current answer engine, metrics."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from api.metrics import Metrics
from api.settings import Settings
from api.slots import AnswerSlots
from index.hybrid import HybridIndex
from qa.conversation import InMemoryConversationStore
from qa.pipeline import AnswerEngine


class EngineHolder:
    """The engine in service; replaced whole when a new index version is published."""

    def __init__(self, engine: AnswerEngine[HybridIndex]) -> None:
        self._engine = engine
        self._lock = threading.Lock()

    @property
    def engine(self) -> AnswerEngine[HybridIndex]:
        """The current engine (requests keep the one they started with)."""
        return self._engine

    def swap(self, engine: AnswerEngine[HybridIndex]) -> AnswerEngine[HybridIndex]:
        """Install a new engine; returns the old one."""
        with self._lock:
            old, self._engine = self._engine, engine
        return old


@dataclass
class AppState:
    """Everything the routes share, built once by the app factory."""

    settings: Settings
    holder: EngineHolder
    conversations: InMemoryConversationStore
    metrics: Metrics
    answer_slots: AnswerSlots = field(default_factory=lambda: AnswerSlots(2, 64, 15.0))
    index_problem: str | None = None  # why the index on disk cannot be (re)loaded, if it cannot
    reloader: Any = None  # api.reload.IndexReloader, set by the app factory
    writer: Any = None  # index.builder.IndexWriter, created on the first upload
    writer_lock: threading.Lock = field(default_factory=threading.Lock)


def get_state(request: Request) -> AppState:
    """The app's shared state."""
    state: AppState = request.app.state.guideqa
    return state


def get_engine(state: Annotated[AppState, Depends(get_state)]) -> AnswerEngine[HybridIndex]:
    """The engine serving this request."""
    return state.holder.engine


StateDep = Annotated[AppState, Depends(get_state)]
EngineDep = Annotated[AnswerEngine[HybridIndex], Depends(get_engine)]
