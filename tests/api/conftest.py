"""Fixtures shared by the API tests."""

from tests.api.chat_stub import stub

__all__ = ["stub"]
