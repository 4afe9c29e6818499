"""Hot swap: notice a newly published index version and serve it from the next request on."""

from __future__ import annotations

import logging
import threading

from api.deps import AppState
from index.hybrid import HybridIndex, settings_id
from index.versions import current_version, current_version_dir
from qa.pipeline import AnswerEngine

log = logging.getLogger("guideqa.api")


class IndexReloader:
    """Polls the CURRENT pointer; loads a new version beside the old one, then swaps."""

    def __init__(self, state: AppState) -> None:
        self.state = state
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def check(self) -> bool:
        """Swap in the published version if it is not the one served; True if swapped."""
        with self._lock:  # one load at a time; requests keep using the old engine meanwhile
            settings = self.state.settings
            served = self.state.holder.engine
            published = current_version(settings.index.directory)
            if published is None or published == served.index.version:
                return False
            index = HybridIndex(
                current_version_dir(settings.index.directory),
                settings.index,
                served.index.embedder,
                settings_id(settings.embedding, settings.chunking),
            )
            engine = AnswerEngine(index, settings.qa, served.conversations, served.composer)
            self.state.holder.swap(engine)
            self.state.metrics.set_index_version(index.version)
            log.info("now serving index %s (was %s)", index.version, served.index.version)
            return True

    def _run(self) -> None:
        interval = self.state.settings.server.reload_interval_seconds
        while not self._stop.wait(interval):
            try:
                self.check()
            except Exception as exc:  # a bad version must not stop the service
                log.error("could not load the published index: %s", exc)

    def start(self) -> None:
        """Poll in a daemon thread."""
        self._thread = threading.Thread(target=self._run, name="index-reloader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop polling."""
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)
