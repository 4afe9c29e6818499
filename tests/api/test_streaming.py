"""POST /v1/ask with Accept: text/event-stream: the answer's parts as Server-Sent Events in
reading order, for the extractive answer and for prose from a chat model (the loopback
OpenAI-compatible stub), verified before it is sent."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from guideqa.api.app import create_app
from guideqa.api.settings import RecordSettings, Settings
from guideqa.qa.settings import LLMSettings
from tests.api.chat_stub import Stub

pytestmark = pytest.mark.integration
QUESTION = (
    "What blood pressure target should I aim for in a 55-year-old with hypertension and stage 3 "
    "chronic kidney disease?"
)
STREAM = {"Accept": "text/event-stream"}
READ_TOKEN = "stream-read-token-0123456789"


def events(text: str) -> list[tuple[str, Any]]:
    """The (event, data) pairs of an SSE body."""
    found = []
    for frame in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in frame.splitlines())
        found.append((lines["event"], json.loads(lines["data"])))
    return found


def _refs(name: str, data: Any) -> list[dict[str, Any]]:
    if name == "references":
        return list(data)
    return list(data.get("references", [])) if isinstance(data, dict) else []


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
        sections = [d for n, d in found if n == "section"]
        assert [{k: v for k, v in d.items() if k != "references"} for d in sections] == whole[
            "sections"
        ]
        # each reference is sent once, with the first part that cites it
        sent = [r["n"] for n, d in found if n not in ("done", "references") for r in _refs(n, d)]
        assert sorted(sent) == sorted(set(sent))
        assert set(sent) <= {r["n"] for r in whole["references"]} and sent
        # a problem is still a problem, not a stream
        empty = client.post("/v1/ask", json={"question": "  "}, headers=STREAM)
        assert empty.status_code == 422


def test_prose_from_a_chat_model_streams_verified(
    discrepancy_index_settings: Settings,
    stub: tuple[Stub, str],
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
    names = [name for name, _ in found]
    assert names[0] == "start" and found[0][1]["composer"] == "generative"
    # nothing generated was sent before the fallback: the first part after it is extractive
    assert names[1] == "fallback" and found[1][1]["composer_note"] == whole["composer_note"]
    assert found[2][1]["summary"] == whole["summary"]
    [(path, _, body)] = state.requests
    assert path == "/v1/chat/completions" and "mmHg" in body["messages"][1]["content"]


def test_verified_prose_streams_from_the_models_streamed_reply(
    discrepancy_index_settings: Settings,
    stub: tuple[Stub, str],
    tmp_path: Path,
) -> None:
    state, url = stub
    state.mode = "echo"  # the stub writes from the first sentences of the passages it is sent
    llm = LLMSettings(
        provider="openai-compatible", model="stub-model", base_url=url, api_key=SecretStr("k")
    )
    records = RecordSettings(
        enabled=True, path=tmp_path / "answers.sqlite", read_token=SecretStr(READ_TOKEN)
    )
    settings = discrepancy_index_settings.model_copy(update={"llm": llm, "records": records})
    with TestClient(create_app(settings)) as client:
        reply = client.post("/v1/ask", json={"question": QUESTION}, headers=STREAM)
        found = events(reply.text)
        read = {"Authorization": f"Bearer {READ_TOKEN}"}
        record = client.get(f"/v1/answers/{found[-1][1]['answer_id']}", headers=read)
    [(_, _, body)] = state.requests
    assert body["stream"] is True  # the real client asked the model to stream
    names = [name for name, _ in found]
    assert names[:3] == ["start", "bottom_line", "discrepancy"] and "fallback" not in names
    whole = found[-1][1]
    assert whole["composer"] == "generative" and whole["composer_note"] is None
    # the streamed parts are the whole answer's, numbers and all
    assert found[1][1]["summary"] == whole["summary"]
    rows = [
        {k: v for k, v in d.items() if k != "references"} for n, d in found if n == "discrepancy"
    ]
    assert rows == whole["discrepancies"]
    assert whole["sections"] and all(s["statements"] for s in whole["sections"])
    for section in whole["sections"]:
        for statement in section["statements"]:
            span = statement["support"]
            passage = whole["references"][span["n"] - 1]["passage"]
            assert (
                statement["verified"] and passage[span["start"] : span["end"]] == statement["quote"]
            )
    # a streamed answer is recorded like any other, as it was sent
    assert record.status_code == 200
    assert record.json()["answer"]["summary"] == whole["summary"]


def test_a_model_that_stops_mid_stream_is_withdrawn_at_the_timeout(
    discrepancy_index_settings: Settings,
    stub: tuple[Stub, str],
) -> None:
    state, url = stub
    state.mode = "echo"
    state.gate = threading.Event()  # never opened: the stub stops after the bottom line
    llm = LLMSettings(
        provider="openai-compatible",
        model="stub-model",
        base_url=url,
        api_key=SecretStr("k"),
        timeout_seconds=1.0,
    )
    settings = discrepancy_index_settings.model_copy(update={"llm": llm})
    with TestClient(create_app(settings)) as client:
        reply = client.post("/v1/ask", json={"question": QUESTION}, headers=STREAM)
        found = events(reply.text)
    names = [name for name, _ in found]
    # the verified bottom line went out, then the fallback withdrew it at the deadline
    assert names[:2] == ["start", "bottom_line"]
    fallback = names.index("fallback")
    assert "the reply did not finish within 1 s" in found[fallback][1]["composer_note"]
    whole = found[-1][1]
    assert (
        whole["composer"] == "extractive" and found[fallback + 1][1]["summary"] == whole["summary"]
    )
