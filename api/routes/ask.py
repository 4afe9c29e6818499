"""POST /v1/ask and GET /v1/conversations/{id}."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from guideqa.api.deps import AppState, StateDep
from guideqa.api.problems import ApiProblem
from guideqa.api.schemas import AskRequest, ConversationOut, TurnOut, problem_responses
from guideqa.api.streaming import answer_events
from guideqa.qa.models import Answer
from guideqa.qa.render import render_markdown
from guideqa.qa.streaming import final_answer

router = APIRouter(prefix="/v1", tags=["answers"], responses=problem_responses())
log = logging.getLogger("guideqa.api")


def _require_json(request: Request) -> None:
    content_type = request.headers.get("content-type", "")
    if not content_type.split(";")[0].strip().lower() == "application/json":
        raise ApiProblem(
            415,
            "Unsupported media type",
            f"send the question as application/json, not {content_type or 'nothing'}",
        )


@router.post(
    "/ask",
    response_model=Answer,
    dependencies=[Depends(_require_json)],
    responses={
        200: {"content": {"text/markdown": {}, "text/event-stream": {}}},
        **problem_responses(400, 404, 409, 413, 415, 422, 503),
    },
    summary="Answer a clinical question (a follow-up when conversation_id is given)",
)
async def ask(
    body: AskRequest, request: Request, state: StateDep
) -> Answer | PlainTextResponse | StreamingResponse:
    question = body.question.strip()
    limit = state.settings.server.max_question_chars
    if not question:
        raise ApiProblem(422, "Empty question", "the question is empty: type a clinical question")
    if len(question) > limit:
        raise ApiProblem(
            422,
            "Question too long",
            f"the question has {len(question)} characters; the limit is {limit}",
        )
    if state.settings.server.log_questions:
        log.info("question", extra={"question": question})
    kinds = tuple(body.kinds or ())
    events = state.qa.stream(question, body.conversation_id, kinds, body.explain)
    streaming = "text/event-stream" in request.headers.get("accept", "")
    writes_prose = state.qa.engine.composer.name != "extractive"
    answer: Answer | None = None
    async with state.answer_slots.slot():  # CPU-bound: worker threads, a bounded number
        if await request.is_disconnected():  # the client left while waiting: do no work
            raise ApiProblem(499, "Client closed request", "the client disconnected")
        if streaming or writes_prose:
            # understand the question and select the evidence (invalid questions raise here)
            started = await run_in_threadpool(next, events)
        else:  # the extractive answer, whole, in one step (recorded when recording is on)
            answer = await run_in_threadpool(final_answer, events)
    if streaming:  # each part as soon as it is ready (verified, for a chat model)
        return StreamingResponse(
            answer_events(started, events, lambda done: _count(state, done)),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    if answer is None:  # a chat model writes it: waiting on the model holds no slot
        answer = await run_in_threadpool(final_answer, events)
    _count(state, answer)
    if "text/markdown" in request.headers.get("accept", ""):
        return PlainTextResponse(render_markdown(answer), media_type="text/markdown")
    return answer


def _count(state: AppState, answer: Answer) -> None:
    state.metrics.answers.inc()
    if answer.abstained:
        state.metrics.abstentions.inc()


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationOut,
    responses=problem_responses(404),
    summary="The turns of a conversation so far",
)
def conversation(conversation_id: str, state: StateDep) -> ConversationOut:
    found = state.conversations.get(conversation_id)
    return ConversationOut(
        conversation_id=found.conversation_id,
        turns=[
            TurnOut(
                question=t.question,
                interpreted_question=t.interpreted_question,
                summary=t.summary,
                abstained=t.abstained,
            )
            for t in found.turns
        ],
    )
