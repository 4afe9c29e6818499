"""Fault tests: the index on disk breaks under a running server, or the disk fills during an
ingest. The server keeps answering from memory and says why it is not ready; a failed ingest
leaves the published version served and intact."""

from __future__ import annotations

import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from guideqa.api.app import create_app
from guideqa.api.reload import MAX_BACKOFF_SECONDS, next_interval
from guideqa.index.versions import current_version, versions_dir
from guideqa.ingest.loaders import load_paths
from tests.api.test_manage import OPIOID_QUESTION, small_settings, write_opioid_2016_corpus
from tests.conftest import DATA, make_writer


@pytest.fixture()
def client(tmp_path: Path, token_counter) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _poll(client: TestClient) -> bool:
    """What the background poller does every interval."""
    healthy: bool = client.app.state.guideqa.reloader.poll()
    return healthy


def _answers(client: TestClient) -> bool:
    response = client.post("/v1/ask", json={"question": OPIOID_QUESTION})
    return response.status_code == 200 and bool(response.json()["references"])


def test_deleted_served_version_makes_readyz_not_ready_while_answers_go_on(
    client: TestClient,
) -> None:
    root = client.app.state.guideqa.settings.index.directory
    assert _poll(client) and client.get("/readyz").status_code == 200
    shutil.rmtree(versions_dir(root) / "v000001")
    assert not _poll(client)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "not ready"
    assert "served version v000001 on disk: its folder is missing" in ready.json()["reason"]
    assert "answering from index v000001 in memory" in ready.json()["reason"]
    assert _answers(client)


def test_unreadable_index_directory_then_recovery(client: TestClient) -> None:
    root = client.app.state.guideqa.settings.index.directory
    moved = root.with_name("index-away")
    root.rename(moved)
    root.write_text("not a directory")  # whatever is there cannot be read as an index
    assert not _poll(client)
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "v000001" in ready.json()["reason"]
    assert _answers(client)
    root.unlink()
    moved.rename(root)
    assert _poll(client)
    assert (
        client.get("/readyz").json() | {"status": "ready", "reason": None}
        == client.get("/readyz").json()
    )


def test_broken_published_version_keeps_the_old_one_served(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    root = client.app.state.guideqa.settings.index.directory
    broken = versions_dir(root) / "v000002"
    shutil.copytree(versions_dir(root) / "v000001", broken)
    (broken / "dense.faiss").unlink()
    (root / "CURRENT").write_text("v000002\n")
    with caplog.at_level(logging.ERROR, logger="guideqa.api"):
        for _ in range(3):
            assert not _poll(client)
    ready = client.get("/readyz").json()
    assert ready["index_version"] == "v000001"
    assert "published version v000002 is broken: missing dense.faiss" in ready["reason"]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1  # logged when it broke, not on every poll
    assert _answers(client)


def test_the_poller_backs_off_while_broken_and_resets_when_healthy() -> None:
    interval = 1.0
    seen = []
    for _ in range(8):
        interval = next_interval(False, interval, 1.0)
        seen.append(interval)
    assert seen[:3] == [2.0, 4.0, 8.0] and seen[-1] == MAX_BACKOFF_SECONDS
    assert next_interval(True, interval, 1.0) == 1.0


def _limit_file_size(max_bytes: int) -> None:
    # in the child: files may not grow past max_bytes; the write fails (EFBIG), not the process
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))


def test_disk_full_during_ingest_fails_cleanly_and_keeps_the_served_version(
    tmp_path: Path,
) -> None:
    index = tmp_path / "index"
    env = {**os.environ, "GUIDEQA_EMBEDDING__BACKEND": "hashing", "GUIDEQA_INDEX_DIR": str(index)}
    command = [sys.executable, "-m", "guideqa.api.cli", "ingest"]
    first = subprocess.run(
        [*command, str(DATA / "pubmed" / "medline_sample.nbib")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert first.returncode == 0, first.stderr
    full = subprocess.run(
        [*command, str(DATA / "openfda" / "labels_results.json")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=lambda: _limit_file_size(64 * 1024),
    )
    assert full.returncode == 2, full.stderr
    assert "could not write index version v000002" in full.stderr
    assert "v000001 is unchanged: free disk space" in full.stderr
    assert "Traceback" not in full.stderr
    assert current_version(index) == "v000001"
    assert sorted(p.name for p in versions_dir(index).iterdir()) == ["v000001"]
    info = subprocess.run(
        [sys.executable, "-m", "guideqa.api.cli", "search", "enteroscopy", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert info.returncode == 0 and "pmid-23831910" in info.stdout
