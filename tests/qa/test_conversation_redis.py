"""The Redis conversation store against a real redis-server: shared, expiring, capped."""

from __future__ import annotations

import time
import uuid

import pytest

from guideqa.qa.conversation import ConversationNotFoundError, Turn
from guideqa.qa.conversation_redis import ConversationStoreUnavailableError, RedisConversationStore
from tests.conftest import free_port


def _turn(question: str) -> Turn:
    return Turn(question, question, "osteoporosis", ("alendronate",), "Screen.", False, "bone")


def _store(url: str, **options: float) -> RedisConversationStore:
    # a prefix per test: the server is shared by the session
    return RedisConversationStore(url, prefix=f"t{uuid.uuid4().hex[:8]}", **options)  # type: ignore[arg-type]


def test_turns_round_trip_and_are_shared_between_replicas(redis_url: str) -> None:
    replica_a = _store(redis_url)
    replica_b = RedisConversationStore(redis_url, prefix=replica_a._prefix)
    conversation = replica_a.create()
    replica_a.append(conversation.conversation_id, _turn("Who should be screened?"))
    replica_b.append(conversation.conversation_id, _turn("And men?"))
    turns = replica_a.get(conversation.conversation_id).turns
    assert [t.question for t in turns] == ["Who should be screened?", "And men?"]
    assert turns[0] == _turn("Who should be screened?")  # tuples survive the JSON round trip


def test_unknown_conversation_is_not_found(redis_url: str) -> None:
    with pytest.raises(ConversationNotFoundError, match="unknown or has expired"):
        _store(redis_url).get("no-such-conversation")


def test_idle_conversations_expire(redis_url: str) -> None:
    store = _store(redis_url, idle_seconds=1.0)
    conversation = store.create()
    store.append(conversation.conversation_id, _turn("q"))
    time.sleep(1.6)
    with pytest.raises(ConversationNotFoundError):
        store.get(conversation.conversation_id)


def test_the_least_recently_used_conversation_goes_over_the_cap(redis_url: str) -> None:
    store = _store(redis_url, max_conversations=2)
    first, second = store.create(), store.create()
    store.get(first.conversation_id)  # first is now more recent than second
    store.create()
    store.get(first.conversation_id)
    with pytest.raises(ConversationNotFoundError):
        store.get(second.conversation_id)


def test_an_unreachable_redis_is_a_clear_error_and_a_readiness_problem() -> None:
    store = RedisConversationStore(f"redis://:secret@127.0.0.1:{free_port()}/0", timeout_s=0.5)
    with pytest.raises(ConversationStoreUnavailableError, match="unreachable") as caught:
        store.create()
    assert "secret" not in str(caught.value)
    problem = store.problem()
    assert problem is not None and "conversation store Redis" in problem
