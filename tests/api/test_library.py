"""The GuideQA facade: the Python API the CLI and the HTTP service are built on."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import guideqa
from guideqa import ClosedError, GuideQA, GuideQARetriever, SourceKind
from guideqa.ingest.loaders import load_paths
from tests.conftest import DATA, fake_settings, make_writer


@pytest.fixture()
def index_dir(tmp_path: Path, token_counter: object) -> Path:
    settings = fake_settings(tmp_path / "index")
    documents = load_paths([DATA / "openfda" / "labels_results.json"]).documents
    make_writer(settings, token_counter).ingest(documents)
    return tmp_path / "index"


@pytest.fixture()
def qa(index_dir: Path) -> GuideQA:
    return GuideQA(fake_settings(index_dir))


def test_the_public_api_is_what_guideqa_exports() -> None:
    for name in guideqa.__all__:
        assert getattr(guideqa, name) is not None, name
    assert guideqa.__version__.count(".") == 2
    with pytest.raises(AttributeError, match="no attribute 'HybridIndex'"):
        _ = guideqa.HybridIndex  # type: ignore[attr-defined]


def test_open_reads_settings_and_the_index_dir(
    index_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GUIDEQA_EMBEDDING__BACKEND", "hashing")
    with GuideQA.open(index_dir=index_dir) as qa:
        assert qa.settings.index.directory == index_dir and qa.version == "v000001"
    monkeypatch.setenv("GUIDEQA_INDEX_DIR", str(index_dir))
    with GuideQA.open() as qa:
        assert qa.index.manifest.documents == 3


def test_ask_follow_up_and_search(qa: GuideQA) -> None:
    answer = qa.ask("What is the starting dose of metformin?", kinds=["label"])
    assert not answer.abstained and answer.references
    follow = qa.ask("And in renal impairment?", conversation_id=answer.conversation_id)
    assert "metformin" in follow.interpreted_question.lower()
    hits = qa.search("metformin renal impairment", kind="label", k=3)
    assert len(hits) == 3 and all(h.kind is SourceKind.LABEL for h in hits)
    assert qa.search("metformin", k=2, kinds=[SourceKind.GUIDELINE]) == []
    assert qa.document(hits[0].doc_id) is not None


def test_ingest_publishes_and_serves_the_new_version(qa: GuideQA, tmp_path: Path) -> None:
    assert qa.version == "v000001"
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "note.md").write_text("---\nid: note-1\n---\n# Advice\n\nAvoid metformin.\n")
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4 broken")
    summary = qa.ingest([folder])
    assert summary.published and summary.added == ("note-1",)
    assert [f.path for f in summary.failures] == [str(folder / "broken.pdf")]
    assert qa.version == "v000002" and qa.document("note-1") is not None
    removed = qa.remove(["note-1"])
    assert removed.removed == ("note-1",) and qa.version == "v000003"


def test_ingest_builds_a_new_index_without_opening_one(tmp_path: Path) -> None:
    qa = GuideQA(fake_settings(tmp_path / "fresh"))
    summary = qa.ingest([DATA / "pubmed" / "medline_sample.nbib"])
    assert summary.version == "v000001"
    assert qa.search("enteroscopy", k=1)[0].doc_id == "pmid-23831910"


def test_the_retriever_follows_new_versions(qa: GuideQA) -> None:
    retriever = qa.as_retriever(k=2, kinds=["label"])
    assert isinstance(retriever, GuideQARetriever)
    documents = retriever.invoke("metformin lactic acidosis")
    assert len(documents) == 2 and documents[0].metadata["kind"] == "label"
    qa.add_documents(load_paths([DATA / "pubmed" / "medline_sample.nbib"]).documents)
    research = qa.as_retriever(k=1, kinds=["research"]).invoke("double balloon enteroscopy")
    assert research[0].metadata["doc_id"] == "pmid-23831910"


def test_asks_are_thread_safe_while_a_version_is_published(qa: GuideQA) -> None:
    failures: list[BaseException] = []
    answered: list[str] = []

    def asker() -> None:
        try:
            for _ in range(5):
                answer = qa.ask("What is the starting dose of metformin?")
                answered.append(answer.index_version or "")
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=asker) for _ in range(4)]
    for thread in threads:
        thread.start()
    qa.add_documents(load_paths([DATA / "pubmed" / "medline_sample.nbib"]).documents)
    for thread in threads:
        thread.join(60)
    assert not failures and len(answered) == 20
    assert set(answered) <= {"v000001", "v000002"}


def test_close_and_context_manager(index_dir: Path) -> None:
    with GuideQA(fake_settings(index_dir)) as qa:
        assert qa.ask("metformin dose").references
    with pytest.raises(ClosedError, match="was closed"):
        qa.ask("metformin dose")


def test_the_http_service_mounts_in_another_app(qa: GuideQA) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    inner = qa.asgi_app()
    outer = FastAPI(lifespan=inner.router.lifespan_context)
    outer.mount("/guideqa", inner)
    with TestClient(outer) as client:
        page = client.get("/guideqa/")
        assert page.status_code == 200 and 'src="static/app.js"' in page.text
        assert client.get("/guideqa/static/app.js").status_code == 200
        reply = client.post("/guideqa/v1/ask", json={"question": "Metformin starting dose?"})
        assert reply.status_code == 200 and reply.json()["references"]
        refused = client.post("/guideqa/v1/documents", files={"file": ("a.md", b"# x")})
        assert refused.status_code == 403  # the guards see the mounted route
        big = client.post("/guideqa/v1/ask", content=b"{" * 20_000)
        assert big.status_code == 413
