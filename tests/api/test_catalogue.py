"""The bad-input catalogue over HTTP: every hostile or broken request gets its 4xx with a message
that names what failed, and afterwards the server is still ready and the index version, document
count and upload folder are unchanged. The command-line half: test_catalogue_cli.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from guideqa.api.app import create_app
from guideqa.api.settings import ServerSettings
from guideqa.index.versions import current_version
from guideqa.ingest.loaders import load_paths
from tests import hostile
from tests.api.test_manage import AUTH, TOKEN, small_settings, write_opioid_2016_corpus
from tests.conftest import DATA, make_writer

Build = Callable[[Path], Path]


@dataclass(frozen=True)
class HttpCase:
    """One bad request and what must come back."""

    name: str
    status: int
    message: str
    method: str = "POST"
    path: str = "/v1/ask"
    json_body: object = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    upload: Build | None = None
    filename: str | None = None
    form: dict[str, str] = field(default_factory=dict)


JSON = {"content-type": "application/json"}


def _raw(text: str) -> bytes:
    return text.encode("utf-8")


ASK_CASES = [
    HttpCase("empty question", 422, "the question is empty", json_body={"question": ""}),
    HttpCase("whitespace question", 422, "the question is empty", json_body={"question": " \t\n"}),
    HttpCase("huge question", 422, "the limit is 2000", json_body={"question": "pain " * 1000}),
    HttpCase(
        "huge body", 413, "the limit for /v1/ask is 16384", content=b"{" * 20000, headers=JSON
    ),
    HttpCase("binary body", 400, "not valid UTF-8 JSON", content=b"\x00\xff" * 50, headers=JSON),
    HttpCase(
        "non-UTF-8 question",
        400,
        "not valid UTF-8 JSON",
        content=b'{"question": "caf\xe9"}',
        headers=JSON,
    ),
    HttpCase(
        "question is a number",
        422,
        "question: Input should be a valid string",
        json_body={"question": 5},
    ),
    HttpCase(
        "question is a list",
        422,
        "question: Input should be a valid string",
        json_body={"question": ["a"]},
    ),
    HttpCase("body is a list", 422, "Input should be a valid dictionary", json_body=["question"]),
    HttpCase(
        "extra field",
        422,
        "Extra inputs are not permitted",
        json_body={"question": "x", "admin": True},
    ),
    HttpCase(
        "unknown conversation",
        404,
        "is unknown or has expired",
        json_body={"question": "and in men?", "conversation_id": "nope"},
    ),
    HttpCase(
        "four kinds",
        422,
        "kinds: List should have at most 3 items",
        json_body={"question": "x", "kinds": ["label"] * 4},
    ),
    HttpCase(
        "200,000 kinds",
        413,
        "the limit for /v1/ask",
        json_body={"question": "x", "kinds": ["research"] * 200_000},
    ),
    HttpCase(
        "unknown kind",
        422,
        "kinds.0: Input should be",
        json_body={"question": "x", "kinds": ["blog"]},
    ),
    HttpCase(
        "explain is a string",
        422,
        "explain: Input should be a valid boolean",
        json_body={"question": "x", "explain": "maybe"},
    ),
    HttpCase(
        "deeply nested JSON",
        400,
        "not valid UTF-8 JSON",
        content=_raw('{"question": ' + "[" * 7000 + "]" * 7000 + "}"),
        headers=JSON,
    ),
    HttpCase(
        "text/plain body",
        415,
        "send the question as application/json",
        content=b"question=x",
        headers={"content-type": "text/plain"},
    ),
    HttpCase("no body", 422, "body: Field required", content=b"", headers=JSON),
    HttpCase("wrong method", 405, "Method Not Allowed", method="PUT", json_body={"question": "x"}),
]
READ_CASES = [
    HttpCase(
        "encoded traversal id",
        404,
        "no such endpoint",
        method="GET",
        path="/v1/documents/..%2F..%2Fetc%2Fpasswd",
    ),
    HttpCase(
        "traversal document id",
        404,
        "no such endpoint",
        method="GET",
        path="/v1/documents/../../etc/passwd",
    ),
    HttpCase(
        "backslash traversal id",
        422,
        "String should match pattern",
        method="GET",
        path="/v1/documents/..%5C..%5Cwindows",
    ),
    HttpCase(
        "id with a space",
        422,
        "String should match pattern",
        method="GET",
        path="/v1/documents/a%20b",
    ),
    HttpCase(
        "unknown document", 404, "no document", method="GET", path="/v1/documents/not-indexed"
    ),
    HttpCase(
        "page too large",
        422,
        "limit: Input should be less than or equal to 200",
        method="GET",
        path="/v1/documents?limit=100000",
    ),
    HttpCase(
        "negative offset",
        422,
        "offset: Input should be greater than or equal to 0",
        method="GET",
        path="/v1/documents?offset=-1",
    ),
    HttpCase(
        "unknown kind filter",
        422,
        "kind: Input should be",
        method="GET",
        path="/v1/documents?kind=blog",
    ),
    HttpCase(
        "unknown conversation read",
        404,
        "is unknown or has expired",
        method="GET",
        path="/v1/conversations/nope",
    ),
]
AUTH_CASES = [
    HttpCase(
        "upload without token",
        401,
        "send the API token",
        path="/v1/documents",
        upload=hostile.truncated_pdf,
        headers={"Authorization": ""},
    ),
    HttpCase(
        "upload with wrong token",
        401,
        "the API token is not valid",
        path="/v1/documents",
        upload=hostile.truncated_pdf,
        headers={"Authorization": "Bearer wrong-token-wrong-token"},
    ),
    HttpCase(
        "upload with empty bearer",
        401,
        "send the API token",
        path="/v1/documents",
        upload=hostile.truncated_pdf,
        headers={"Authorization": "Bearer "},
    ),
    HttpCase(
        "token without scheme",
        401,
        "send the API token",
        path="/v1/documents",
        upload=hostile.truncated_pdf,
        headers={"Authorization": TOKEN},
    ),
    HttpCase(
        "delete without token",
        401,
        "send the API token",
        method="DELETE",
        path="/v1/documents/ngc-10953",
        headers={"Authorization": ""},
    ),
    HttpCase(
        "delete unknown",
        404,
        "no document 'not-indexed'",
        method="DELETE",
        path="/v1/documents/not-indexed",
    ),
]


def _upload(build: Build, status: int, message: str, **kwargs: object) -> HttpCase:
    name = str(kwargs.pop("name", build.__name__.replace("_", " ")))
    return HttpCase(name, status, message, path="/v1/documents", upload=build, **kwargs)  # type: ignore[arg-type]


def _file(name: str, data: bytes) -> Build:
    def build(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    build.__name__ = name
    return build


MARKDOWN = _file("note.md", b"# Note\n\nOffer screening.\n")
UPLOAD_CASES = [
    _upload(_file("empty.pdf", b""), 422, "empty.pdf is empty", name="zero-byte PDF"),
    _upload(hostile.truncated_pdf, 422, "truncated.pdf: not a readable PDF"),
    _upload(
        _file("corrupt.pdf", b"%PDF-1.7\n" + bytes(range(256)) * 40),
        422,
        "corrupt.pdf: not a readable PDF",
    ),
    _upload(
        lambda f: _file("encrypted.pdf", (DATA / "broken" / "encrypted.pdf").read_bytes())(f),
        422,
        "encrypted",
        name="encrypted PDF",
    ),
    _upload(hostile.pdf_with_many_pages, 422, "the PDF has 50000 pages; the limit is 2000"),
    _upload(hostile.pdf_over_pypdf_limit, 422, "LimitReachedError"),
    _upload(hostile.lying_extension, 422, "guideline.pdf: not a readable PDF"),
    _upload(hostile.xxe_xml, 422, "unsafe XML refused"),
    _upload(hostile.entity_expansion_xml, 422, "unsafe XML refused"),
    _upload(hostile.deeply_nested_json, 422, "nested too deeply"),
    _upload(hostile.deeply_nested_xml, 422, "no text sections"),
    _upload(hostile.label_with_wrong_types, 422, "could not be parsed as openfda"),
    _upload(hostile.pubmedqa_latin1, 422, "codec can't decode"),
    _upload(hostile.zip_bomb, 422, "(a zip bomb?)"),
    _upload(hostile.zip_with_many_members, 422, "the zip holds 1500 files"),
    _upload(hostile.zip_with_encrypted_member, 422, "is encrypted"),
    _upload(hostile.zip_with_bad_deflate, 422, "in the zip is unreadable"),
    _upload(_file("notes.docx", b"PK\x03\x04"), 415, "accepted types are", name="unsupported type"),
    _upload(
        _file("big.md", b"x" * (26 * 1024 * 1024)),
        413,
        "Request too large|the limit is",
        name="oversized upload",
    ),
    _upload(
        MARKDOWN, 415, "accepted types", filename="../../etc/cron.d/evil", name="traversal filename"
    ),
    _upload(
        lambda f: _file("labels.json", (DATA / "openfda" / "labels_results.json").read_bytes())(f),
        422,
        "holds 3 documents",
        form={"id": "one"},
        name="id for three records",
    ),
    _upload(MARKDOWN, 422, "invalid document id", form={"id": "a/b"}, name="id with a slash"),
    _upload(
        MARKDOWN,
        422,
        "only http:// and https://",
        form={"url": "javascript:alert(1)"},
        name="javascript url",
    ),
    _upload(MARKDOWN, 422, "date", form={"date": "yesterday"}, name="unparseable date"),
    _upload(MARKDOWN, 422, "kind", form={"kind": "blog"}, name="unknown kind"),
    _upload(
        _file("impostor.md", b"---\nid: ngc-10953\n---\n# X\n\nOther text.\n"),
        409,
        "would replace or hide ngc-10953",
        name="same id without replace",
    ),
    _upload(
        _file("bad-id.md", b"---\nid: ../x\n---\n# X\n\nText.\n"),
        422,
        "invalid document id",
        name="front matter id",
    ),
]
HTTP_CASES = ASK_CASES + READ_CASES + AUTH_CASES + UPLOAD_CASES


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    from guideqa.ingest.chunking import model_token_counter

    tmp = tmp_path_factory.mktemp("catalogue")
    settings = small_settings(tmp)
    # the test client is one address: the rate limit has its own test (tests/api/test_guards.py)
    settings = settings.model_copy(
        update={"server": ServerSettings(rate_limit_exempt=("testclient",))}
    )
    write_opioid_2016_corpus(tmp / "corpus")
    make_writer(settings, model_token_counter()).ingest(load_paths([tmp / "corpus"]).documents)
    with TestClient(create_app(settings), raise_server_exceptions=False) as test_client:
        yield test_client


def _send(client: TestClient, case: HttpCase, tmp_path: Path):  # type: ignore[no-untyped-def]
    headers = {**AUTH, **case.headers} if case.path.startswith("/v1/documents") else case.headers
    headers = {k: v for k, v in headers.items() if v}
    if case.upload is not None:
        path = case.upload(tmp_path)
        files = {
            "file": (case.filename or path.name, path.read_bytes(), "application/octet-stream")
        }
        return client.post(case.path, headers=headers, files=files, data=case.form)
    if case.json_body is not None:
        return client.request(case.method, case.path, headers=headers, json=case.json_body)
    return client.request(case.method, case.path, headers=headers, content=case.content)


def _state(client: TestClient) -> tuple[object, ...]:
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    folder = client.app.state.guideqa.settings.index.directory
    uploads = (
        sorted(p.name for p in (folder / "uploads").glob("*"))
        if (folder / "uploads").exists()
        else []
    )
    audit = (folder / "audit.jsonl").exists()
    return (
        ready.json()["index_version"],
        ready.json()["documents"],
        current_version(folder),
        uploads,
        audit,
    )


@pytest.mark.parametrize("case", HTTP_CASES, ids=[c.name for c in HTTP_CASES])
def test_http_bad_input(client: TestClient, case: HttpCase, tmp_path: Path) -> None:
    before = _state(client)
    response = _send(client, case, tmp_path)
    assert response.status_code == case.status, response.text
    body = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    import re

    assert re.search(case.message, f"{body['title']}: {body['detail']}"), body
    assert "Traceback" not in response.text and "/work/" not in response.text
    assert _state(client) == before
