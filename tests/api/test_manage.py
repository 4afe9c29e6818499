"""Uploads, deletions and hot swap of index versions through the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from api.settings import Settings
from index.versions import current_version
from ingest.convert.ngc import ngc_to_markdown
from ingest.convert.uspstf import group_by_topic, topic_to_markdown
from ingest.loaders import load_paths
from qa.settings import QASettings
from tests.conftest import DATA, fake_settings, make_writer

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
OPIOID_QUESTION = "Should nonopioid therapies be preferred over opioids for pain?"


def write_opioid_2016_corpus(folder: Path) -> None:
    """The CDC 2016 opioid guideline summary and a USPSTF topic, as the starting corpus."""
    folder.mkdir(parents=True, exist_ok=True)
    xml = (DATA / "convert" / "ngc-10953.xml").read_bytes()
    (folder / "ngc-10953.md").write_text(ngc_to_markdown(xml, "ngc-10953")[0])
    data = json.loads((DATA / "convert" / "uspstf_osteoporosis.json").read_text())
    for topic, records in group_by_topic(data["specificRecommendations"]).items():
        (folder / "uspstf-osteoporosis.md").write_text(topic_to_markdown(topic, records)[0])


def small_settings(tmp_path: Path, token: str | None = TOKEN) -> Settings:
    """Hashing embedder (fast, deterministic) with thresholds opened up for it."""
    settings = fake_settings(tmp_path / "index")
    return settings.model_copy(
        update={
            "api_token": SecretStr(token) if token else None,
            "qa": QASettings(min_passage_similarity=0.0, min_relevance=0.2),
        }
    )


@pytest.fixture()
def client(tmp_path: Path, token_counter) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _cited(client: TestClient, question: str) -> set[str]:
    answer = client.post("/v1/ask", json={"question": question}).json()
    return {r["doc_id"] for r in answer["references"]}


def _upload_2022(client: TestClient, headers: dict[str, str] | None = AUTH):  # type: ignore[no-untyped-def]
    pdf = (DATA / "pdf" / "cdc_opioid_2022_pages19-24.pdf").read_bytes()
    return client.post(
        "/v1/documents",
        headers=headers,
        files={"file": ("cdc-opioids-2022.pdf", pdf, "application/pdf")},
        data={
            "id": "cdc-opioid-prescribing-2022",
            "issuer": "Centers for Disease Control and Prevention",
            "date": "2022-11-04",
            "supersedes": "ngc-10953",
        },
    )


def test_upload_supersedes_and_delete_restores(client: TestClient) -> None:
    assert "ngc-10953" in _cited(client, OPIOID_QUESTION)
    response = _upload_2022(client)
    assert response.status_code == 201, response.text
    result = response.json()
    assert result["index_version"] == "v000002"
    [doc] = result["documents"]
    assert doc["doc_id"] == "cdc-opioid-prescribing-2022" and doc["chunks"] > 0
    assert client.get("/readyz").json()["index_version"] == "v000002"

    answer = client.post("/v1/ask", json={"question": OPIOID_QUESTION}).json()
    cited = {r["doc_id"]: r for r in answer["references"]}
    assert "cdc-opioid-prescribing-2022" in cited and "ngc-10953" not in cited
    assert (
        "supersedes CDC guideline for prescribing opioids"
        in cited["cdc-opioid-prescribing-2022"]["note"]
    )
    old = client.get("/v1/documents/ngc-10953").json()
    assert old["superseded_by"] == ["cdc-opioid-prescribing-2022"]

    removed = client.delete("/v1/documents/cdc-opioid-prescribing-2022", headers=AUTH)
    assert removed.status_code == 200 and removed.json()["index_version"] == "v000003"
    assert "ngc-10953" in _cited(client, OPIOID_QUESTION)
    versions = client.get("/v1/index").json()
    assert versions["current"] == "v000003"
    assert [v["documents"] for v in versions["versions"]] == [2, 3, 2]


@pytest.mark.parametrize(
    ("headers", "status"),
    [(None, 401), ({"Authorization": "Bearer wrong"}, 401), ({"Authorization": TOKEN}, 401)],
)
def test_writes_need_the_token(
    client: TestClient, headers: dict[str, str] | None, status: int
) -> None:
    assert _upload_2022(client, headers).status_code == status
    assert client.delete("/v1/documents/ngc-10953", headers=headers or {}).status_code == status
    assert client.get("/readyz").json()["index_version"] == "v000001"


def test_writes_are_disabled_without_a_configured_token(tmp_path: Path, token_counter) -> None:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path, token=None)
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    with TestClient(create_app(settings)) as client:
        response = _upload_2022(client)
        assert response.status_code == 403 and "GUIDEQA_API_TOKEN" in response.json()["detail"]


def test_bad_uploads_are_rejected_and_the_index_is_unchanged(client: TestClient) -> None:
    docx = client.post(
        "/v1/documents",
        headers=AUTH,
        files={"file": ("notes.docx", b"PK\x03\x04", "application/octet-stream")},
    )
    assert docx.status_code == 415 and "accepted types" in docx.json()["detail"]
    broken = (DATA / "broken" / "truncated.pdf").read_bytes()
    corrupt = client.post(
        "/v1/documents", headers=AUTH, files={"file": ("guideline.pdf", broken, "application/pdf")}
    )
    assert corrupt.status_code == 422 and "not a readable PDF" in corrupt.json()["detail"]
    big = client.post(
        "/v1/documents",
        headers=AUTH,
        files={"file": ("big.md", b"x" * (26 * 1024 * 1024), "text/markdown")},
    )
    assert big.status_code == 413
    empty = client.post(
        "/v1/documents", headers=AUTH, files={"file": ("empty.md", b"", "text/markdown")}
    )
    assert empty.status_code == 422
    assert client.get("/readyz").json()["index_version"] == "v000001"
    unknown = client.delete("/v1/documents/not-indexed", headers=AUTH)
    assert unknown.status_code == 404


def test_a_version_published_by_the_cli_is_picked_up(
    client: TestClient, tmp_path: Path, token_counter
) -> None:  # type: ignore[no-untyped-def]
    settings = small_settings(tmp_path)
    extra = load_paths([DATA / "pubmed" / "medline_sample.nbib"]).documents
    make_writer(settings, token_counter).ingest(extra)
    assert current_version(settings.index.directory) == "v000002"
    client.app.state.guideqa.reloader.check()  # what the poller does every second
    assert client.get("/readyz").json()["documents"] == 3
