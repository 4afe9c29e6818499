"""A small OpenAI-compatible chat server on loopback, started by tests: it answers
`POST /v1/chat/completions` as a whole reply or, when asked to stream, as Server-Sent Events
chunk by chunk (optionally pausing after the bottom line until the test opens a gate). It
writes a fixed answer, or (`echo`) one built from the first sentences of the passages it was
sent (the bottom line from the first passage's first sentence, a section sentence from each
passage's longest other one), so it answers over any index."""

from __future__ import annotations

import contextlib
import html
import json
import re
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tests.qa.test_generative import GOOD

_PASSAGE = re.compile(r'<passage n="(\d+)" source="([^"]*)">\n(.*?)\n</passage>', re.DOTALL)
_FIELDS = {"guideline": "guidelines", "FDA drug label": "label", "research abstract": "research"}


class Stub:
    """What the stub server saw, and how it should answer next."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self.mode = "ok"  # ok | echo | slow | error
        self.gate: threading.Event | None = None  # streamed replies wait here after the bottom line

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """The answer this request gets."""
        if self.mode != "echo":
            return GOOD
        prompt = str(body["messages"][-1]["content"])
        answer: dict[str, Any] = {"answerable": True, "bottom_line": []}
        for n, source, text in _PASSAGE.findall(prompt):
            sentences = re.split(r"(?<=[.!?])\s", html.unescape(text).strip())
            if not answer["bottom_line"]:
                answer["bottom_line"].append({"text": sentences[0], "citations": [int(n)]})
            longest = max(sentences[1:] or sentences, key=len)
            field = _FIELDS[source.split(":")[0]]
            answer.setdefault(field, []).append({"text": longest, "citations": [int(n)]})
        return answer


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep the test output quiet
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            headers = {k.lower(): v for k, v in self.headers.items()}
            stub.requests.append((self.path, headers, body))
            if stub.mode == "slow":
                time.sleep(2.0)
            if stub.mode == "error":
                self._reply(500, {"error": {"message": "model crashed", "type": "server"}})
                return
            text = json.dumps(stub.reply(body))
            if body.get("stream"):
                self._stream(text, body.get("model", ""))
                return
            message = {"role": "assistant", "content": text}
            self._reply(
                200,
                {
                    "id": "chatcmpl-stub",
                    "object": "chat.completion",
                    "created": 0,
                    "model": body.get("model", ""),
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                },
            )

        def _stream(self, text: str, model: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.end_headers()
            cut = text.index('"guidelines"') if '"guidelines"' in text else len(text)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                for piece in _pieces(text, cut):
                    if piece is None:
                        if stub.gate is not None:
                            stub.gate.wait(timeout=60)
                        continue
                    self._chunk(model, {"content": piece}, None)
                self._chunk(model, {}, "stop")
                self.wfile.write(b"data: [DONE]\n\n")

        def _chunk(self, model: str, delta: dict[str, str], finish: str | None) -> None:
            chunk = {
                "id": "chatcmpl-stub",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            self.wfile.flush()

        def _reply(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(data)  # the client may have given up (the timeout test)

    return Handler


def _pieces(text: str, cut: int, size: int = 40) -> Iterator[str | None]:
    """The reply in pieces of `size` characters, with None (the pause) at `cut`."""
    for start in range(0, cut, size):
        yield text[start : min(start + size, cut)]
    yield None
    for start in range(cut, len(text), size):
        yield text[start : start + size]


@pytest.fixture()
def stub() -> Iterator[tuple[Stub, str]]:
    """The stub server on a free loopback port, and its base URL."""
    state = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    if state.gate is not None:
        state.gate.set()
    server.shutdown()
    server.server_close()
