"""An answer as Server-Sent Events, in reading order, each sent as soon as it is ready: `start`
once the evidence is selected, `bottom_line`, one `discrepancy` per row of where sources
differ, one `section` per section (for a chat model's prose, once its sentences are
verified), then `notes` (callouts and gaps), `references` and `done` with the whole answer.
Each part carries the references it cites first. `fallback` withdraws everything sent before
it (the generated answer was not shown, and says why); the extractive parts follow. `error`
ends a stream that failed after it started."""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator

from guideqa.qa.models import Answer
from guideqa.qa.streaming import (
    AnswerEvent,
    AnswerFinished,
    AnswerStarted,
    BottomLinePart,
    DiscrepancyPart,
    FallbackPart,
    SectionPart,
)

log = logging.getLogger("guideqa.api")


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def payloads(event: AnswerEvent) -> Iterator[tuple[str, object]]:
    """The (event name, JSON data) pairs of one event, as SSE and `guideqa ask --stream`
    send them."""
    if isinstance(event, AnswerStarted):
        yield "start", event.model_dump(mode="json")
    elif isinstance(event, BottomLinePart):
        yield "bottom_line", event.model_dump(mode="json")
    elif isinstance(event, DiscrepancyPart | SectionPart):
        part = (event.row if isinstance(event, DiscrepancyPart) else event.section).model_dump(
            mode="json"
        )
        references = [c.model_dump(mode="json") for c in event.references]
        yield (
            ("discrepancy" if isinstance(event, DiscrepancyPart) else "section"),
            {
                **part,
                "references": references,
            },
        )
    elif isinstance(event, FallbackPart):
        yield "fallback", event.model_dump(mode="json")
    else:
        whole = event.answer.model_dump(mode="json")
        yield "notes", {"callouts": whole["callouts"], "gaps": whole["gaps"]}
        yield "references", whole["references"]
        yield "done", whole


def _frames(event: AnswerEvent) -> Iterator[str]:
    for name, data in payloads(event):
        yield _event(name, data)


def answer_events(
    first: AnswerEvent,
    rest: Iterator[AnswerEvent],
    on_done: Callable[[Answer], None] = lambda _: None,
) -> Iterator[str]:
    """The SSE frames of an answer as its events come (the first already taken, to start
    the answer before the response); `on_done` sees the whole answer."""
    yield from _frames(first)
    try:
        for event in rest:
            yield from _frames(event)
            if isinstance(event, AnswerFinished):
                on_done(event.answer)
    except Exception as exc:  # the response has started: report the failure as an event
        log.error("the answer stream failed: %s: %s", type(exc).__name__, exc)
        detail = "the answer failed while it was being sent; it has been logged: ask again"
        yield _event("error", {"title": "Internal error", "detail": detail})
    finally:  # the client left, or the stream ended: stop the model's worker promptly
        close = getattr(rest, "close", None)
        if close is not None:
            with contextlib.suppress(ValueError):  # still running in another thread: GC closes it
                close()
