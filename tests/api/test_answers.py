"""Answer records over HTTP and the CLI: record, permalink, replay (and its diff after the index
changes), export, feedback into draft evaluation questions, deletion, and who may read."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from pydantic import SecretStr

from guideqa.api.app import create_app
from guideqa.api.cli import main
from guideqa.api.settings import RecordSettings, Settings
from guideqa.eval.dataset import load_questions
from guideqa.ingest.loaders import load_paths
from tests.api.test_manage import (
    AUTH,
    OPIOID_QUESTION,
    _upload_2022,
    small_settings,
    write_opioid_2016_corpus,
)
from tests.conftest import make_writer

READ_TOKEN = "read-token-for-records-0123"
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


def recording_settings(tmp_path: Path) -> Settings:
    records = RecordSettings(
        enabled=True, path=tmp_path / "answers.sqlite", read_token=SecretStr(READ_TOKEN)
    )
    return small_settings(tmp_path).model_copy(update={"records": records})


@pytest.fixture()
def world(
    tmp_path: Path, token_counter, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[TestClient, Settings]]:  # type: ignore[no-untyped-def]
    settings = recording_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    # the CLI reads the same settings from the environment
    monkeypatch.setenv("GUIDEQA_INDEX_DIR", str(settings.index.directory))
    monkeypatch.setenv("GUIDEQA_EMBEDDING__BACKEND", "hashing")
    monkeypatch.setenv("GUIDEQA_QA__MIN_PASSAGE_SIMILARITY", "0")
    monkeypatch.setenv("GUIDEQA_QA__MIN_RELEVANCE", "0.2")
    monkeypatch.setenv("GUIDEQA_RECORDS__ENABLED", "true")
    monkeypatch.setenv("GUIDEQA_RECORDS__PATH", str(settings.records.path))
    with TestClient(create_app(settings)) as client:
        yield client, settings


def _ask(client: TestClient, question: str = OPIOID_QUESTION) -> dict[str, object]:
    response = client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_record_permalink_replay_and_diff_after_the_index_changes(
    world: tuple[TestClient, Settings],
) -> None:
    client, _ = world
    assert client.get("/readyz").json()["recording"] is True
    answer = _ask(client)
    answer_id = str(answer["answer_id"])
    assert len(answer_id) >= 20

    record = client.get(f"/v1/answers/{answer_id}", headers=READ)
    assert record.status_code == 200, record.text
    body = record.json()
    assert body["index_version"] == "v000001" and body["answer"]["summary"] == answer["summary"]
    assert {p["chunk_id"] for p in body["passages"]} == {
        str(r["chunk_id"])
        for r in answer["references"]  # type: ignore[union-attr]
    }
    page = client.get(f"/a/{answer_id}")
    assert page.status_code == 200 and 'data-page="record"' in page.text

    same = client.post(f"/v1/answers/{answer_id}/replay", headers=READ).json()
    assert same["diff"]["identical"] and same["recorded_version_available"]

    assert _upload_2022(client).status_code == 201  # CDC 2022 supersedes the 2016 guideline
    replayed = client.post(f"/v1/answers/{answer_id}/replay", headers=READ).json()
    assert replayed["replayed_version"] == "v000002" and not replayed["exact"]
    diff = replayed["diff"]
    assert not diff["identical"]
    assert any(r["doc_id"] == "cdc-opioid-prescribing-2022" for r in diff["references_added"])
    assert any(r["doc_id"] == "ngc-10953" for r in diff["references_removed"])

    exact = client.post(f"/v1/answers/{answer_id}/replay?exact=true", headers=READ).json()
    assert exact["exact"] and exact["replayed_version"] == "v000001"
    assert exact["diff"]["identical"]  # byte for byte, on the version it was given from


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        (None, 401),
        ({"Authorization": "Bearer not-the-token-at-all"}, 401),
        (READ, 200),
        (AUTH, 200),
    ],
)
def test_reading_a_record_needs_a_token(
    world: tuple[TestClient, Settings], headers: dict[str, str] | None, status: int
) -> None:
    client, _ = world
    answer_id = _ask(client)["answer_id"]
    response = client.get(f"/v1/answers/{answer_id}", headers=headers)
    assert response.status_code == status
    if status != 200:
        assert "summary" not in response.text  # nothing of the answer leaks


def test_feedback_export_deletion(world: tuple[TestClient, Settings], tmp_path: Path) -> None:
    client, _ = world
    answer = _ask(client)
    answer_id = answer["answer_id"]
    statements = sum(len(s["statements"]) for s in answer["sections"])  # type: ignore[union-attr]
    sent = client.post(
        f"/v1/answers/{answer_id}/feedback",
        json={"helpful": False, "statement": 0, "problem": "wrong", "comment": "outdated dose"},
    )
    assert sent.status_code == 201, sent.text
    bad = client.post(f"/v1/answers/{answer_id}/feedback", json={"statement": statements})
    assert bad.status_code == 422 and "does not exist" in bad.json()["detail"]
    unknown = client.post("/v1/answers/AAAAAAAAAAAAAAAAAAAAAA/feedback", json={"helpful": True})
    assert unknown.status_code == 404
    assert (
        client.get(f"/v1/answers/{answer_id}", headers=READ).json()["feedback"][0]["comment"]
        == "outdated dose"
    )

    runner = CliRunner()
    drafts = tmp_path / "eval-candidates.yaml"
    result = runner.invoke(main, ["feedback", "export", "--to", str(drafts)])
    assert result.exit_code == 0, result.output
    [question] = load_questions(drafts)  # valid in the clinical question format
    assert question.question == answer["interpreted_question"] and "draft" in question.tags
    assert "outdated dose" in drafts.read_text() and "statement 0" in drafts.read_text()

    lines = runner.invoke(main, ["answers", "export", "--format", "jsonl"]).stdout.splitlines()
    assert [json.loads(line)["answer_id"] for line in lines] == [answer_id]
    table = runner.invoke(main, ["answers", "export", "--format", "csv"]).stdout
    [row] = list(csv.DictReader(io.StringIO(table)))
    assert row["answer_id"] == answer_id and row["not_helpful"] == "1"
    replay = runner.invoke(main, ["replay", str(answer_id), "--json"])
    assert replay.exit_code == 0 and json.loads(replay.stdout)["diff"]["identical"]

    assert client.delete(f"/v1/answers/{answer_id}", headers=READ).status_code == 401  # read only
    assert client.delete(f"/v1/answers/{answer_id}", headers=AUTH).status_code == 204
    assert client.get(f"/v1/answers/{answer_id}", headers=READ).status_code == 404
    _ask(client)
    assert client.request("DELETE", "/v1/answers?all=true", headers=AUTH).json() == {"deleted": 1}


def test_with_recording_off_nothing_is_kept(tmp_path: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    with TestClient(create_app(settings)) as client:
        answer_id = _ask(client)["answer_id"]
        response = client.get(f"/v1/answers/{answer_id}", headers=AUTH)
        assert response.status_code == 404 and "recording is off" in response.json()["detail"]
        assert client.app.state.guideqa.qa.archive._store is None  # no file was opened
