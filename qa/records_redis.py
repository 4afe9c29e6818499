"""Answer records in Redis: what API replicas share, so that a permalink, a replay or feedback
works whichever replica recorded the answer. Each record expires with the retention period
(a TTL); a sorted set by time serves exports and bulk deletion. redis-py is imported here only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

from guideqa.ingest.errors import GuideQAError
from guideqa.qa.records import AnswerRecord, Feedback, RecordNotFoundError
from guideqa.qa.redis_link import RedisLink

T = TypeVar("T")


class RecordStoreUnavailableError(GuideQAError):
    """The shared answer-record store (Redis) cannot be reached."""


class RedisAnswerStore:
    """Records and their feedback under PREFIX:answer:ID and PREFIX:answer:ID:feedback."""

    def __init__(
        self, url: str, retention_days: float, prefix: str = "guideqa", timeout_s: float = 2.0
    ) -> None:
        self.url = url
        self.retention = dt.timedelta(days=retention_days)
        self._prefix = prefix
        self._link = RedisLink(url, "answer-record store", RecordStoreUnavailableError, timeout_s)
        self._redis = self._link.client

    def _key(self, answer_id: str) -> str:
        return f"{self._prefix}:answer:{answer_id}"

    @property
    def _by_time(self) -> str:
        return f"{self._prefix}:answers"

    def _call(self, action: str, work: Callable[[], T]) -> T:
        return self._link.call(action, work)

    def _ids(self, low: float | str, high: float | str) -> list[bytes]:
        """Answer ids recorded between two times (epoch seconds or +-inf), oldest first."""
        found = self._call(
            "list answer records", lambda: self._redis.zrangebyscore(self._by_time, low, high)
        )
        return cast(list[bytes], found)

    def save(self, record: AnswerRecord) -> None:
        """Store a record until the retention period, counted from its time, ends."""
        left = record.created + self.retention - dt.datetime.now(dt.UTC)
        if left.total_seconds() <= 0:
            return  # already past retention: nothing to keep
        ttl = max(1, int(left.total_seconds()))
        body = record.model_copy(update={"feedback": ()}).model_dump_json()

        def write() -> None:
            with self._redis.pipeline() as pipe:
                pipe.set(self._key(record.answer_id), body, ex=ttl)
                pipe.zadd(self._by_time, {record.answer_id: record.created.timestamp()})
                oldest = (dt.datetime.now(dt.UTC) - self.retention).timestamp()
                pipe.zremrangebyscore(self._by_time, "-inf", oldest)
                pipe.execute()

        self._call("record the answer", write)

    def get(self, answer_id: str) -> AnswerRecord:
        """A record with its feedback; RecordNotFoundError when there is none."""

        def read() -> tuple[Any, list[Any]]:
            body = self._redis.get(self._key(answer_id))
            notes = self._redis.lrange(self._key(answer_id) + ":feedback", 0, -1)
            return body, cast(list[Any], notes)

        body, notes = self._call("read the answer record", read)
        if body is None:
            raise RecordNotFoundError(
                f"no answer record {answer_id!r}: it was never recorded, was deleted, or is "
                f"older than the retention period ({self.retention.days} days)"
            )
        record = AnswerRecord.model_validate_json(body)
        feedback = tuple(Feedback.model_validate_json(n) for n in notes)
        return record.model_copy(update={"feedback": feedback})

    def add_feedback(self, answer_id: str, feedback: Feedback) -> None:
        """Attach feedback; it expires with its record."""
        self.get(answer_id)
        key = self._key(answer_id) + ":feedback"

        def write() -> None:
            ttl = self._redis.ttl(self._key(answer_id))
            with self._redis.pipeline() as pipe:
                pipe.rpush(key, feedback.model_dump_json())
                pipe.expire(key, max(1, int(cast(int, ttl))))
                pipe.execute()

        self._call("record the feedback", write)

    def delete(self, answer_id: str) -> bool:
        """Delete one record and its feedback; False when there was none."""

        def remove() -> int:
            self._redis.zrem(self._by_time, answer_id)
            return int(self._redis.delete(self._key(answer_id), self._key(answer_id) + ":feedback"))

        return bool(self._call("delete the answer record", remove))

    def purge(self, before: dt.datetime | None = None) -> int:
        """Delete every record older than `before` (all of them when None); how many."""
        high = "+inf" if before is None else before.timestamp()
        ids = self._ids("-inf", high)
        return sum(self.delete(i.decode()) for i in ids)

    def since(self, start: dt.datetime | None = None) -> Iterator[AnswerRecord]:
        """Records (with feedback) from `start` on, oldest first."""
        low = "-inf" if start is None else start.timestamp()
        ids = self._ids(low, "+inf")
        for answer_id in ids:
            try:
                yield self.get(answer_id.decode())
            except RecordNotFoundError:
                continue  # expired or deleted meanwhile

    def problem(self) -> str | None:
        """Why the store cannot be used now, or None."""
        return self._link.problem()

    def close(self) -> None:
        """Release the connection pool."""
        self._link.close()
