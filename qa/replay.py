"""Replay: ask a recorded question again and say what changed in the answer."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from guideqa.qa.models import Answer

# what differs between two askings of the same question on the same index without the answer
# itself changing: its id, its conversation, how long it took
VOLATILE = {"answer_id", "conversation_id", "timings_ms"}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class ReferenceChange(_Frozen):
    """A cited passage that appears in one answer only."""

    doc_id: str
    chunk_id: str
    title: str
    section: str


class AnswerDiff(_Frozen):
    """How a replayed answer differs from the recorded one."""

    identical: bool = Field(description="the whole answer is the same, byte for byte")
    bottom_line_changed: bool
    bottom_line_before: str
    bottom_line_after: str
    statements_added: tuple[str, ...]
    statements_removed: tuple[str, ...]
    references_added: tuple[ReferenceChange, ...]
    references_removed: tuple[ReferenceChange, ...]
    differences_added: tuple[str, ...] = Field(
        default=(), description="values in the 'where sources differ' block only now"
    )
    differences_removed: tuple[str, ...] = Field(
        default=(), description="values in the 'where sources differ' block only before"
    )


class ReplayResult(_Frozen):
    """A replay: which index answered, whether the recorded one is still there, the diff."""

    answer_id: str
    question: str
    recorded_version: str | None
    replayed_version: str | None
    recorded_version_available: bool
    exact: bool = Field(description="replayed on the recorded index version")
    answer: Answer
    diff: AnswerDiff


def canonical(answer: Answer) -> str:
    """The answer as JSON without what varies between askings (id, conversation, timings)."""
    return answer.model_dump_json(exclude=VOLATILE)


def _statements(answer: Answer) -> list[str]:
    return [s.text for section in answer.sections for s in section.statements]


def _references(answer: Answer) -> dict[str, ReferenceChange]:
    return {
        c.chunk_id: ReferenceChange(
            doc_id=c.doc_id, chunk_id=c.chunk_id, title=c.title, section=c.section
        )
        for c in answer.references
    }


def _differences(answer: Answer) -> list[str]:
    """Each value of the 'where sources differ' block: 'quantity: source value'."""
    return [f"{d.quantity}: {v.source} {v.value}" for d in answer.discrepancies for v in d.values]


def diff_answers(before: Answer, after: Answer) -> AnswerDiff:
    """Statements, references and differing values added or removed, and whether the bottom
    line changed."""
    old, new = _statements(before), _statements(after)
    old_differ, new_differ = _differences(before), _differences(after)
    old_refs, new_refs = _references(before), _references(after)
    return AnswerDiff(
        identical=canonical(before) == canonical(after),
        bottom_line_changed=before.summary != after.summary,
        bottom_line_before=before.summary,
        bottom_line_after=after.summary,
        statements_added=tuple(s for s in new if s not in old),
        statements_removed=tuple(s for s in old if s not in new),
        references_added=tuple(r for k, r in new_refs.items() if k not in old_refs),
        references_removed=tuple(r for k, r in old_refs.items() if k not in new_refs),
        differences_added=tuple(d for d in new_differ if d not in old_differ),
        differences_removed=tuple(d for d in old_differ if d not in new_differ),
    )
