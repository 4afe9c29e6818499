"""Where sources differ, end to end with the real model over real guidelines that disagree:
the block in the answer, its citations, its place under the bottom line, over HTTP and in a
recorded answer; and a superseded guideline never taking part."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from guideqa.api.app import create_app
from guideqa.api.settings import Settings
from guideqa.index.hybrid import HybridIndex, open_index
from guideqa.ingest.embedding import create_embedder
from guideqa.qa.discrepancies import DiscrepancyFinder, Patient
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.render import render_markdown
from guideqa.qa.settings import QASettings
from guideqa.qa.units import build_units

pytestmark = pytest.mark.integration
READ_TOKEN = "discrepancy-read-token-0123"

BP_GOAL = "blood pressure treatment goal (systolic)"
OPIOID_DOSE = "daily opioid dose threshold (morphine equivalents)"
CKD_QUESTION = (
    "What blood pressure target should I aim for in a 55-year-old with hypertension and stage 3 "
    "chronic kidney disease?"
)
OPIOID_QUESTION = (
    "At what daily morphine-equivalent dose does a patient on chronic opioid therapy need a "
    "pain-specialist consultation or a stop to escalation?"
)


@pytest.fixture(scope="module")
def index(discrepancy_index_settings: Settings) -> HybridIndex:
    settings = discrepancy_index_settings
    return open_index(
        settings.index, settings.embedding, settings.chunking, create_embedder(settings.embedding)
    )


@pytest.fixture(scope="module")
def engine(index: HybridIndex) -> AnswerEngine[HybridIndex]:
    return AnswerEngine(index)


def _row(answer: Answer, quantity: str):  # type: ignore[no-untyped-def]
    return next((d for d in answer.discrepancies if d.quantity == quantity), None)


def test_a_ckd_patient_gets_both_blood_pressure_goals(engine: AnswerEngine[HybridIndex]) -> None:
    answer = engine.ask(CKD_QUESTION)
    row = _row(answer, BP_GOAL)
    assert row is not None
    values = {v.doc_id: v for v in row.values}
    assert set(values) == {"ngc-10628", "ngc-10598"}
    assert values["ngc-10628"].value == "less than 140/90 mmHg"
    assert values["ngc-10628"].population == ("renal_impairment",)
    assert values["ngc-10598"].high == 150.0 and values["ngc-10598"].comparator.value == "<"
    by_n = {c.n: c for c in answer.references}
    for value in row.values:  # each value cites the passage it is quoted from
        assert value.statement in " ".join(by_n[value.citation].passage.split())
        assert value.kind.value == "guideline" and value.year == 2014
    markdown = render_markdown(answer)
    bottom, rest = markdown.split("\n\n", 1)
    assert bottom == answer.summary  # the table comes right under the bottom line
    assert rest.startswith(f"**Where sources differ: {BP_GOAL}**")


def test_a_patient_without_ckd_is_not_given_the_ckd_goal(
    engine: AnswerEngine[HybridIndex],
) -> None:
    answer = engine.ask("What systolic blood pressure goal should I aim for in a 55-year-old?")
    assert not answer.abstained
    assert _row(answer, BP_GOAL) is None


def test_opioid_thresholds_differ_and_the_superseded_cdc_2016_takes_no_part(
    engine: AnswerEngine[HybridIndex], index: HybridIndex
) -> None:
    answer = engine.ask(OPIOID_QUESTION)
    row = _row(answer, OPIOID_DOSE)
    assert row is not None
    by_doc = {v.doc_id: v.low for v in row.values}
    assert by_doc == {"ngc-9597": 120.0, "ngc-11178": 90.0}
    # answering from superseded versions too (a setting) does not bring CDC 2016 into the block
    with_old = AnswerEngine(index, QASettings(include_superseded=True))
    answer = with_old.ask(OPIOID_QUESTION)
    assert "ngc-10953" in {c.doc_id for c in answer.references}  # it is in the answer...
    row = _row(answer, OPIOID_DOSE)
    assert row is not None and "ngc-10953" not in {v.doc_id for v in row.values}  # ...not here
    # CDC 2016's own statement of 50 and 90 MME/day, read as the answer's evidence: it is left
    # out, and it would take part if CDC 2022 did not supersede it
    query = "avoid increasing dosage to 90 MME/day"
    old = next(h for h in index.search(query, 10) if h.doc_id == "ngc-10953")
    seeds = [u for u in build_units(old, engine.knowledge)[0] if "MME/day" in u.text]
    assert seeds
    patient = Patient.of(OPIOID_QUESTION, (), engine.measures)
    for found in engine.discrepancy_finder.find(index, seeds, patient):
        assert "ngc-10953" not in {v.hit.doc_id for v in found.values}
    finder = engine.discrepancy_finder
    unaware = DiscrepancyFinder(
        finder.book, finder.knowledge, finder.settings, frozenset(), finder.drugs_in
    )
    [found] = unaware.find(index, seeds, patient)
    assert "ngc-10953" in {v.hit.doc_id for v in found.values}


def test_the_block_over_http_and_in_the_recorded_answer(
    discrepancy_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    settings = discrepancy_index_settings.model_copy(
        update={
            "records": discrepancy_index_settings.records.model_copy(
                update={
                    "enabled": True,
                    "path": tmp_path_factory.mktemp("rec") / "a.sqlite",
                    "read_token": SecretStr(READ_TOKEN),
                }
            )
        }
    )
    with TestClient(create_app(settings)) as client:
        reply = client.post("/v1/ask", json={"question": CKD_QUESTION})
        assert reply.status_code == 200
        body = reply.json()
        [row] = [d for d in body["discrepancies"] if d["quantity"] == BP_GOAL]
        assert {v["doc_id"] for v in row["values"]} == {"ngc-10628", "ngc-10598"}
        references = {r["n"]: r for r in body["references"]}
        assert all(references[v["citation"]]["doc_id"] == v["doc_id"] for v in row["values"])
        markdown = client.post(
            "/v1/ask", json={"question": CKD_QUESTION}, headers={"Accept": "text/markdown"}
        )
        assert f"**Where sources differ: {BP_GOAL}**" in markdown.text
        reader = {"Authorization": f"Bearer {READ_TOKEN}"}
        record = client.get(f"/v1/answers/{body['answer_id']}", headers=reader)
        assert record.status_code == 200
        assert record.json()["answer"]["discrepancies"] == body["discrepancies"]
