"""POST /v1/ask with Accept: text/event-stream: the answer's parts as Server-Sent Events in
reading order, for the extractive answer and for prose from a chat model (the loopback
OpenAI-compatible stub), verified before it is sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from guideqa.api.app import create_app
from guideqa.api.settings import Settings
from guideqa.qa.settings import LLMSettings
from tests.api.test_llm import Stub, stub  # noqa: F401 (the stub server fixture)

pytestmark = pytest.mark.integration
QUESTION = (
    "What blood pressure target should I aim for in a 55-year-old with hypertension and stage 3 "
    "chronic kidney disease?"
)
STREAM = {"Accept": "text/event-stream"}


def events(text: str) -> list[tuple[str, Any]]:
    """The (event, data) pairs of an SSE body."""
    found = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def test_the_extractive_answer_streams_in_reading_order(
    discrepancy_index_settings: Settings,
) -> None:
    with TestClient(create_app(discrepancy_index_settings)) as client:
        reply = client.post("/v1/ask", json={"question": QUESTION}, headers=STREAM)
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        found = events(reply.text)
        names = [name for name, _ in found]
        assert names[:3] == ["start", "bottom_line", "discrepancy"]
        assert names[-2:] == ["references", "done"] and "section" in names
        start, whole = found[0][1], found[-1][1]
        assert start["composer"] == "extractive" and start["answer_id"] == whole["answer_id"]
        assert found[1][1]["summary"] == whole["summary"]
        assert [d for n, d in found if n == "section"] == whole["sections"]
        # a problem is still a problem, not a stream
        empty = client.post("/v1/ask", json={"question": "  "}, headers=STREAM)
        assert empty.status_code == 422


def test_prose_from_a_chat_model_streams_verified(
    discrepancy_index_settings: Settings,
    stub: tuple[Stub, str],  # noqa: F811
) -> None:
    state, url = stub
    llm = LLMSettings(
        provider="openai-compatible",
        model="stub-model",
        base_url=url,
        api_key=SecretStr("stub-key-0123"),
        show_failed=True,
    )
    settings = discrepancy_index_settings.model_copy(update={"llm": llm})
    with TestClient(create_app(settings)) as client:
        reply = client.post("/v1/ask", json={"question": QUESTION}, headers=STREAM)
        found = events(reply.text)
    whole = found[-1][1]
    # the stub's prose is about osteoporosis: none of it is supported by these passages
    assert whole["composer"] == "extractive"
    assert whole["composer_note"].startswith("The generated answer was not shown")
    assert found[0][1]["composer_note"] == whole["composer_note"]
    [(path, _, body)] = state.requests
    assert path == "/v1/chat/completions" and "mmHg" in body["messages"][1]["content"]
