"""Hot swap under load: concurrent asks while a new guideline version is uploaded."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from guideqa.ingest.loaders import load_paths
from tests.api.test_browser import _free_port
from tests.api.test_manage import (
    AUTH,
    OPIOID_QUESTION,
    TOKEN,
    _upload_2022,
    small_settings,
    write_opioid_2016_corpus,
)
from tests.conftest import make_writer


@pytest.fixture()
def server(tmp_path: Path, token_counter) -> Iterator[str]:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    port = _free_port()
    env = {
        **os.environ,
        "GUIDEQA_INDEX_DIR": str(settings.index.directory),
        "GUIDEQA_EMBEDDING__BACKEND": "hashing",
        "GUIDEQA_API_TOKEN": TOKEN,
        "GUIDEQA_SERVER__RATE_LIMIT_EXEMPT": '["127.0.0.1"]',  # eight clients asking flat out
        "GUIDEQA_QA__MIN_PASSAGE_SIMILARITY": "0",
        "GUIDEQA_QA__MIN_RELEVANCE": "0.2",
        "GUIDEQA_SERVER__RELOAD_INTERVAL_SECONDS": "0.5",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "guideqa.api.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def test_no_failed_request_during_an_upload_and_answers_switch(server: str) -> None:
    failures: list[str] = []
    answered: list[str] = []
    stop = threading.Event()

    def asker() -> None:
        with httpx.Client(base_url=server, timeout=30) as client:
            while not stop.is_set() and len(answered) < 5000:
                response = client.post("/v1/ask", json={"question": OPIOID_QUESTION})
                if response.status_code != 200:
                    failures.append(f"{response.status_code} {response.text[:100]}")
                else:
                    answered.append(response.json()["index_version"])

    threads = [threading.Thread(target=asker) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    with httpx.Client(base_url=server, timeout=60) as client:
        upload = _upload_2022(client)  # type: ignore[arg-type]
    time.sleep(1.5)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    assert upload.status_code == 201, upload.text
    assert not failures, failures[:3]
    assert "v000001" in answered and "v000002" in answered
    assert answered.index("v000002") > 0
    with httpx.Client(base_url=server, timeout=30) as client:
        answer = client.post("/v1/ask", json={"question": OPIOID_QUESTION}).json()
        assert answer["index_version"] == "v000002"
        cited = {r["doc_id"] for r in answer["references"]}
        assert "cdc-opioid-prescribing-2022" in cited and "ngc-10953" not in cited
        assert client.get("/readyz").json()["index_version"] == "v000002"
        assert client.get("/v1/index", headers=AUTH).json()["current"] == "v000002"
