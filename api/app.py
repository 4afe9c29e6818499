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

from guideqa import __version__
from guideqa.api.deps import AppState
from guideqa.api.guards import Guards
from guideqa.api.library import GuideQA
from guideqa.api.logs import configure_logging
from guideqa.api.metrics import Metrics
from guideqa.api.problems import install_problem_handlers
from guideqa.api.reload import IndexReloader
from guideqa.api.routes import answers, ask, documents, health, manage
from guideqa.api.settings import Settings
from guideqa.api.slots import AnswerSlots
from guideqa.index.backend import SearchIndex
from guideqa.qa.pipeline import AnswerEngine

WEB = Path(__file__).parent / "web"
log = logging.getLogger("guideqa.api")


def create_app(
    settings: Settings,
    engine: AnswerEngine[SearchIndex] | None = None,
    qa: GuideQA | None = None,
) -> FastAPI:
    """The GuideQA HTTP service over the `qa` facade (built from the settings if not given).
    Pass an engine to serve a prepared index (tests)."""
    server = settings.server
    configure_logging(server.log_level)
    if qa is None:
        # uploads wait for another writer (a CLI ingest) instead of failing at once
        index = settings.index.model_copy(update={"lock_timeout_s": server.write_wait_seconds})
        qa = GuideQA(settings.model_copy(update={"index": index}), engine)
    qa.engine  # noqa: B018  (open the index and warm the model before the first request)
    conversations = qa.conversations
    metrics = Metrics()
    metrics.set_index_version(qa.version)
    state = AppState(
        settings=settings,
        qa=qa,
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
        version=__version__,
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
    for router in (
        ask.router,
        answers.router,
        answers.page,
        manage.router,
        documents.router,
        health.router,
    ):
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
