"""Hot swap: notice a newly published index version and serve it from the next request on.

The poller also watches the served version on disk. When it disappears or a newly published
version cannot be loaded, the service keeps answering from the index in memory, `/readyz`
reports not ready with the reason, and the poller backs off instead of logging every second."""

from __future__ import annotations

import logging
import threading

from guideqa.api.deps import AppState

log = logging.getLogger("guideqa.api")
MAX_BACKOFF_SECONDS = 60.0


class IndexReloader:
    """Polls the CURRENT pointer; loads a new version beside the old one, then swaps."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._served = state.qa.version

    def check(self) -> bool:
        """Swap in the published version if it is not the one served; True if swapped.
        Raises when the published version cannot be loaded (the served one stays)."""
        with self._lock:
            swapped = self.state.qa.reload()
            self._note_version()
            return swapped

    def _note_version(self) -> None:
        """Log and export the served version when it changed (by this poll or by an upload)."""
        version = self.state.qa.version
        if version != self._served:
            log.info("now serving index %s (was %s)", version, self._served)
            self.state.metrics.set_index_version(version)
            self._served = version

    def poll(self) -> bool:
        """One poll: swap if a new version is published, and record whether the index on disk
        is healthy in `state.index_problem`. True when healthy."""
        served = self.state.qa.version
        try:
            self.check()
            served = self.state.qa.version
            reason = self.state.qa.backend.problem(served)
        except Exception as exc:  # a bad version on disk must not stop the service
            reason = f"{exc}"
        if reason is not None:
            reason = f"{reason}; answering from index {served} in memory"
        if reason != self.state.index_problem:
            log.log(logging.ERROR if reason else logging.INFO, "index %s", reason or "healthy")
        self.state.index_problem = reason
        return reason is None

    def _run(self) -> None:
        base = self.state.settings.server.reload_interval_seconds
        interval = base
        while not self._stop.wait(interval):
            interval = next_interval(self.poll(), interval, base)

    def start(self) -> None:
        """Poll in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="index-reloader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)


def next_interval(healthy: bool, current: float, base: float) -> float:
    """The next poll: at the base interval while healthy; doubling up to a minute while the
    index on disk stays broken (an operator is needed, not a log line every second)."""
    return base if healthy else min(current * 2, MAX_BACKOFF_SECONDS)
