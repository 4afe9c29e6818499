"""An append-only audit log of every write: who (a token fingerprint, never the token), what,
when, from where, and the index version it produced. One JSON line per action, flushed and
synced before the response is sent."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
from pathlib import Path


class AuditLog:
    """Appends records to `<index dir>/audit.jsonl`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def record(self, action: str, **fields: object) -> None:
        """Append one record (time and action first)."""
        entry = {"time": dt.datetime.now(dt.UTC).isoformat(), "action": action, **fields}
        line = json.dumps(entry, default=str) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(line)
                handle.flush()
                os.fsync(handle.fileno())

    def entries(self) -> list[dict[str, object]]:
        """Every record, oldest first (for tests and operators)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text("utf-8").splitlines()
        return [json.loads(line) for line in lines if line.strip()]
