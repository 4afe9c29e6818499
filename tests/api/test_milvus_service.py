"""The HTTP service on the Milvus backend (Milvus Lite started by the test): answers, index
versions, an upload published to Milvus and served after the swap, readiness."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from guideqa.api.app import create_app
from guideqa.api.settings import Settings
from guideqa.index.backend import create_backend
from guideqa.index.milvus_backend import MilvusBackend
from guideqa.index.settings import BackendKind
from guideqa.index.versions import current_version_dir
from guideqa.ingest.loaders import load_paths
from tests.api.test_manage import (
    OPIOID_QUESTION,
    _upload_2022,
    small_settings,
    write_opioid_2016_corpus,
)
from tests.conftest import make_writer


@pytest.fixture()
def milvus_client(tmp_path: Path, token_counter) -> Iterator[tuple[TestClient, Settings]]:  # type: ignore[no-untyped-def]
    local = small_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(local, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    index = local.index.model_copy(
        update={"backend": BackendKind.MILVUS, "milvus_uri": str(tmp_path / "milvus.db")}
    )
    settings = local.model_copy(update={"index": index})
    backend = create_backend(settings.index, settings.embedding, settings.chunking)
    assert isinstance(backend, MilvusBackend)
    backend.publish(current_version_dir(local.index.directory))  # as `guideqa migrate` does
    backend.close()
    with TestClient(create_app(settings)) as client:
        yield client, settings


def test_the_service_answers_and_publishes_uploads_on_milvus(
    milvus_client: tuple[TestClient, Settings],
) -> None:
    client, _ = milvus_client
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["index_version"] == "v000001"
    answer = client.post("/v1/ask", json={"question": OPIOID_QUESTION}).json()
    assert "ngc-10953" in {r["doc_id"] for r in answer["references"]}
    document = client.get("/v1/documents/ngc-10953").json()
    assert document["doc_id"] == "ngc-10953" and document["sections"]

    uploaded = _upload_2022(client)  # staged locally, then published to Milvus
    assert uploaded.status_code == 201, uploaded.text
    versions = client.get("/v1/index").json()
    assert versions["current"] == "v000002"
    assert [v["version"] for v in versions["versions"]] == ["v000001", "v000002"]
    after = client.post("/v1/ask", json={"question": OPIOID_QUESTION}).json()
    assert after["index_version"] == "v000002"
    cited = {r["doc_id"] for r in after["references"]}
    assert "cdc-opioid-prescribing-2022" in cited and "ngc-10953" not in cited


def test_readiness_names_milvus_when_it_is_gone(
    milvus_client: tuple[TestClient, Settings],
) -> None:
    client, _ = milvus_client
    state = client.app.state.guideqa  # type: ignore[attr-defined]
    backend = state.qa.backend
    backend.close()  # the connection is gone: the next poll cannot reach Milvus
    backend.settings = backend.settings.model_copy(
        update={"milvus_uri": "http://127.0.0.1:9", "milvus_timeout_s": 1.0}
    )
    assert not state.reloader.poll()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "Milvus" in ready.json()["reason"]
    assert ready.json()["index_version"] == "v000001"
    asked = client.post("/v1/ask", json={"question": OPIOID_QUESTION})
    assert asked.status_code == 503, asked.text  # a search needs Milvus: a problem, no trace
    assert asked.json()["title"] == "Index unavailable" and "Traceback" not in asked.text
