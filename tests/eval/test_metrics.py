"""Metric functions, question-set validation, scoring rules and reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guideqa.eval.dataset import (
    EvalQuestion,
    EvalSetError,
    load_disagreements,
    load_questions,
    question_set,
)
from guideqa.eval.metrics import ndcg_at, recall_at, reciprocal_rank, rouge_2, rouge_su4
from guideqa.eval.report import compare, question_changes, write_reports
from guideqa.eval.runner import aggregate, score, system_report, wrong_rows
from guideqa.eval.systems import ShownDiscrepancy, ShownValue, SystemOutput
from guideqa.ingest.models import SourceKind
from guideqa.qa.measures import MeasureBook


def test_retrieval_metrics() -> None:
    ranked = ["a", "b", "c", "d"]
    assert recall_at(ranked, {"b", "z"}, 2) == 0.5
    assert reciprocal_rank(ranked, {"c"}) == pytest.approx(1 / 3)
    assert reciprocal_rank(ranked, {"z"}) == 0.0
    assert ndcg_at(["a", "b"], {"a"}, 10) == 1.0
    assert ndcg_at(["x", "a"], {"a"}, 10) == pytest.approx(1 / 1.5849625, rel=1e-6)


def test_rouge() -> None:
    assert rouge_2("the cat sat on the mat", "the cat sat on the mat") == pytest.approx(1.0)
    assert rouge_2("metformin lowers glucose", "insulin raises glucagon") == 0.0
    partial = rouge_su4("metformin is first line therapy", "metformin is the first line drug")
    assert 0.0 < partial < 1.0


MANIFEST = Path(__file__).resolve().parents[2] / "corpus" / "MANIFEST.jsonl"


def test_shipped_set_is_valid_and_covers_the_mix() -> None:
    questions = load_questions(question_set("clinical"))
    assert len(questions) >= 100
    categories = [q.category for q in questions]
    assert categories.count("follow-up") >= 15 and categories.count("unanswerable") >= 15
    for tag in ("brand", "abbreviation", "lay", "superseded", "boxed", "renal", "pregnancy"):
        assert any(tag in q.tags for q in questions), tag
    ids = {json.loads(line)["id"] for line in MANIFEST.read_text().splitlines()}
    assert all(g.doc in ids for q in questions for g in q.gold)
    answerable = [q for q in questions if q.answerable]
    assert all(q.lead and q.topic for q in answerable), "every answerable question needs both"


def test_unseen_split_is_separate_and_covers_what_the_issue_asks() -> None:
    unseen = load_questions(question_set("unseen"))
    dev = load_questions(question_set("clinical"))
    assert len(unseen) >= 60
    assert not {q.id for q in unseen} & {q.id for q in dev}
    labels = [q for q in unseen if SourceKind.LABEL in q.kinds and q.answerable]
    assert len(labels) >= 25
    for tag in ("table", "renal", "pregnancy", "lactation", "pediatric", "drug-class", "list"):
        assert any(tag in q.tags for q in unseen), tag
    dev_docs = {g.doc for q in dev for g in q.gold}
    new_docs = {g.doc for q in unseen for g in q.gold} - dev_docs
    assert len(new_docs) >= 30, "the unseen split is written from documents dev does not use"
    ids = {json.loads(line)["id"] for line in MANIFEST.read_text().splitlines()}
    assert all(g.doc in ids for q in unseen for g in q.gold)


def test_bad_sets_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("- {id: a, question: q, area: t, kinds: [label], required: ['([']}\n")
    with pytest.raises(EvalSetError, match="not a valid question set"):
        load_questions(path)
    path.write_text("- {id: b, follow_up_of: a, question: q, area: t, kinds: [label]}\n")
    with pytest.raises(EvalSetError, match="must come earlier"):
        load_questions(path)


def _question(**kwargs: object) -> EvalQuestion:
    base = {"id": "q", "question": "?", "area": "t", "kinds": (SourceKind.LABEL,)}
    return EvalQuestion.model_validate({**base, **kwargs})


def test_scoring_rules() -> None:
    question = _question(
        gold=[{"doc": "d1"}], required=["500 mg", "eGFR.{0,20}30"], forbidden=["safe in pregnancy"]
    )
    good = score(
        question,
        SystemOutput(
            ("d1", "d2"),
            "Start 500 mg; stop if eGFR below 30.",
            False,
            citation_checks=(True, True),
        ),
    )
    assert good.success and good.fact_recall == 1.0 and good.mrr == 1.0
    bad = score(
        question,
        SystemOutput(
            ("d2",), "It is safe in pregnancy at 500 mg.", False, citation_checks=(True, False)
        ),
    )
    assert not bad.success and bad.forbidden_hit and bad.missed_facts == ["eGFR.{0,20}30"]
    assert bad.citation_validity == 0.5 and bad.recall_10 == 0.0
    unanswerable = _question(answerable=False, required=["No FDA label for teriparatide"])
    gap = score(unanswerable, SystemOutput((), "No FDA label for teriparatide is indexed.", False))
    assert gap.success
    summary = aggregate([good, bad, gap])
    assert summary["abstention"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0}


def test_lead_and_on_topic_scoring() -> None:
    question = _question(
        required=["400 mg"],
        lead=["400 mg every 4 to 6 hours"],
        topic=["ibuprofen|advil", "pain"],
    )
    output = SystemOutput(
        ("d1",),
        "Take 400 mg every 4 to 6 hours.",
        False,
        summary="Adults: 400 mg every 4 to 6 hours for mild to moderate pain [1].",
        statements=(
            "Ibuprofen label, 2 Dosage: Mild to moderate pain: 400 mg every 4 to 6 hours.",
            "Ibuprofen label, 5.1 Cardiovascular Thrombotic Events: NSAIDs raise MI risk.",
            "A 2014 cohort study reported: blood pressure and back pain were linked.",
        ),
    )
    result = score(question, output)
    assert result.lead_recall == 1.0 and result.missed_lead == []
    assert (result.on_topic_statements, result.topic_judged_statements) == (1, 3)
    buried = score(question, output.__class__(**{**output.__dict__, "summary": "Pain relief."}))
    assert buried.lead_recall == 0.0 and buried.fact_recall == 1.0
    summary = aggregate([result, buried])
    assert summary["lead_recall"] == 0.5 and summary["on_topic_precision"] == pytest.approx(
        1 / 3, abs=1e-4
    )
    assert summary["statements_per_answer"] == 3.0


def test_reports_and_compare(tmp_path: Path) -> None:
    question = _question(gold=[{"doc": "d1"}], required=["500 mg"], lead=["500 mg"])
    first = system_report("guideqa", [score(question, SystemOutput(("d1",), "500 mg", False))])
    second = system_report("bm25", [score(question, SystemOutput(("d2",), "nothing", False))])
    unseen = system_report("guideqa", [score(question, SystemOutput(("d2",), "x", False))])
    report_md = write_reports({"dev": [first, second], "unseen": [unseen]}, tmp_path, "run")
    text = report_md.read_text()
    assert "| guideqa | 1.000 |" in text and "| bm25 | 0.000 |" in text
    assert "| metric | dev | unseen |" in text and "| fact_recall | 1.000 | 0.000 |" in text
    assert (tmp_path / "chart.png").stat().st_size > 1000
    assert len((tmp_path / "details.jsonl").read_text().splitlines()) == 3
    old = json.loads((tmp_path / "report.json").read_text())
    new = {"splits": {"dev": {"systems": [second | {"system": "guideqa"}]}}}
    assert "dev/guideqa" in compare(old, new) and "-1.000" in compare(old, new)
    assert "dev/q: success True -> False" in question_changes(old, new)


def _row(quantity: str, *values: tuple[str, float, float]) -> ShownDiscrepancy:
    return ShownDiscrepancy(quantity, tuple(ShownValue(d, lo, hi) for d, lo, hi in values))


def test_discrepancy_rows_are_judged_against_known_disagreements() -> None:
    known = load_disagreements()
    bp = "blood pressure treatment goal (systolic)"
    question = EvalQuestion(
        id="q", question="BP goal in CKD?", area="x", kinds=(SourceKind.GUIDELINE,), differ=(bp,)
    )
    right = _row(bp, ("ngc-10628", 140, 140), ("ngc-10598", 150, 150))
    # a pair that is not a known disagreement makes the whole row wrong
    wrong = _row(bp, ("ngc-10628", 140, 140), ("ngc-10598", 150, 150), ("other-doc", 130, 130))
    # a third source whose range overlaps both sides takes no side: fine
    agreeing = _row(bp, ("ngc-10628", 140, 140), ("ngc-10598", 150, 150), ("other-doc", 140, 150))
    # a row with no known disagreement is wrong, even when its values overlap
    unknown = _row(bp, ("other-a", 140, 140), ("other-b", 140, 150))
    assert wrong_rows([right, agreeing], known) == []
    assert wrong_rows([wrong], known) == [f"{bp}: ngc-10628, ngc-10598, other-doc"]
    assert len(wrong_rows([unknown], known)) == 1
    shown = score(question, SystemOutput((), "", False, discrepancies=(right,)), known)
    missed = score(question, SystemOutput((), "", False), known)
    assert (shown.discrepancy_rows, shown.missed_differ) == (1, [])
    assert missed.missed_differ == [bp]
    other = score(
        EvalQuestion(id="r", question="?", area="x", kinds=(SourceKind.GUIDELINE,)),
        SystemOutput((), "", False, discrepancies=(right, wrong)),
        known,
    )
    overall = aggregate([shown, missed, other])
    assert overall["discrepancy_rows"] == 3
    assert overall["discrepancy_precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert overall["discrepancy_recall"] == 0.5
    assert aggregate([missed])["discrepancy_precision"] is None
    # the right sources but another number of theirs (not in the recorded passage) is wrong
    misread = ShownDiscrepancy(
        bp,
        (
            ShownValue("ngc-10628", 140, 140, "less than 140/90 mmHg"),
            ShownValue("ngc-10598", 90, 90, "<90 mmHg"),
        ),
    )
    assert len(wrong_rows([misread], known)) == 1


def test_known_disagreements_name_measures_and_questions_name_known_quantities() -> None:
    known = load_disagreements()
    measures = {m.name for m in MeasureBook.load().spec.measures}
    assert known.disagreements and all(d.quantity in measures for d in known.disagreements)
    assert all(d.docs[0] != d.docs[1] and all(d.quotes) for d in known.disagreements)
    for name in ("clinical", "unseen"):
        expecting = [q for q in load_questions(question_set(name)) if q.differ]
        assert len(expecting) >= 6
        for question in expecting:
            for quantity in question.differ:
                assert quantity in measures or quantity.endswith("(no measure yet)"), quantity
    assert sum(len(load_questions(question_set(n))) for n in ("clinical", "unseen")) >= 300


def test_a_bad_disagreements_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "disagreements.yaml"
    bad.write_text("disagreements:\n- quantity: x\n  docs: [a]\n")
    with pytest.raises(EvalSetError, match=r"disagreements\.yaml"):
        load_disagreements(bad)
