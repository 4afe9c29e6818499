"""Structured logs without question text by default, 500s counted, and server-side failures
reported without server paths (issue 12, defect 13)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from guideqa.api.app import create_app
from guideqa.api.settings import ServerSettings, Settings
from guideqa.index.errors import IndexCorruptError
from guideqa.ingest.loaders import load_paths
from tests.api.test_manage import TOKEN, small_settings, write_opioid_2016_corpus
from tests.conftest import make_writer

QUESTION = "Should nonopioid therapies be preferred for chronic pain in patient Jane Roe?"


@pytest.fixture()
def settings(tmp_path: Path, token_counter) -> Settings:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    return settings


def _log_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_logs_are_json_with_request_ids_and_no_question_text(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with TestClient(create_app(settings)) as client:
        answer = client.post("/v1/ask", json={"question": QUESTION})
        assert answer.status_code == 200
    err = capsys.readouterr().err
    lines = _log_lines(err)
    access = [x for x in lines if x["logger"] == "guideqa.access"]
    assert access and access[0]["request_id"] == answer.headers["x-request-id"]
    assert access[0]["route"] == "/v1/ask" and access[0]["status"] == 200
    assert "Jane Roe" not in err and "nonopioid" not in err and TOKEN not in err
    passage = answer.json()["references"][0]["passage"]
    assert passage[:40] not in err


def test_log_questions_true_logs_the_question(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = settings.model_copy(update={"server": ServerSettings(log_questions=True)})
    with TestClient(create_app(settings)) as client:
        client.post("/v1/ask", json={"question": QUESTION})
    logged = [x for x in _log_lines(capsys.readouterr().err) if x.get("question")]
    assert logged and logged[0]["question"] == QUESTION


def test_500s_are_counted_and_index_errors_are_503_without_paths(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        engine = client.app.state.guideqa.qa.engine

        def broken(*_: object) -> None:
            raise RuntimeError("boom at /srv/secret/path")

        monkeypatch.setattr(engine, "prepare", broken)
        failed = client.post("/v1/ask", json={"question": QUESTION})
        assert failed.status_code == 500 and "/srv/secret" not in failed.text

        def corrupt(*_: object) -> None:
            raise IndexCorruptError(f"cannot read {settings.index.directory}/manifest.json")

        monkeypatch.setattr(engine, "prepare", corrupt)
        unavailable = client.post("/v1/ask", json={"question": QUESTION})
        assert unavailable.status_code == 503 and unavailable.headers["retry-after"] == "5"
        assert str(settings.index.directory) not in unavailable.text
        metrics = client.get("/metrics").text
    assert 'guideqa_http_requests_total{method="POST",route="/v1/ask",status="500"} 1.0' in metrics
    assert 'guideqa_http_requests_total{method="POST",route="/v1/ask",status="503"} 1.0' in metrics


def test_a_short_token_is_warned_about_without_being_logged(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    from pydantic import SecretStr

    short = settings.model_copy(update={"api_token": SecretStr("tiny-secret")})
    with TestClient(create_app(short)) as client:
        assert client.post("/v1/documents", headers={"Authorization": "Bearer tiny-secret"})
    err = capsys.readouterr().err
    assert "write endpoints stay disabled" in err and "tiny-secret" not in err


@pytest.fixture(autouse=True)
def _no_leftover_handlers() -> Iterator[None]:
    yield
    import logging

    for name in ("guideqa", "uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers = []
