"""Uploads, deletions and hot swap of index versions through the HTTP API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from guideqa.api.app import create_app
from guideqa.api.settings import Settings
from guideqa.index.versions import current_version
from guideqa.ingest.convert.ngc import ngc_to_markdown
from guideqa.ingest.convert.uspstf import group_by_topic, topic_to_markdown
from guideqa.ingest.loaders import load_paths
from guideqa.qa.settings import QASettings
from tests.conftest import DATA, fake_settings, make_writer

TOKEN = "s3cret-token-for-tests"
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


def _upload_2022(  # type: ignore[no-untyped-def]
    client: TestClient, headers: dict[str, str] | None = AUTH, replace: bool = True
):
    pdf = (DATA / "pdf" / "cdc_opioid_2022_pages19-24.pdf").read_bytes()
    data = {
        "id": "cdc-opioid-prescribing-2022",
        "issuer": "Centers for Disease Control and Prevention",
        "date": "2022-11-04",
        "supersedes": "ngc-10953",
    }
    return client.post(
        "/v1/documents",
        headers=headers,
        files={"file": ("cdc-opioids-2022.pdf", pdf, "application/pdf")},
        data={**data, "replace": "true"} if replace else data,
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


def _uploads(client: TestClient) -> list[Path]:
    folder = client.app.state.guideqa.settings.index.directory / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def _audit(client: TestClient) -> list[dict[str, object]]:
    path = client.app.state.guideqa.settings.index.directory / "audit.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [json.loads(line) for line in lines]


def test_an_upload_that_would_hide_a_document_needs_replace(client: TestClient) -> None:
    refused = _upload_2022(client, replace=False)
    assert refused.status_code == 409, refused.text
    assert "would replace or hide ngc-10953" in refused.json()["detail"]
    assert "replace=true" in refused.json()["detail"]
    assert client.get("/readyz").json()["index_version"] == "v000001"
    assert _uploads(client) == [] and _audit(client) == []


def test_an_upload_with_an_indexed_id_needs_replace(client: TestClient) -> None:
    md = "---\nid: ngc-10953\ntitle: Not the CDC guideline\n---\n# Text\n\nSomething else.\n"
    files = {"file": ("impostor.md", md.encode(), "text/markdown")}
    refused = client.post("/v1/documents", headers=AUTH, files=files)
    assert refused.status_code == 409 and "ngc-10953" in refused.json()["detail"]
    assert client.get("/v1/documents/ngc-10953").json()["title"].startswith("CDC")


def test_an_id_is_refused_for_a_file_of_several_documents(client: TestClient) -> None:
    labels = (DATA / "openfda" / "labels_results.json").read_bytes()
    files = {"file": ("labels.json", labels, "application/json")}
    refused = client.post("/v1/documents", headers=AUTH, files=files, data={"id": "one-label"})
    assert refused.status_code == 422 and "holds 3 documents" in refused.json()["detail"]
    assert _uploads(client) == []
    accepted = client.post("/v1/documents", headers=AUTH, files=files)
    assert accepted.status_code == 201 and len(accepted.json()["documents"]) == 3


def test_every_write_is_audited_without_the_token(client: TestClient) -> None:
    assert _upload_2022(client).status_code == 201
    assert client.delete("/v1/documents/cdc-opioid-prescribing-2022", headers=AUTH).is_success
    upload, delete = _audit(client)
    assert (upload["action"], delete["action"]) == ("upload", "delete")
    assert upload["documents"] == ["cdc-opioid-prescribing-2022"]
    assert upload["replaced"] == ["ngc-10953"] and upload["index_version"] == "v000002"
    assert delete["index_version"] == "v000003" and delete["time"] > upload["time"]
    assert str(upload["token"]).startswith("sha256:") and upload["token"] == delete["token"]
    log = (client.app.state.guideqa.settings.index.directory / "audit.jsonl").read_text()
    assert TOKEN not in log


def test_same_named_uploads_do_not_collide_and_delete_removes_the_file(
    client: TestClient,
) -> None:
    for number in (1, 2):
        md = f"---\nid: note-{number}\ntitle: Note {number}\n---\n# Text\n\nBody {number}.\n"
        files = {"file": ("note.md", md.encode(), "text/markdown")}
        assert client.post("/v1/documents", headers=AUTH, files=files).status_code == 201
    stored = _uploads(client)
    assert len(stored) == 2 and all(p.name.endswith("-note.md") for p in stored)
    index = client.app.state.guideqa.qa.engine.index
    sources = [index.document(f"note-{n}").source_path for n in (1, 2)]
    assert all(Path(s).is_absolute() for s in sources)  # a later --prune elsewhere keeps them
    assert client.delete("/v1/documents/note-1", headers=AUTH).is_success
    assert [p.read_text().count("note-2") for p in _uploads(client)] == [1]


@pytest.mark.parametrize("doc_id", ["a%2Fb", "..", "x%20y"])
def test_ids_outside_the_pattern_are_refused(client: TestClient, doc_id: str) -> None:
    response = client.get(f"/v1/documents/{doc_id}")
    assert response.status_code in (404, 422)
    assert client.delete(f"/v1/documents/{doc_id}", headers=AUTH).status_code in (404, 405, 422)


def test_a_slow_upload_does_not_block_health_or_answers(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from guideqa.api.routes import manage

    release, parsing = threading.Event(), threading.Event()
    real_parse = manage._parse

    def slow_parse(*args):  # type: ignore[no-untyped-def]
        parsing.set()
        release.wait(30)
        return real_parse(*args)

    monkeypatch.setattr(manage, "_parse", slow_parse)
    result: dict[str, int] = {}
    upload = threading.Thread(target=lambda: result.update(status=_upload_2022(client).status_code))
    upload.start()
    assert parsing.wait(30)
    assert client.get("/healthz").status_code == 200  # answered while the upload is parsing
    assert client.post("/v1/ask", json={"question": OPIOID_QUESTION}).status_code == 200
    assert upload.is_alive()
    release.set()
    upload.join(30)
    assert result["status"] == 201


def test_an_upload_that_parses_too_long_is_refused(
    tmp_path: Path, token_counter, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    import threading

    from guideqa.api.routes import manage
    from guideqa.api.settings import ServerSettings

    settings = small_settings(tmp_path)
    settings = settings.model_copy(update={"server": ServerSettings(upload_parse_seconds=0.2)})
    write_opioid_2016_corpus(tmp_path / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([tmp_path / "corpus"]).documents)
    release = threading.Event()
    monkeypatch.setattr(manage, "_parse", lambda *args: release.wait(30))
    try:
        with TestClient(create_app(settings)) as client:
            response = _upload_2022(client)
            assert response.status_code == 422, response.text
            assert "cdc-opioids-2022.pdf: parsing took over 0.2 s" in response.json()["detail"]
            assert _uploads(client) == []
            assert client.get("/readyz").json()["index_version"] == "v000001"
    finally:
        release.set()
