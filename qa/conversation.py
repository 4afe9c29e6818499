"""Conversations: turns kept behind a small store interface (in memory by default)."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from guideqa.ingest.errors import GuideQAError


class ConversationNotFoundError(GuideQAError):
    """The conversation id is unknown or has expired."""


class ConversationFullError(GuideQAError):
    """The conversation has reached its turn limit."""


@dataclass(frozen=True)
class Turn:
    """One question and how it was understood and answered."""

    question: str
    interpreted_question: str
    topic: str
    drugs: tuple[str, ...]
    summary: str
    abstained: bool
    focus: str = ""


@dataclass
class Conversation:
    """The turns of one conversation, oldest first."""

    conversation_id: str
    turns: list[Turn] = field(default_factory=list)
    last_used: float = field(default_factory=time.monotonic)


class ConversationStore(Protocol):
    """Where conversations live between requests."""

    max_turns: int

    def create(self) -> Conversation:
        """A new, empty conversation."""
        ...

    def get(self, conversation_id: str) -> Conversation:
        """An existing conversation; ConversationNotFoundError if unknown or expired."""
        ...

    def append(self, conversation_id: str, turn: Turn) -> None:
        """Record a turn."""
        ...

    def problem(self) -> str | None:
        """Why the store cannot be used now (a shared store unreachable), or None."""
        ...


class InMemoryConversationStore:
    """LRU store with an idle timeout; safe across request threads."""

    def __init__(
        self, max_conversations: int = 1000, idle_seconds: float = 3600.0, max_turns: int = 50
    ) -> None:
        self.max_conversations = max_conversations
        self.idle_seconds = idle_seconds
        self.max_turns = max_turns
        self._items: OrderedDict[str, Conversation] = OrderedDict()
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        for key in [k for k, c in self._items.items() if now - c.last_used > self.idle_seconds]:
            del self._items[key]
        while len(self._items) > self.max_conversations:
            self._items.popitem(last=False)

    def create(self) -> Conversation:
        conversation = Conversation(uuid.uuid4().hex)
        with self._lock:
            self._items[conversation.conversation_id] = conversation
            self._expire(time.monotonic())
        return conversation

    def get(self, conversation_id: str) -> Conversation:
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            conversation = self._items.get(conversation_id)
            if conversation is None:
                raise ConversationNotFoundError(
                    f"conversation {conversation_id!r} is unknown or has expired; "
                    "start a new one by asking without a conversation id"
                )
            conversation.last_used = now
            self._items.move_to_end(conversation_id)
            return conversation

    def append(self, conversation_id: str, turn: Turn) -> None:
        conversation = self.get(conversation_id)
        with self._lock:
            conversation.turns.append(turn)

    def problem(self) -> str | None:
        return None


class FileConversationStore:
    """One conversation kept in a JSON file, so CLI follow-ups work across processes."""

    def __init__(self, path: Path, max_turns: int = 50) -> None:
        self.path = path
        self.conversation_id = path.stem
        self.max_turns = max_turns

    def _load(self) -> Conversation:
        conversation = Conversation(self.conversation_id)
        if self.path.exists() and self.path.stat().st_size:
            try:
                data = json.loads(self.path.read_text("utf-8"))
                conversation.turns = [
                    Turn(**{**t, "drugs": tuple(t["drugs"])}) for t in data.get("turns", [])
                ]
            except (ValueError, TypeError, KeyError) as exc:
                raise ConversationNotFoundError(
                    f"{self.path} is not a GuideQA conversation file ({exc}); "
                    "use a new file name to start a conversation"
                ) from exc
        return conversation

    def create(self) -> Conversation:
        return self._load()

    def get(self, conversation_id: str) -> Conversation:
        return self._load()

    def append(self, conversation_id: str, turn: Turn) -> None:
        conversation = self._load()
        conversation.turns.append(turn)
        payload = {
            "conversation_id": self.conversation_id,
            "turns": [asdict(t) for t in conversation.turns],
        }
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        tmp.replace(self.path)

    def problem(self) -> str | None:
        return None


def check_room(conversation: Conversation, max_turns: int) -> None:
    """Refuse another turn once a conversation has reached its limit."""
    if len(conversation.turns) >= max_turns:
        raise ConversationFullError(
            f"conversation {conversation.conversation_id!r} has reached its limit of {max_turns} "
            "turns; start a new conversation"
        )
