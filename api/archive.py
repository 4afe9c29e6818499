"""The answer archive behind `GuideQA`: record answers, read and delete records, replay them,
take feedback, and export for audit and for the evaluation set."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from typing import Literal

from guideqa.api.settings import Settings
from guideqa.index.backend import IndexBackend, SearchIndex
from guideqa.index.hybrid import settings_id
from guideqa.ingest.errors import GuideQAError
from guideqa.ingest.models import SourceKind
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.records import (
    AnswerRecord,
    AnswerStore,
    Feedback,
    RecordingOffError,
    Redactor,
    SQLiteAnswerStore,
    make_record,
)
from guideqa.qa.replay import ReplayResult, diff_answers

log = logging.getLogger("guideqa.api")
Problem = Literal["wrong", "missing", "outdated", "other"]


class AnswerArchive:
    """Answer records in a SQLite store, when recording is on."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.records.enabled
        self._store: AnswerStore | None = None
        self._redactor = Redactor.load() if settings.records.redact else None
        self._settings_id = settings_id(settings.embedding, settings.chunking)
        identity = settings.embedding.identity()
        self._model = " ".join(str(identity[k]) for k in sorted(identity) if identity[k])

    @property
    def store(self) -> AnswerStore:
        """The store (opened on first use); RecordingOffError when recording is off."""
        if not self.enabled:
            raise RecordingOffError(
                "answer recording is off, so answers have no records: set "
                "GUIDEQA_RECORDS__ENABLED=true (see the README on what is stored)"
            )
        if self._store is None:
            records = self.settings.records
            if records.store == "sqlite":
                self._store = SQLiteAnswerStore(records.path, records.retention_days)
            else:
                from guideqa.qa.records_redis import RedisAnswerStore

                self._store = RedisAnswerStore(records.store, records.retention_days)
        return self._store

    def record(self, answer: Answer, kinds: tuple[SourceKind, ...]) -> None:
        """Store the answer when recording is on (redacted as the settings say)."""
        if not self.enabled:
            return
        record = make_record(answer, kinds, self._settings_id, self._model, self._redactor)
        try:
            self.store.save(record)
        # the clinician still gets the answer (a locked or full disk, Redis away); /readyz says
        except (GuideQAError, sqlite3.Error, OSError) as exc:
            log.error("answer %s was not recorded: %s", answer.answer_id, exc)

    def problem(self) -> str | None:
        """Why answers cannot be recorded now, or None (also when recording is off)."""
        if not self.enabled:
            return None
        try:
            return self.store.problem()
        except (GuideQAError, sqlite3.Error, OSError) as exc:
            return f"answer records at {self.settings.records.path} cannot be opened: {exc}"

    def get(self, answer_id: str) -> AnswerRecord:
        """A record with its feedback."""
        return self.store.get(answer_id)

    def delete(self, answer_id: str) -> bool:
        """Delete a record and its feedback."""
        return self.store.delete(answer_id)

    def purge(self, before: dt.datetime | None) -> int:
        """Delete every record older than `before` (all when None)."""
        return self.store.purge(before)

    def since(self, start: dt.datetime | None) -> Iterator[AnswerRecord]:
        """Records from `start` on, oldest first."""
        return self.store.since(start)

    def feedback(
        self,
        answer_id: str,
        helpful: bool | None,
        statement: int | None,
        problem: Problem | None,
        comment: str,
    ) -> Feedback:
        """Attach a clinician's feedback to a recorded answer."""
        record = self.store.get(answer_id)
        count = sum(len(s.statements) for s in record.answer.sections)
        if statement is not None and not 0 <= statement < count:
            raise ValueError(
                f"statement {statement} does not exist: the answer has {count} statements "
                "(numbered from 0 in reading order)"
            )
        note = Feedback(
            feedback_id=uuid.uuid4().hex,
            created=dt.datetime.now(dt.UTC),
            helpful=helpful,
            statement=statement,
            problem=problem,
            comment=comment.strip()[: self.settings.records.max_comment_chars],
        )
        self.store.add_feedback(answer_id, note)
        return note

    def replay(
        self,
        answer_id: str,
        backend: IndexBackend,
        current: AnswerEngine[SearchIndex],
        engine_for: Callable[[SearchIndex], AnswerEngine[SearchIndex]],
        exact: bool = False,
    ) -> ReplayResult:
        """Ask the recorded (standalone) question again: on the current index, or with
        `exact` on the recorded version when it is still kept (byte-identical when nothing
        else changed). The diff says what changed."""
        record = self.store.get(answer_id)
        kept = {m.version for m in backend.versions()}
        available = record.index_version in kept
        question, kinds = record.interpreted_question, record.kinds
        if exact and available and record.index_version != current.index.version:
            index = backend.open(current.index.embedder, record.index_version)
            try:
                answer = engine_for(index).ask(question, None, kinds)
            finally:
                index.close()
        else:
            answer = current.ask(question, None, kinds)
        return ReplayResult(
            answer_id=answer_id,
            question=question,
            recorded_version=record.index_version,
            replayed_version=answer.index_version,
            recorded_version_available=available,
            exact=answer.index_version == record.index_version,
            answer=answer,
            diff=diff_answers(record.answer, answer),
        )

    def close(self) -> None:
        """Release the store."""
        if self._store is not None:
            self._store.close()
            self._store = None
