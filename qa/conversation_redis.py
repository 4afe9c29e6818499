"""Conversations in Redis, so that a follow-up may land on any API replica.

Each conversation is a list of JSON turns under `PREFIX:conversation:ID`, expiring after the
idle time (refreshed on every use); a sorted set of last use enforces the same cap on
conversations as the in-memory store, dropping the least recently used. redis-py is imported
here only."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict
from typing import TypeVar, cast

from guideqa.ingest.errors import GuideQAError
from guideqa.qa.conversation import Conversation, ConversationNotFoundError, Turn
from guideqa.qa.redis_link import RedisLink

T = TypeVar("T")


class ConversationStoreUnavailableError(GuideQAError):
    """The shared conversation store (Redis) cannot be reached."""


class RedisConversationStore:
    """Conversations shared by every replica that points at the same Redis."""

    def __init__(
        self,
        url: str,
        max_conversations: int = 1000,
        idle_seconds: float = 3600.0,
        max_turns: int = 50,
        prefix: str = "guideqa",
        timeout_s: float = 2.0,
    ) -> None:
        self.url = url
        self.max_conversations = max_conversations
        self.idle_seconds = idle_seconds
        self.max_turns = max_turns
        self._prefix = prefix
        self._link = RedisLink(
            url, "conversation store", ConversationStoreUnavailableError, timeout_s
        )
        self._redis = self._link.client

    def _key(self, conversation_id: str) -> str:
        return f"{self._prefix}:conversation:{conversation_id}"

    @property
    def _recent(self) -> str:
        return f"{self._prefix}:conversations"

    def _call(self, action: str, work: Callable[[], T]) -> T:
        return self._link.call(action, work, "retry shortly, or ask without a conversation id")

    def create(self) -> Conversation:
        conversation = Conversation(uuid.uuid4().hex)
        self._call("start a conversation", lambda: self._touch(conversation.conversation_id))
        self._call("start a conversation", self._evict)
        return conversation

    def _touch(self, conversation_id: str) -> None:
        # whole seconds, rounded up, plus one: the key outlives the idle check (made with this
        # replica's clock), so a live conversation never loses its turns to the key expiring
        ttl = math.ceil(self.idle_seconds) + 1
        with self._redis.pipeline() as pipe:
            pipe.zadd(self._recent, {conversation_id: time.time()})
            pipe.expire(self._key(conversation_id), ttl)
            pipe.execute()

    def _evict(self) -> None:
        """Forget conversations idle too long, then the least recently used over the cap."""
        self._redis.zremrangebyscore(self._recent, "-inf", time.time() - self.idle_seconds)
        excess = int(self._redis.zcard(self._recent)) - self.max_conversations
        if excess > 0:
            popped = cast(list[tuple[bytes, float]], self._redis.zpopmin(self._recent, excess))
            oldest = [member.decode() for member, _ in popped]
            self._redis.delete(*[self._key(c) for c in oldest])

    def get(self, conversation_id: str) -> Conversation:
        def load() -> Conversation | None:
            used = self._redis.zscore(self._recent, conversation_id)
            if used is None or time.time() - float(used) > self.idle_seconds:
                return None
            raw = self._redis.lrange(self._key(conversation_id), 0, -1)
            self._touch(conversation_id)
            return Conversation(conversation_id, [_turn(t) for t in raw])

        conversation = self._call("read the conversation", load)
        if conversation is None:
            raise ConversationNotFoundError(
                f"conversation {conversation_id!r} is unknown or has expired; "
                "start a new one by asking without a conversation id"
            )
        return conversation

    def append(self, conversation_id: str, turn: Turn) -> None:
        self.get(conversation_id)  # unknown or expired: the same error as in memory

        def push() -> None:
            self._redis.rpush(self._key(conversation_id), json.dumps(asdict(turn)))
            self._touch(conversation_id)

        self._call("record the turn", push)

    def problem(self) -> str | None:
        """Why the store cannot be used now, or None."""
        return self._link.problem()


def _turn(raw: bytes | str) -> Turn:
    data = json.loads(raw)
    return Turn(**{**data, "drugs": tuple(data["drugs"])})
