"""Fakes of LangChain's chat-model interface that stream: the reply in pieces, with a gate
the test opens, so a test can see what the composer sends before the model has finished."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, Field


class GatedChatModel(BaseChatModel):
    """Streams `pieces` in order; before piece `gate_at` it waits until `gate` is set (a
    model still writing). `written` counts the pieces sent so far."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    pieces: list[str]
    gate_at: int | None = None
    gate: threading.Event = Field(default_factory=threading.Event)
    written: int = 0

    @property
    def _llm_type(self) -> str:
        return "gated-fake"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(c.message.text for c in self._stream(messages))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for i, piece in enumerate(self.pieces):
            if i == self.gate_at:
                self.gate.wait(timeout=30)
            self.written = i + 1
            yield ChatGenerationChunk(message=AIMessageChunk(content=piece))


def split_after(text: str, marker: str) -> list[str]:
    """The text in two pieces, the first ending just after `marker`."""
    at = text.index(marker) + len(marker)
    return [text[:at], text[at:]]
