"""One error shape for every failure: RFC 9457 problem details, never a stack trace."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from guideqa.index.errors import (
    BackendUnavailableError,
    IndexBusyError,
    IndexCorruptError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    StagingMismatchError,
)
from guideqa.ingest.errors import GuideQAError, IngestError, ModelError
from guideqa.qa.conversation import ConversationFullError, ConversationNotFoundError
from guideqa.qa.conversation_redis import ConversationStoreUnavailableError
from guideqa.qa.pipeline import EmptyQuestionError, InvalidQuestionError
from guideqa.qa.records import RecordingOffError, RecordNotFoundError
from guideqa.qa.records_redis import RecordStoreUnavailableError

log = logging.getLogger("guideqa.api")
PROBLEM_JSON = "application/problem+json"
MALFORMED_BODY = "the request body is not valid UTF-8 JSON: send a JSON object"


class ApiProblem(Exception):
    """Raised by routes for a 4xx/503 answer with an actionable message."""

    def __init__(
        self, status: int, title: str, detail: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.headers = headers or {}


def problem(
    request: Request, status: int, title: str, detail: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """A problem-details response for this request."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


_DOMAIN_STATUS: tuple[tuple[type[GuideQAError], int, str], ...] = (
    (ConversationNotFoundError, 404, "Unknown conversation"),
    (RecordNotFoundError, 404, "Unknown answer"),
    (RecordingOffError, 404, "Answer recording is off"),
    (ConversationFullError, 409, "Conversation full"),
    (EmptyQuestionError, 422, "Empty question"),
    (InvalidQuestionError, 422, "Invalid question"),
    (IndexBusyError, 409, "Index busy"),
    (StagingMismatchError, 409, "Staging index out of date"),
    (IngestError, 422, "Document could not be ingested"),
)
# Server-side failures: the detail never carries server paths (they are logged instead).
_SERVER_SIDE: tuple[tuple[type[GuideQAError], str, str], ...] = (
    (IndexNotFoundError, "No index loaded", "no index is published; build one and retry"),
    (IndexCorruptError, "Index unavailable", "the index could not be read; try again shortly"),
    (IndexMismatchError, "Index unavailable", "the index was built with other settings"),
    (ModelError, "Model unavailable", "the embedding model could not be run"),
    (BackendUnavailableError, "Index unavailable", "the index backend (Milvus) is unreachable"),
    (
        RecordStoreUnavailableError,
        "Answer records unavailable",
        "the answer-record store (Redis) is unreachable; retry shortly",
    ),
    (
        ConversationStoreUnavailableError,
        "Conversations unavailable",
        "the conversation store (Redis) is unreachable; retry, or ask without a conversation id",
    ),
    (
        IndexWriteError,
        "Index not written",
        "the new index version could not be written (disk full?); the served version is unchanged",
    ),
)


def _validation_detail(exc: RequestValidationError) -> tuple[int, str, str]:
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        return 400, "Malformed JSON", MALFORMED_BODY
    parts = []
    for error in errors:
        where = ".".join(str(p) for p in error.get("loc", ()) if p != "body")
        parts.append(f"{where or 'body'}: {error.get('msg')}")
    return 422, "Invalid request", "; ".join(parts)


def install_problem_handlers(app: FastAPI) -> None:
    """Translate every error into problem details at the edge."""

    @app.exception_handler(ApiProblem)
    async def _api(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem(request, exc.status, exc.title, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(request, *_validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            detail = MALFORMED_BODY
        return problem(request, exc.status_code, _reason(exc.status_code), detail)

    @app.exception_handler(GuideQAError)
    async def _domain(request: Request, exc: GuideQAError) -> JSONResponse:
        for kind, status, title in _DOMAIN_STATUS:
            if isinstance(exc, kind):
                return problem(request, status, title, str(exc))
        for kind, title, detail in _SERVER_SIDE:
            if isinstance(exc, kind):
                log.error("%s on %s: %s", type(exc).__name__, request.url.path, exc)
                return problem(request, 503, title, detail, {"retry-after": "5"})
        log.error("unexpected %s on %s: %s", type(exc).__name__, request.url.path, exc)
        return problem(request, 500, "Internal error", "the request failed; it has been logged")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error on %s: %s: %s", request.url.path, type(exc).__name__, exc)
        return problem(
            request,
            500,
            "Internal error",
            "the server failed to handle this request; it has been logged",
        )


def _reason(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
