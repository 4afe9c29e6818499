"""ASGI guards in front of every route: request ids, security headers, per-client rate limits,
bearer-token checks for writes and body limits, all before a request body is read.

A body is never read whole before it is checked: the declared length is checked first, then
the bytes are counted as they stream, and a write request without a valid token is refused
before its first byte is read."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from guideqa.api.settings import ServerSettings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
_WRITE_ROUTES = re.compile(r"^/v1/documents(/.*)?$")


class BodyTooLarge(Exception):
    """Raised inside receive() when a streamed body passes its limit."""


def token_fingerprint(token: str | None) -> str:
    """A short, non-reversible name for a token, for audit records and logs."""
    if not token:
        return "none"
    return "sha256:" + hashlib.sha256(token.encode("utf-8")).hexdigest()[:12]


def check_bearer(header: str | None, token: str | None) -> tuple[int, str] | None:
    """None when the Authorization header carries the token; else (status, detail). Bytes are
    compared, so a non-ASCII header is a wrong token, not a server error."""
    if token is None:
        return 403, "set GUIDEQA_API_TOKEN (16 characters or more) on the server to enable writes"
    scheme, _, given = (header or "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return 401, "send the API token as 'Authorization: Bearer <token>'"
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        return 401, "the API token is not valid"
    return None


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per client address (a bounded table of the most recent clients)."""

    def __init__(self, per_minute: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def allow(self, client: str, now: float | None = None) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        bucket = self._buckets.pop(client, None) or _Bucket(float(self.burst), now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[client] = bucket
        while len(self._buckets) > self.max_clients:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return (1.0 - bucket.tokens) / self.rate if self.rate else 60.0


def _route_path(scope: Scope) -> str:
    """The path as the app's routes see it (without the prefix it is mounted under)."""
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _problem(status: int, title: str, detail: str, path: str, extra: dict[str, str]) -> Message:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": title,
            "status": status,
            "detail": detail,
            "instance": path,
        }
    ).encode()
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
    ]
    headers += [(k.encode(), v.encode()) for k, v in extra.items()]
    return {"status": status, "headers": headers, "body": body}


async def send_problem(
    send: Send, status: int, title: str, detail: str, path: str, extra: dict[str, str] | None = None
) -> None:
    """Answer with a problem-details response straight from the ASGI layer."""
    message = _problem(status, title, detail, path, extra or {})
    await send({"type": "http.response.start", "status": status, "headers": message["headers"]})
    await send({"type": "http.response.body", "body": message["body"]})


class Guards:
    """The ASGI middleware: request id and headers, rate limit, early auth, body limits."""

    def __init__(self, app: ASGIApp, server: ServerSettings, token: str | None) -> None:
        self.app = app
        self.server = server
        self.token = token
        self.limiter = RateLimiter(server.rate_limit_per_minute, server.rate_limit_burst)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _header(scope, b"x-request-id") or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id[:64]
        send = self._with_headers(send, request_id[:64])
        path = _route_path(scope)
        refusal = self._refusal(scope, path)
        if refusal is not None:
            await send_problem(send, *refusal, path, refusal_headers(refusal))
            return
        limit = self._body_limit(scope, path)
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            await send_problem(
                send,
                413,
                "Request too large",
                f"the body is {declared} bytes; the limit for {path} is {limit}",
                path,
            )
            return
        await self._forward(scope, receive, send, limit, path)

    def _refusal(self, scope: Scope, path: str) -> tuple[int, str, str] | None:
        client = (scope.get("client") or ("unknown", 0))[0]
        if client not in self.server.rate_limit_exempt:
            wait = self.limiter.allow(client)
            if wait > 0:
                seconds = max(1, math.ceil(wait))
                return 429, "Too many requests", f"rate limit reached: retry in {seconds} s"
        if scope.get("method") in ("POST", "PUT", "DELETE") and _WRITE_ROUTES.match(path):
            failed = check_bearer(_header(scope, b"authorization"), self.token)
            if failed is not None:
                status, detail = failed
                return (
                    status,
                    "Unauthorized" if status == 401 else "Write endpoints disabled",
                    detail,
                )
        return None

    def _body_limit(self, scope: Scope, path: str) -> int:
        if scope.get("method") == "POST" and path == "/v1/documents":
            return self.server.max_upload_bytes + 64 * 1024  # the multipart envelope
        if path == "/v1/ask":
            return self.server.max_ask_body_bytes
        return self.server.max_body_bytes

    async def _forward(
        self, scope: Scope, receive: Receive, send: Send, limit: int, path: str
    ) -> None:
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except BodyTooLarge:
            if not started:
                await send_problem(
                    send, 413, "Request too large", f"the limit for {path} is {limit} bytes", path
                )

    @staticmethod
    def _with_headers(send: Send, request_id: str) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                headers += [
                    (b"x-request-id", request_id.encode("latin-1", "replace")),
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                message["headers"] = headers
            await send(message)

        return wrapped


def refusal_headers(refusal: tuple[int, str, str]) -> dict[str, str]:
    """Retry-After on a 429; WWW-Authenticate on a 401."""
    status, _, detail = refusal
    if status == 429:
        seconds = re.search(r"\d+", detail)
        return {"retry-after": str(max(1, int(seconds.group(0)) if seconds else 1))}
    if status == 401:
        return {"www-authenticate": "Bearer"}
    return {}
