"""One connection to Redis for the shared stores (conversations, answer records): timeouts,
and every Redis or socket failure turned into the store's own error, naming the server
without its password. redis-py is imported here only."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from guideqa.ingest.errors import GuideQAError

if TYPE_CHECKING:
    import redis

T = TypeVar("T")


def safe_url(url: str) -> str:
    """A Redis URL without its password, for messages and logs."""
    if "@" not in url:
        return url
    scheme, _, rest = url.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


class RedisLink:
    """A Redis client whose failures become `error` (a GuideQAError subclass)."""

    def __init__(
        self, url: str, what: str, error: type[GuideQAError], timeout_s: float = 2.0
    ) -> None:
        import redis as redis_client

        self.url, self.what, self.error = url, what, error
        self.errors = (redis_client.RedisError, OSError)
        self.client: redis.Redis = redis_client.Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    def call(self, action: str, work: Callable[[], T], hint: str = "retry shortly") -> T:
        """Run `work`; an unreachable Redis raises `error` saying what could not be done."""
        try:
            return work()
        except self.errors as exc:
            raise self.error(
                f"cannot {action}: Redis at {safe_url(self.url)} is unreachable ({exc}); {hint}"
            ) from exc

    def problem(self) -> str | None:
        """Why the store cannot be used now (for /readyz), or None."""
        try:
            self.client.ping()
        except self.errors as exc:
            return f"{self.what} Redis at {safe_url(self.url)} is unreachable: {exc}"
        return None

    def close(self) -> None:
        """Release the connection pool."""
        self.client.close()
