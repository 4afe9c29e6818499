"""The FastAPI application factory: settings in, app out; heavy things load here, once."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.deps import AppState, EngineHolder
from api.guards import Guards
from api.logs import configure_logging
from api.metrics import Metrics
from api.problems import install_problem_handlers
from api.reload import IndexReloader
from api.routes import ask, documents, health, manage
from api.runtime import open_searcher
from api.settings import Settings
from api.slots import AnswerSlots
from index.hybrid import HybridIndex
from qa.conversation import InMemoryConversationStore
from qa.pipeline import AnswerEngine

WEB = Path(__file__).parent / "web"
log = logging.getLogger("guideqa.api")


def build_engine(
    settings: Settings, conversations: InMemoryConversationStore
) -> AnswerEngine[HybridIndex]:
    """An engine over the published index with a warmed-up embedder."""
    return AnswerEngine(open_searcher(settings), settings.qa, conversations)


def create_app(settings: Settings, engine: AnswerEngine[HybridIndex] | None = None) -> FastAPI:
    """The GuideQA HTTP service. Pass an engine to serve a prepared index (tests)."""
    conversations = (
        engine.conversations
        if engine and isinstance(engine.conversations, InMemoryConversationStore)
        else InMemoryConversationStore(
            settings.server.max_conversations,
            settings.server.conversation_idle_seconds,
            settings.server.max_turns,
        )
    )
    server = settings.server
    configure_logging(server.log_level)
    engine = engine or build_engine(settings, conversations)
    metrics = Metrics()
    metrics.set_index_version(engine.index.version)
    state = AppState(
        settings=settings,
        holder=EngineHolder(engine),
        conversations=conversations,
        metrics=metrics,
        answer_slots=AnswerSlots(
            server.max_concurrent_answers, server.max_queued_answers, server.queue_timeout_seconds
        ),
    )
    state.reloader = IndexReloader(state)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.reloader.start()  # serve newly published index versions without a restart
        yield
        state.reloader.stop()

    app = FastAPI(
        title="GuideQA",
        version="0.1.0",
        lifespan=lifespan,
        description="Clinical evidence answers built only from indexed guidelines, FDA drug "
        "labels and research abstracts. Every statement cites its passage.",
    )
    app.state.guideqa = state
    install_problem_handlers(app)
    metrics.install(app)
    if settings.server.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.server.cors_origins),
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    for router in (ask.router, manage.router, documents.router, health.router):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")
    if settings.api_token is not None and settings.write_token() is None:
        log.warning(
            "GUIDEQA_API_TOKEN is shorter than %d characters: write endpoints stay disabled",
            server.min_token_length,
        )
    # outermost: ids, headers, rate limits, early auth and body limits before any body is read
    app.add_middleware(Guards, server=server, token=settings.write_token())

    @app.get("/", include_in_schema=False)
    def index_page() -> FileResponse:
        return FileResponse(WEB / "index.html")

    return app
