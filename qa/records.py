"""Answer records: what an answer said and why, kept for audit, sharing, replay and feedback.

Recording is off by default: questions may carry protected health information. When it is on,
a record holds the (redacted) question, the whole Answer, the index version, the settings id,
the embedding model, and each cited passage's chunk id with a hash of its text. Records expire
after the retention period and can be deleted one by one or in bulk; feedback is stored with
its record and goes with it."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Literal, Protocol

import yaml
from pydantic import BaseModel, ConfigDict, Field

from guideqa.ingest.errors import GuideQAError
from guideqa.ingest.models import SourceKind
from guideqa.qa.models import Answer, new_answer_id

_DATA = Path(__file__).parent / "data" / "redaction.yaml"


class RecordNotFoundError(GuideQAError):
    """No answer record has this id (never recorded, deleted, or expired)."""


class RecordingOffError(GuideQAError):
    """Answer recording is off, so there is no record to read, replay or comment on."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class RecordedPassage(_Frozen):
    """A cited passage as it was when the answer was given."""

    n: int
    doc_id: str
    chunk_id: str
    content_hash: str = Field(description="sha256 of the passage text")


class Feedback(_Frozen):
    """A clinician's verdict on an answer or one of its statements."""

    feedback_id: str
    created: dt.datetime
    helpful: bool | None = None
    statement: int | None = Field(
        default=None, description="0-based position of the statement, in reading order"
    )
    problem: Literal["wrong", "missing", "outdated", "other"] | None = None
    comment: str = ""


class AnswerRecord(_Frozen):
    """One recorded answer."""

    answer_id: str
    created: dt.datetime
    question: str
    interpreted_question: str
    kinds: tuple[SourceKind, ...] = Field(default=(), description="kinds asked for (): all")
    answer: Answer
    index_version: str | None
    settings_id: str
    model: str = Field(description="the embedding model and how it ran")
    passages: tuple[RecordedPassage, ...]
    timings_ms: dict[str, float]
    redacted: bool
    feedback: tuple[Feedback, ...] = ()


class Redactor:
    """Best-effort removal of obvious identifiers (dates of birth, record numbers, phone
    numbers, e-mail addresses) by the patterns in qa/data/redaction.yaml. It is not
    de-identification: names and free-text details pass through."""

    def __init__(self, patterns: list[tuple[str, re.Pattern[str]]]) -> None:
        self.patterns = patterns

    @classmethod
    def load(cls, path: Path = _DATA) -> Redactor:
        """The patterns of the data file, each compiled (a bad one fails at load)."""
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls([(p["label"], re.compile(p["pattern"], re.IGNORECASE)) for p in data])

    def __call__(self, text: str) -> str:
        for label, pattern in self.patterns:
            text = pattern.sub(f"[{label}]", text)
        return text


def make_record(
    answer: Answer,
    kinds: tuple[SourceKind, ...],
    settings_id: str,
    model: str,
    redactor: Redactor | None,
) -> AnswerRecord:
    """The record of an answer (its question fields redacted when a redactor is given)."""
    clean = redactor or (lambda text: text)
    question, interpreted = clean(answer.question), clean(answer.interpreted_question)
    stored = answer.model_copy(update={"question": question, "interpreted_question": interpreted})
    return AnswerRecord(
        answer_id=answer.answer_id or new_answer_id(),
        created=dt.datetime.now(dt.UTC),
        question=question,
        interpreted_question=interpreted,
        kinds=kinds,
        answer=stored,
        index_version=answer.index_version,
        settings_id=settings_id,
        model=model,
        passages=tuple(
            RecordedPassage(
                n=c.n,
                doc_id=c.doc_id,
                chunk_id=c.chunk_id,
                content_hash=hashlib.sha256(c.passage.encode("utf-8")).hexdigest(),
            )
            for c in answer.references
        ),
        timings_ms=dict(answer.timings_ms),
        redacted=redactor is not None,
    )


class AnswerStore(Protocol):
    """Where answer records live: SQLite on one machine, Redis for API replicas."""

    def save(self, record: AnswerRecord) -> None:
        """Store a record (and drop those past the retention period)."""
        ...

    def get(self, answer_id: str) -> AnswerRecord:
        """A record with its feedback; RecordNotFoundError when there is none."""
        ...

    def add_feedback(self, answer_id: str, feedback: Feedback) -> None:
        """Attach feedback to a recorded answer."""
        ...

    def delete(self, answer_id: str) -> bool:
        """Delete one record and its feedback."""
        ...

    def purge(self, before: dt.datetime | None = None) -> int:
        """Delete every record older than `before` (all when None)."""
        ...

    def since(self, start: dt.datetime | None = None) -> Iterator[AnswerRecord]:
        """Records from `start` on, oldest first."""
        ...

    def problem(self) -> str | None:
        """Why the store cannot be used now (a shared store unreachable), or None."""
        ...

    def close(self) -> None:
        """Release the store."""
        ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
  answer_id TEXT PRIMARY KEY, created TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS answers_by_time ON answers(created);
CREATE TABLE IF NOT EXISTS feedback (
  feedback_id TEXT PRIMARY KEY,
  answer_id TEXT NOT NULL REFERENCES answers(answer_id) ON DELETE CASCADE,
  created TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feedback_by_answer ON feedback(answer_id);
"""


class SQLiteAnswerStore:
    """Answer records and their feedback in one SQLite file; safe across request threads."""

    def __init__(self, path: Path, retention_days: float) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.retention = dt.timedelta(days=retention_days)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.executescript(_SCHEMA)

    def save(self, record: AnswerRecord) -> None:
        """Store a record, then drop the records past the retention period."""
        body = record.model_copy(update={"feedback": ()}).model_dump_json()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                (record.answer_id, record.created.isoformat(), body),
            )
        self.purge(dt.datetime.now(dt.UTC) - self.retention)

    def get(self, answer_id: str) -> AnswerRecord:
        """A record with its feedback; RecordNotFoundError when there is none."""
        with self._lock:
            found = self._db.execute(
                "SELECT body FROM answers WHERE answer_id = ? AND created >= ?",
                (answer_id, self._oldest()),
            ).fetchone()
            notes = self._db.execute(
                "SELECT body FROM feedback WHERE answer_id = ? ORDER BY created", (answer_id,)
            ).fetchall()
        if found is None:
            raise RecordNotFoundError(
                f"no answer record {answer_id!r}: it was never recorded, was deleted, or is "
                f"older than the retention period ({self.retention.days} days)"
            )
        record = AnswerRecord.model_validate_json(found[0])
        feedback = tuple(Feedback.model_validate_json(n) for (n,) in notes)
        return record.model_copy(update={"feedback": feedback})

    def _oldest(self) -> str:
        return (dt.datetime.now(dt.UTC) - self.retention).isoformat()

    def add_feedback(self, answer_id: str, feedback: Feedback) -> None:
        """Attach feedback to a recorded answer (RecordNotFoundError if there is none)."""
        self.get(answer_id)
        with self._lock:
            self._db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?)",
                (
                    feedback.feedback_id,
                    answer_id,
                    feedback.created.isoformat(),
                    feedback.model_dump_json(),
                ),
            )

    def delete(self, answer_id: str) -> bool:
        """Delete one record and its feedback; False when there was none."""
        with self._lock:
            cursor = self._db.execute("DELETE FROM answers WHERE answer_id = ?", (answer_id,))
        return cursor.rowcount > 0

    def purge(self, before: dt.datetime | None = None) -> int:
        """Delete every record older than `before` (all of them when None); how many."""
        with self._lock:
            if before is None:
                cursor = self._db.execute("DELETE FROM answers")
            else:
                cursor = self._db.execute(
                    "DELETE FROM answers WHERE created < ?", (before.isoformat(),)
                )
        return cursor.rowcount

    def since(self, start: dt.datetime | None = None) -> Iterator[AnswerRecord]:
        """Records (with feedback) from `start` on, oldest first."""
        floor = max(start.isoformat() if start else "", self._oldest())
        with self._lock:
            ids = [
                r[0]
                for r in self._db.execute(
                    "SELECT answer_id FROM answers WHERE created >= ? ORDER BY created", (floor,)
                ).fetchall()
            ]
        for answer_id in ids:
            try:
                yield self.get(answer_id)
            except RecordNotFoundError:
                continue  # deleted meanwhile

    def problem(self) -> str | None:
        """A local file: nothing to reach."""
        return None

    def close(self) -> None:
        """Release the database."""
        with self._lock:
            self._db.close()
