"""Request-scoped dependencies: settings, the current answer engine, metrics."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from guideqa.api.library import GuideQA
from guideqa.api.metrics import Metrics
from guideqa.api.settings import Settings
from guideqa.api.slots import AnswerSlots
from guideqa.index.backend import SearchIndex
from guideqa.qa.conversation import ConversationStore
from guideqa.qa.pipeline import AnswerEngine


@dataclass
class AppState:
    """Everything the routes share, built once by the app factory."""

    settings: Settings
    qa: GuideQA
    conversations: ConversationStore
    metrics: Metrics
    answer_slots: AnswerSlots = field(default_factory=lambda: AnswerSlots(2, 64, 15.0))
    index_problem: str | None = None  # why the index on disk cannot be (re)loaded, if it cannot
    reloader: Any = None  # api.reload.IndexReloader, set by the app factory


def get_state(request: Request) -> AppState:
    """The app's shared state."""
    state: AppState = request.app.state.guideqa
    return state


def get_engine(state: Annotated[AppState, Depends(get_state)]) -> AnswerEngine[SearchIndex]:
    """The engine serving this request."""
    return state.qa.engine


StateDep = Annotated[AppState, Depends(get_state)]
EngineDep = Annotated[AnswerEngine[SearchIndex], Depends(get_engine)]
