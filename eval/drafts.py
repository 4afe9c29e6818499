"""Clinician feedback as draft evaluation questions (`guideqa feedback export`).

Each reported answer becomes a question in the clinical set's format, with the answer and the
complaint attached as comments above it. The informatics team completes `required`, `lead`
and `topic` from the documents (never from GuideQA's output) before adding it to a set."""

from __future__ import annotations

from collections.abc import Iterable

import yaml

from guideqa.eval.dataset import EvalQuestion
from guideqa.ingest.models import SourceKind
from guideqa.qa.records import AnswerRecord, Feedback


def reported(record: AnswerRecord) -> list[Feedback]:
    """The feedback that says something is wrong: not helpful, a problem, or a comment."""
    return [f for f in record.feedback if f.helpful is False or f.problem or f.comment]


def _statements(record: AnswerRecord) -> list[str]:
    return [s.text for section in record.answer.sections for s in section.statements]


def _complaint(record: AnswerRecord, note: Feedback) -> str:
    parts = [f"{note.created:%Y-%m-%d}"]
    if note.helpful is False:
        parts.append("not helpful")
    if note.problem:
        parts.append(note.problem)
    statements = _statements(record)
    if note.statement is not None and note.statement < len(statements):
        parts.append(f"statement {note.statement}: {statements[note.statement]!r}")
    if note.comment:
        parts.append(f"comment: {note.comment!r}")
    return "; ".join(parts)


def draft_question(record: AnswerRecord) -> EvalQuestion:
    """The record's question as an incomplete evaluation question (validated)."""
    kinds = record.kinds or tuple(dict.fromkeys(c.kind for c in record.answer.references))
    return EvalQuestion(
        id=f"fb-{record.answer_id[:12].lower().replace('_', '-')}",
        question=record.interpreted_question,
        area="feedback",
        kinds=kinds or tuple(SourceKind),
        answerable=True,
        tags=("draft", "feedback"),
    )


def drafts_yaml(records: Iterable[AnswerRecord]) -> tuple[str, int]:
    """YAML of the reported answers as draft questions, and how many there are."""
    blocks = [
        "# Draft questions from clinician feedback (guideqa feedback export). Complete\n"
        "# required, lead and topic from the documents, then move them into a question set.\n"
    ]
    count = 0
    for record in records:
        notes = reported(record)
        if not notes:
            continue
        count += 1
        question = draft_question(record)
        lines = [
            f"answer {record.answer_id}, {record.created:%Y-%m-%d %H:%M} UTC, index "
            f"{record.index_version}",
            f"bottom line: {record.answer.summary}",
            *(f"complaint: {_complaint(record, n)}" for n in notes),
        ]
        comment = "".join(f"# {line.replace(chr(10), ' ')}\n" for line in lines)
        data = question.model_dump(mode="json", exclude_defaults=True)
        data["kinds"] = [k.value for k in question.kinds]
        blocks.append(comment + yaml.safe_dump([data], sort_keys=False, allow_unicode=True))
    return "\n".join(blocks), count
