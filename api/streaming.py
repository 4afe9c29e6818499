"""An answer as Server-Sent Events, in reading order: the start, the bottom line, where
sources differ, each section, callouts and gaps, the references, then the whole answer."""

from __future__ import annotations

import json
from collections.abc import Iterator

from guideqa.qa.models import Answer


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


def answer_events(answer: Answer) -> Iterator[str]:
    """The SSE frames of one answer; `done` carries the whole Answer JSON."""
    whole = answer.model_dump(mode="json")
    yield _event(
        "start",
        {
            key: whole[key]
            for key in (
                "answer_id",
                "question",
                "interpreted_question",
                "conversation_id",
                "index_version",
                "composer",
                "composer_note",
                "abstained",
            )
        },
    )
    yield _event(
        "bottom_line",
        {"summary": whole["summary"], "summary_citations": whole["summary_citations"]},
    )
    for row in whole["discrepancies"]:
        yield _event("discrepancy", row)
    for section in whole["sections"]:
        yield _event("section", section)
    yield _event("notes", {"callouts": whole["callouts"], "gaps": whole["gaps"]})
    yield _event("references", whole["references"])
    yield _event("done", whole)
