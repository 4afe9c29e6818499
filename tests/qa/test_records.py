"""Answer records: redaction, the SQLite store (retention, feedback, deletion), answer diffs."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from guideqa.ingest.models import SourceKind
from guideqa.qa.models import (
    Answer,
    AnswerSection,
    Citation,
    Comparator,
    Discrepancy,
    MeasureKind,
    SourceValue,
    Statement,
    new_answer_id,
)
from guideqa.qa.records import (
    AnswerStore,
    Feedback,
    RecordNotFoundError,
    Redactor,
    SQLiteAnswerStore,
    make_record,
)
from guideqa.qa.records_redis import RedisAnswerStore
from guideqa.qa.replay import diff_answers


def _answer(question: str, statements: tuple[str, ...], chunk: str = "c1") -> Answer:
    citation = Citation(
        n=1,
        kind=SourceKind.GUIDELINE,
        doc_id="uspstf-osteoporosis",
        chunk_id=chunk,
        title="Osteoporosis to Prevent Fractures: Screening",
        section="Recommendation",
        passage="The USPSTF recommends screening for osteoporosis in women 65 years or older.",
    )
    section = AnswerSection(
        kind=SourceKind.GUIDELINE,
        title="From the Guidelines",
        statements=tuple(Statement(text=t, quote=t, citations=(1,)) for t in statements),
    )
    return Answer(
        answer_id=new_answer_id(),
        question=question,
        interpreted_question=question,
        summary=statements[0],
        sections=(section,),
        references=(citation,),
        index_version="v000001",
        timings_ms={"total": 12.0},
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DOB 03/14/1952, bone density?", "[date of birth], bone density?"),
        ("born on March 3, 1950", "[date of birth]"),
        ("MRN: 00123456 eGFR 40", "[record number] eGFR 40"),
        ("call (555) 123-4567 or 555.123.4567", "call [phone number] or [phone number]"),
        ("send to jane.doe@example.org", "send to [email]"),
        ("Call 555-123-4567.", "Call [phone number]."),
        ("MRN is 12345678", "[record number]"),
        # words after "patient" are not record numbers
        ("patient no longer on dialysis", "patient no longer on dialysis"),
        ("patient identified with AF", "patient identified with AF"),
        # clinical numbers are not identifiers
        (
            "eGFR 30-45 mL/min/1.73 m2, 2,550 mg/day, age 65",
            "eGFR 30-45 mL/min/1.73 m2, 2,550 mg/day, age 65",
        ),
        ("BP goal 130/80 mm Hg on 2024-01-05", "BP goal 130/80 mm Hg on 2024-01-05"),
    ],
)
def test_redaction_removes_obvious_identifiers_only(text: str, expected: str) -> None:
    assert Redactor.load()(text) == expected


def test_a_record_keeps_the_answer_and_hashes_of_its_passages() -> None:
    answer = _answer("72F DOB 1/2/1952: screen for osteoporosis?", ("Screen women 65 and older.",))
    record = make_record(answer, (SourceKind.GUIDELINE,), "abc123", "model", Redactor.load())
    assert record.answer_id == answer.answer_id and len(record.answer_id) >= 20
    assert "1952" not in record.question and "1952" not in record.answer.question
    assert record.redacted and record.kinds == (SourceKind.GUIDELINE,)
    assert record.passages[0].chunk_id == "c1" and len(record.passages[0].content_hash) == 64
    plain = make_record(answer, (), "abc123", "model", None)
    assert plain.question == answer.question and not plain.redacted


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AnswerStore]:
    if request.param == "sqlite":
        found: AnswerStore = SQLiteAnswerStore(tmp_path / "answers.sqlite", retention_days=30)
    else:
        url = request.getfixturevalue("redis_url")
        found = RedisAnswerStore(url, retention_days=30, prefix=f"t{uuid.uuid4().hex[:8]}")
    yield found
    found.close()


def test_store_round_trip_feedback_deletion_and_retention(store: AnswerStore) -> None:
    record = make_record(_answer("q", ("s1", "s2")), (), "id", "model", None)
    store.save(record)
    note = Feedback(
        feedback_id="f1",
        created=dt.datetime.now(dt.UTC),
        helpful=False,
        statement=1,
        problem="wrong",
        comment="dose is outdated",
    )
    store.add_feedback(record.answer_id, note)
    found = store.get(record.answer_id)
    assert found.answer == record.answer and found.feedback == (note,)
    assert [r.answer_id for r in store.since(None)] == [record.answer_id]

    old = record.model_copy(
        update={
            "answer_id": "old-record-0000000001",
            "created": record.created - dt.timedelta(days=40),
        }
    )
    store.save(old)  # saving purges what is past retention, this one included
    with pytest.raises(RecordNotFoundError, match="retention"):
        store.get(old.answer_id)

    assert store.delete(record.answer_id) and not store.delete(record.answer_id)
    with pytest.raises(RecordNotFoundError):
        store.add_feedback(record.answer_id, note)
    store.save(record)
    assert store.purge(None) == 1 and list(store.since(None)) == []


def test_a_diff_names_what_changed() -> None:
    before = _answer("q", ("Screen women 65 and older.", "Use DXA."))
    after = _answer("q", ("Screen women 65 and older.", "Use central DXA."), chunk="c2")
    diff = diff_answers(before, after)
    assert not diff.identical and not diff.bottom_line_changed
    assert diff.statements_added == ("Use central DXA.",)
    assert diff.statements_removed == ("Use DXA.",)
    assert [r.chunk_id for r in diff.references_added] == ["c2"]
    assert [r.chunk_id for r in diff.references_removed] == ["c1"]
    same = after.model_copy(update={"answer_id": "another", "timings_ms": {"total": 99.0}})
    assert diff_answers(after, same).identical


def test_a_diff_names_values_that_now_differ() -> None:
    before = _answer("q", ("Screen women 65 and older.",))
    value = SourceValue(
        value="<150 mmHg",
        normalised="< 150 mmHg",
        low=150.0,
        high=150.0,
        unit="mmHg",
        comparator=Comparator.LESS,
        statement="treat to a systolic blood pressure goal of <150 mmHg",
        citation=1,
        doc_id="ngc-10598",
        source="VA/DoD 2014",
        kind=SourceKind.GUIDELINE,
    )
    row = Discrepancy(
        quantity="blood pressure treatment goal (systolic)",
        measure_kind=MeasureKind.TARGET,
        values=(value, value.model_copy(update={"value": "less than 140/90 mmHg", "low": 140.0})),
    )
    after = before.model_copy(update={"discrepancies": (row,)})
    diff = diff_answers(before, after)
    assert not diff.identical and diff.differences_removed == ()
    assert diff.differences_added == (
        "blood pressure treatment goal (systolic): VA/DoD 2014 <150 mmHg",
        "blood pressure treatment goal (systolic): VA/DoD 2014 less than 140/90 mmHg",
    )
    assert diff_answers(after, before).differences_removed == diff.differences_added
