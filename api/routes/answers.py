"""Answer records: read, replay, delete, and feedback; the read-only permalink page.

Reading or replaying a record needs the read token or the API token (a permalink alone shows
nothing); deleting records needs the API token. Feedback needs only the answer id, which only
the person who got the answer has (128 random bits), so that clinicians can report without a
token."""

from __future__ import annotations

import datetime as dt
from pathlib import Path as FilePath
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from guideqa.api.deps import StateDep
from guideqa.api.guards import check_bearer
from guideqa.api.problems import ApiProblem
from guideqa.api.routes.manage import Authorized
from guideqa.api.schemas import problem_responses
from guideqa.qa.records import AnswerRecord, Feedback
from guideqa.qa.replay import ReplayResult

router = APIRouter(prefix="/v1/answers", tags=["answer records"], responses=problem_responses())
page = APIRouter()
WEB = FilePath(__file__).parent.parent / "web"

AnswerId = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$", description="the answer's answer_id")
]


def require_reader(state: StateDep, authorization: Annotated[str | None, Header()] = None) -> None:
    """The read token or the API token, as a bearer token."""
    tokens = state.settings.read_tokens()
    if not tokens:
        raise ApiProblem(
            403,
            "Records unreadable",
            "set GUIDEQA_RECORDS__READ_TOKEN or GUIDEQA_API_TOKEN (16 characters or more) on "
            "the server to read answer records",
        )
    failures = [check_bearer(authorization, token) for token in tokens]
    if all(failure is not None for failure in failures):
        status, detail = next(f for f in failures if f is not None)
        raise ApiProblem(status, "Unauthorized", detail)


Reader = Depends(require_reader)


class FeedbackRequest(BaseModel):
    """Whether the answer helped, which statement was wrong or what was missing, and why."""

    model_config = ConfigDict(extra="forbid")

    helpful: bool | None = None
    statement: int | None = Field(
        default=None, ge=0, description="0-based position of the statement in reading order"
    )
    problem: Literal["wrong", "missing", "outdated", "other"] | None = None
    comment: str = Field(default="", max_length=2000)


class Deleted(BaseModel):
    """How many records were deleted."""

    deleted: int


@router.get(
    "/{answer_id}",
    response_model=AnswerRecord,
    dependencies=[Reader],
    responses=problem_responses(401, 403, 404, 422),
    summary="A recorded answer with its index version, passages and feedback",
)
def get_record(answer_id: AnswerId, state: StateDep) -> AnswerRecord:
    return state.qa.archive.get(answer_id)


@router.post(
    "/{answer_id}/replay",
    response_model=ReplayResult,
    dependencies=[Reader],
    responses=problem_responses(401, 403, 404, 422, 503),
    summary="Ask the recorded question again; diff the answers",
)
async def replay(
    answer_id: AnswerId,
    state: StateDep,
    exact: Annotated[bool, Query(description="on the recorded index version, if kept")] = False,
) -> ReplayResult:
    async with state.answer_slots.slot():
        return await run_in_threadpool(state.qa.replay, answer_id, exact)


@router.post(
    "/{answer_id}/feedback",
    response_model=Feedback,
    status_code=201,
    responses=problem_responses(400, 404, 413, 422),
    summary="Report whether an answer helped, or what in it was wrong or missing",
)
def feedback(answer_id: AnswerId, body: FeedbackRequest, state: StateDep) -> Feedback:
    try:
        return state.qa.archive.feedback(
            answer_id, body.helpful, body.statement, body.problem, body.comment
        )
    except ValueError as exc:
        raise ApiProblem(422, "No such statement", str(exc)) from exc


@router.delete(
    "/{answer_id}",
    status_code=204,
    dependencies=[Authorized],
    responses=problem_responses(401, 403, 404, 422),
    summary="Delete a recorded answer and its feedback",
)
def delete_record(answer_id: AnswerId, state: StateDep) -> Response:
    if not state.qa.archive.delete(answer_id):
        raise ApiProblem(404, "Unknown answer", f"no answer record {answer_id!r}")
    return Response(status_code=204)


@router.delete(
    "",
    response_model=Deleted,
    dependencies=[Authorized],
    responses=problem_responses(401, 403, 404, 422),
    summary="Delete every recorded answer older than a date (all of them with all=true)",
)
def purge(
    state: StateDep,
    before: Annotated[
        dt.date | None, Query(description="delete records from before this day")
    ] = None,
    everything: Annotated[bool, Query(alias="all", description="delete every record")] = False,
) -> Deleted:
    if before is None and not everything:
        raise ApiProblem(422, "Nothing selected", "give before=YYYY-MM-DD, or all=true")
    cutoff = None if everything else dt.datetime.combine(before, dt.time(), dt.UTC)  # type: ignore[arg-type]
    return Deleted(deleted=state.qa.archive.purge(cutoff))


@page.get("/a/{answer_id}", include_in_schema=False)
def permalink_page(answer_id: AnswerId) -> FileResponse:
    """The read-only page of a recorded answer (it asks for the read token)."""
    return FileResponse(WEB / "answer.html")
