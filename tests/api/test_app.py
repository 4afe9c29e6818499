"""HTTP API on a small real index: happy paths, follow-ups, every error case, OpenAPI."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from guideqa.api.app import create_app
from guideqa.api.settings import ServerSettings, Settings
from guideqa.index.hybrid import HybridIndex
from guideqa.qa.conversation import InMemoryConversationStore
from guideqa.qa.pipeline import AnswerEngine

pytestmark = pytest.mark.integration


@pytest.fixture()
def client(real_index: HybridIndex, real_index_settings: Settings) -> TestClient:
    settings = real_index_settings.model_copy(
        update={"server": ServerSettings(max_question_chars=200)}
    )
    engine = AnswerEngine(real_index, settings.qa, InMemoryConversationStore(10, 3600))
    return TestClient(create_app(settings, engine))


def _ask(client: TestClient, **body: object):  # type: ignore[no-untyped-def]
    return client.post("/v1/ask", json=body)


def test_ask_returns_the_answer_contract(client: TestClient) -> None:
    response = _ask(client, question="Should women 65 and older be screened for osteoporosis?")
    assert response.status_code == 200
    answer = response.json()
    for key in (
        "question",
        "interpreted_question",
        "summary",
        "sections",
        "references",
        "abstained",
        "gaps",
        "conversation_id",
        "index_version",
        "timings_ms",
    ):
        assert key in answer
    reference = answer["references"][0]
    assert {
        "n",
        "kind",
        "doc_id",
        "chunk_id",
        "title",
        "issuer",
        "year",
        "section",
        "pages",
        "url",
        "passage",
    } <= set(reference)
    assert answer["sections"][0]["statements"][0]["citations"]


def test_follow_up_over_http_and_conversation_history(client: TestClient) -> None:
    first = _ask(client, question="Should women 65 and older be screened for osteoporosis?").json()
    follow = _ask(
        client, question="What about in men?", conversation_id=first["conversation_id"]
    ).json()
    assert follow["conversation_id"] == first["conversation_id"]
    assert "men" in follow["interpreted_question"]
    history = client.get(f"/v1/conversations/{first['conversation_id']}").json()
    assert [t["question"] for t in history["turns"]] == [
        "Should women 65 and older be screened for osteoporosis?",
        "What about in men?",
    ]


def test_markdown_rendering(client: TestClient) -> None:
    response = client.post(
        "/v1/ask",
        json={"question": "What is the starting dose of metformin?"},
        headers={"Accept": "text/markdown"},
    )
    assert response.headers["content-type"].startswith("text/markdown")
    assert "**From the FDA Drug Label**" in response.text and "**References**" in response.text


def test_kinds_restrict_the_answer(client: TestClient) -> None:
    answer = _ask(
        client, question="What is the starting dose of metformin?", kinds=["label"]
    ).json()
    assert {s["kind"] for s in answer["sections"]} == {"label"}


@pytest.mark.parametrize(
    ("request_kwargs", "status", "title"),
    [
        ({"json": {"question": "   "}}, 422, "Empty question"),
        ({"json": {"question": "x" * 201}}, 422, "Question too long"),
        ({"json": {"question": "dose?", "conversation_id": "nope"}}, 404, "Unknown conversation"),
        (
            {"content": b'{"question": ', "headers": {"content-type": "application/json"}},
            400,
            "Malformed JSON",
        ),
        (
            {"content": b"question=dose", "headers": {"content-type": "text/plain"}},
            415,
            "Unsupported media type",
        ),
        ({"json": {"question": "dose", "kinds": ["blog"]}}, 422, "Invalid request"),
        ({"json": {"text": "dose"}}, 422, "Invalid request"),
    ],
)
def test_errors_are_problem_details(
    client: TestClient, request_kwargs: dict[str, object], status: int, title: str
) -> None:
    response = client.post("/v1/ask", **request_kwargs)  # type: ignore[arg-type]
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["title"] == title and problem["status"] == status and problem["detail"]
    assert "Traceback" not in response.text


def test_unknown_conversation_and_route(client: TestClient) -> None:
    assert client.get("/v1/conversations/missing").status_code == 404
    missing = client.get("/v1/nothing-here")
    assert missing.status_code == 404 and "see /docs" in missing.json()["detail"]


def test_documents_listing_filters_and_detail(client: TestClient) -> None:
    page = client.get("/v1/documents", params={"kind": "label", "limit": 2}).json()
    assert page["total"] >= 9 and len(page["items"]) == 2
    assert all(d["kind"] == "label" for d in page["items"])
    uspstf = client.get("/v1/documents", params={"issuer": "preventive services"}).json()
    assert [d["doc_id"] for d in uspstf["items"]] == [
        "uspstf-osteoporosis-to-prevent-fractures-screening"
    ]
    old = client.get("/v1/documents/ngc-10953").json()
    assert old["superseded_by"] == ["cdc-opioid-prescribing-2022"]
    assert [v["doc_id"] for v in old["versions"]] == ["cdc-opioid-prescribing-2022"]
    current = client.get("/v1/documents/cdc-opioid-prescribing-2022").json()
    assert current["section_list"][0]["pages"] and current["supersedes"] == ["ngc-10953"]
    assert client.get("/v1/documents/unknown").status_code == 404


def test_health_readiness_metrics_and_openapi(client: TestClient) -> None:
    import guideqa

    assert client.get("/healthz").json() == {"status": "ok", "version": guideqa.__version__}
    ready = client.get("/readyz").json()
    assert ready["index_version"] == "v000001" and ready["counts_by_kind"]["label"] >= 9
    _ask(client, question="How is falciparum malaria treated with artemether?")
    metrics = client.get("/metrics").text
    assert 'guideqa_http_requests_total{method="POST",route="/v1/ask",status="200"}' in metrics
    assert (
        "guideqa_answers_total 1.0" in metrics
        and 'guideqa_index_info{version="v000001"} 1.0' in metrics
    )
    schema = client.get("/openapi.json").json()
    validate(schema)  # raises on an invalid OpenAPI document
    assert schema["openapi"].startswith("3.") and "/v1/ask" in schema["paths"]
    assert "AskRequest" in schema["components"]["schemas"]
    assert client.get("/").text.startswith("<!doctype html>")


def test_explain_returns_the_score_breakdown_and_rejected_candidates(client: TestClient) -> None:
    plain = _ask(client, question="Can warfarin be used during pregnancy?").json()
    assert plain["explanation"] is None
    body = _ask(client, question="Can warfarin be used during pregnancy?", explain=True).json()
    explanation = body["explanation"]
    chosen = explanation["chosen"][0]
    factors = {f["name"]: f for f in chosen["score"]["factors"]}
    assert {"coverage", "passage", "population_match"} <= factors.keys()
    assert all(f["note"] for f in factors.values())  # each factor says what it means
    assert explanation["rejected"] and all(r["reason"] for r in explanation["rejected"])
    statement = body["sections"][0]["statements"][0]
    assert statement["population"] == {"kind": "pregnancy", "label": "pregnancy"}
    assert "drug: warfarin" in explanation["concepts"]
