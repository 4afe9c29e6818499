"""Two `guideqa serve` replicas on one index and one Redis: a follow-up asked on replica B
continues the conversation started on replica A."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from guideqa.ingest.loaders import load_paths
from tests.api.test_manage import small_settings, write_opioid_2016_corpus
from tests.conftest import free_port, make_writer

READ_TOKEN = "replica-read-token-0123456789"


def _start(index_dir: Path, conversations: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "GUIDEQA_INDEX_DIR": str(index_dir),
        "GUIDEQA_EMBEDDING__BACKEND": "hashing",
        "GUIDEQA_QA__MIN_PASSAGE_SIMILARITY": "0",
        "GUIDEQA_QA__MIN_RELEVANCE": "0.2",
        "GUIDEQA_SERVER__CONVERSATION_STORE": conversations,
        # answer records shared too: a permalink works on any replica
        "GUIDEQA_RECORDS__ENABLED": "true",
        "GUIDEQA_RECORDS__STORE": conversations,
        "GUIDEQA_RECORDS__READ_TOKEN": READ_TOKEN,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "guideqa.api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_until_up(url: str) -> None:
    for _ in range(150):
        try:
            httpx.get(url + "/healthz", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not start")


@pytest.fixture()
def replicas(tmp_path: Path, token_counter, redis_url: str) -> Iterator[list[str]]:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    unreachable = f"redis://127.0.0.1:{free_port()}/0"
    started = [
        _start(settings.index.directory, store) for store in (redis_url, redis_url, unreachable)
    ]
    for _, url in started:
        _wait_until_up(url)
    yield [url for _, url in started]
    for process, _ in started:
        process.terminate()
        process.wait(timeout=10)


def test_a_follow_up_on_another_replica_continues_the_conversation(replicas: list[str]) -> None:
    replica_a, replica_b, _ = replicas
    first = httpx.post(
        replica_a + "/v1/ask",
        json={"question": "Should nonopioid therapies be preferred over opioids for chronic pain?"},
        timeout=30,
    )
    assert first.status_code == 200, first.text
    conversation = first.json()["conversation_id"]
    follow = httpx.post(
        replica_b + "/v1/ask",
        json={"question": "What about for older adults?", "conversation_id": conversation},
        timeout=30,
    )
    assert follow.status_code == 200, follow.text
    interpreted = follow.json()["interpreted_question"].lower()
    assert "chronic pain" in interpreted  # the topic of the turn replica A recorded
    turns = httpx.get(replica_a + f"/v1/conversations/{conversation}", timeout=10).json()
    assert len(turns["turns"]) == 2
    answer_id = follow.json()["answer_id"]  # recorded by B, read on A
    record = httpx.get(
        replica_a + f"/v1/answers/{answer_id}",
        headers={"Authorization": f"Bearer {READ_TOKEN}"},
        timeout=10,
    )
    assert record.status_code == 200 and record.json()["question"] == "What about for older adults?"


def test_readiness_names_an_unreachable_conversation_store(replicas: list[str]) -> None:
    healthy, _, broken = replicas
    assert httpx.get(healthy + "/readyz", timeout=10).status_code == 200
    ready = httpx.get(broken + "/readyz", timeout=10)
    assert ready.status_code == 503
    assert "conversation store Redis" in ready.json()["reason"]
    asked = httpx.post(
        broken + "/v1/ask", json={"question": "Opioids for chronic pain?"}, timeout=30
    )
    assert asked.status_code == 503
    assert "Redis" in asked.json()["detail"] and "Traceback" not in asked.text
