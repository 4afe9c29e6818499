"""The ASGI guards and answer slots, against a fake inner app: nothing is read before it is
checked (issue 12, defects 3, 4, 10, 12)."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import SecretStr

from guideqa.api.guards import Guards, Message, RateLimiter, check_bearer
from guideqa.api.problems import ApiProblem
from guideqa.api.settings import ServerSettings, Settings
from guideqa.api.slots import AnswerSlots

TOKEN = "a-token-of-sixteen-or-more"


class InnerApp:
    """Records whether it ran and reads the whole body, as a route would."""

    def __init__(self) -> None:
        self.called = False
        self.body = b""

    async def __call__(self, scope: object, receive, send) -> None:  # type: ignore[no-untyped-def]
        self.called = True
        while True:
            message = await receive()
            self.body += message.get("body", b"")
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def _scope(method: str, path: str, headers: dict[str, bytes], client: str = "10.0.0.1") -> dict:  # type: ignore[type-arg]
    return {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.encode(), v) for k, v in headers.items()],
        "client": (client, 1234),
    }


def _call(
    guards: Guards,
    scope: dict,
    chunks: list[bytes],  # type: ignore[type-arg]
) -> tuple[int, dict[str, str], dict[str, object], int]:
    """Run one request; returns status, headers, JSON body and how many body chunks were read."""
    sent: list[Message] = []
    pending = list(chunks)
    reads = 0

    async def receive() -> Message:
        nonlocal reads
        reads += 1
        body = pending.pop(0) if pending else b""
        return {"type": "http.request", "body": body, "more_body": bool(pending)}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(guards(scope, receive, send))  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {bytes(k).decode(): bytes(v).decode() for k, v in start["headers"]}
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    parsed = json.loads(body) if body.startswith(b"{") else {}
    return start["status"], headers, parsed, reads


def _guards(token: str | None = TOKEN, **server: object) -> tuple[Guards, InnerApp]:
    inner = InnerApp()
    return Guards(inner, ServerSettings(**server), token), inner  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("authorization", "status"),
    [(None, 401), (b"Bearer ", 401), (b"Bearer wrong", 401), ("Bearer é".encode("latin-1"), 401)],
)
def test_an_upload_without_the_token_is_refused_before_its_body_is_read(
    authorization: bytes | None, status: int
) -> None:
    guards, inner = _guards()
    headers = {"content-length": b"3000000000"}
    if authorization is not None:
        headers["authorization"] = authorization
    got, response_headers, body, reads = _call(
        guards, _scope("POST", "/v1/documents", headers), [b"x" * 1024] * 10
    )
    assert (got, reads, inner.called) == (status, 0, False)
    assert response_headers["www-authenticate"] == "Bearer"
    assert body["status"] == status and "token" in str(body["detail"])


def test_an_empty_or_short_token_leaves_writes_disabled() -> None:
    for configured in ("", "   ", "short"):
        settings = Settings(api_token=SecretStr(configured))
        assert settings.write_token() is None
        assert check_bearer("Bearer ", settings.write_token()) == (
            403,
            "set GUIDEQA_API_TOKEN (16 characters or more) on the server to enable writes",
        )
        assert check_bearer(f"Bearer {configured}", settings.write_token())
    assert Settings(api_token=SecretStr(TOKEN)).write_token() == TOKEN
    assert check_bearer(f"Bearer {TOKEN}", TOKEN) is None


def test_a_declared_length_over_the_limit_is_refused_unread() -> None:
    guards, inner = _guards()
    headers = {"content-length": b"20000", "content-type": b"application/json"}
    status, _, body, reads = _call(guards, _scope("POST", "/v1/ask", headers), [b"{}"])
    assert (status, reads, inner.called) == (413, 0, False)
    assert "limit for /v1/ask is 16384" in str(body["detail"])


def test_a_streamed_body_is_cut_at_the_limit() -> None:
    guards, inner = _guards(max_ask_body_bytes=1000)
    status, _, _, reads = _call(guards, _scope("POST", "/v1/ask", {}), [b"x" * 400] * 50)
    assert status == 413 and reads == 3  # stopped at the third chunk, not the fiftieth
    assert len(inner.body) == 800


def test_every_response_carries_the_security_headers_and_a_request_id() -> None:
    guards, _ = _guards()
    status, headers, _, _ = _call(guards, _scope("GET", "/readyz", {}), [])
    assert status == 200
    assert "default-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and len(headers["x-request-id"]) == 32
    _, echoed, _, _ = _call(guards, _scope("GET", "/readyz", {"x-request-id": b"abc-1"}), [])
    assert echoed["x-request-id"] == "abc-1"


def test_the_rate_limit_is_per_client_with_retry_after() -> None:
    guards, _ = _guards(rate_limit_per_minute=60, rate_limit_burst=2)
    for _ in range(2):
        assert _call(guards, _scope("GET", "/readyz", {}), [])[0] == 200
    status, headers, body, _ = _call(guards, _scope("GET", "/readyz", {}), [])
    assert status == 429 and headers["retry-after"] == "1" and "retry in 1 s" in str(body)
    assert _call(guards, _scope("GET", "/readyz", {}, client="10.0.0.2"), [])[0] == 200


def test_exempt_clients_are_not_limited() -> None:
    guards, _ = _guards(rate_limit_burst=1, rate_limit_exempt=("127.0.0.1",))
    statuses = {_call(guards, _scope("GET", "/x", {}, "127.0.0.1"), [])[0] for _ in range(5)}
    assert statuses == {200}


def test_token_bucket_refills_over_time_and_forgets_old_clients() -> None:
    limiter = RateLimiter(per_minute=60, burst=1, max_clients=2)
    assert limiter.allow("a", now=0.0) == 0.0
    assert limiter.allow("a", now=0.5) == pytest.approx(0.5)
    assert limiter.allow("a", now=1.0) == 0.0
    limiter.allow("b", now=1.0)
    limiter.allow("c", now=1.0)
    assert len(limiter._buckets) == 2  # a bounded table: a flood of addresses cannot grow it


def test_answer_slots_queue_is_bounded_and_times_out() -> None:
    async def scenario() -> list[object]:
        slots = AnswerSlots(concurrent=1, queued=1, timeout=0.2)
        outcomes: list[object] = []

        async def one(hold: float) -> None:
            try:
                async with slots.slot():
                    await asyncio.sleep(hold)
                outcomes.append("done")
            except ApiProblem as problem:
                outcomes.append((problem.status, problem.headers.get("retry-after")))

        await asyncio.gather(one(0.5), one(0.0), one(0.0))
        return outcomes

    outcomes = asyncio.run(scenario())
    # one runs, one waits past its timeout, one finds the queue full: 503 with Retry-After
    assert sorted(map(str, outcomes)) == sorted(["done", "(503, '2')", "(503, '5')"])


def test_repeated_kinds_are_asked_once() -> None:
    from guideqa.api.schemas import AskRequest

    request = AskRequest.model_validate({"question": "x", "kinds": ["research"] * 3})
    assert request.kinds == ["research"]


def test_serve_passes_the_connection_limits_to_uvicorn(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    import uvicorn
    from click.testing import CliRunner

    import guideqa.api.app
    from guideqa.api.cli import main

    captured: dict[str, object] = {}
    monkeypatch.setattr(guideqa.api.app, "create_app", lambda settings: "app")
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: captured.update(kwargs))
    monkeypatch.setenv("GUIDEQA_SERVER__TIMEOUT_KEEP_ALIVE", "7")
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 0, result.output
    assert captured["timeout_keep_alive"] == 7 and captured["limit_concurrency"] == 256
    assert captured["h11_max_incomplete_event_size"] == 16_384


def test_a_client_that_left_while_queued_is_not_answered(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object, token_counter: object
) -> None:
    from pathlib import Path

    from fastapi.testclient import TestClient
    from starlette.requests import Request

    from guideqa.api.app import create_app
    from guideqa.ingest.loaders import load_paths
    from tests.api.test_manage import small_settings, write_opioid_2016_corpus
    from tests.conftest import make_writer

    folder = Path(str(tmp_path))
    settings = small_settings(folder)
    write_opioid_2016_corpus(folder / "corpus")
    make_writer(settings, token_counter).ingest(load_paths([folder / "corpus"]).documents)
    app = create_app(settings)
    asked: list[str] = []
    engine = app.state.guideqa.qa.engine
    monkeypatch.setattr(engine, "prepare", lambda *args: asked.append(args[0]))

    async def gone(self: Request) -> bool:
        return True

    monkeypatch.setattr(Request, "is_disconnected", gone)
    with TestClient(app) as client:
        response = client.post("/v1/ask", json={"question": "Opioids for chronic pain?"})
    assert response.status_code == 499 and asked == []
