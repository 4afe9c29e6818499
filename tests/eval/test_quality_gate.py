"""CI quality gate: both question splits on the shipped corpus must stay above
eval/thresholds.yaml (dev = clinical.yaml, tuned on; unseen = unseen.yaml, never tuned on).

Builds the default index from corpus/ when it is missing or stale (4-5 minutes on a
2-core machine; reused afterwards), then runs the questions (a few seconds)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from guideqa.api.library import GuideQA
from guideqa.api.settings import load_settings
from guideqa.eval.dataset import load_disagreements, load_questions, question_set
from guideqa.eval.report import flat_metrics, split_table
from guideqa.eval.runner import aggregate, run_system, system_report
from guideqa.eval.systems import GuideQASystem
from guideqa.index.supersession import superseded_ids

pytestmark = [pytest.mark.integration, pytest.mark.eval]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped_index() -> None:
    build = subprocess.run(
        [sys.executable, "-m", "guideqa.api.cli", "build", str(ROOT / "corpus")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=1500,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-2000:]


def test_both_splits_meet_the_recorded_floors(shipped_index: None) -> None:
    thresholds = yaml.safe_load((ROOT / "eval" / "thresholds.yaml").read_text())
    engine = GuideQA(load_settings()).engine
    splits = {}
    failures = []
    for split, set_name in (("dev", "clinical"), ("unseen", "unseen")):
        results = run_system(GuideQASystem(engine), load_questions(question_set(set_name)))
        splits[split] = [system_report("guideqa", results)]
        measured = flat_metrics(aggregate(results))
        failures += [
            f"{split} {name} {measured[name]} < floor {floor}"
            for name, floor in thresholds["floors"][split].items()
            if measured[name] is None or measured[name] < floor
        ]
        failures += [
            f"{split} {name} {measured[name]} > ceiling {ceiling}"
            for name, ceiling in thresholds["ceilings"][split].items()
            if measured[name] > ceiling
        ]
    print(split_table(splits))  # both splits side by side in the test log
    assert not failures, "quality dropped: " + "; ".join(failures) + "\n" + split_table(splits)


def test_known_disagreements_quote_current_documents(shipped_index: None) -> None:
    """The truth the discrepancy rows are judged against quotes the indexed documents
    verbatim, and never a superseded one."""
    index = GuideQA(load_settings()).index
    superseded = superseded_ids(index.documents)
    for known in load_disagreements().disagreements:
        for doc_id, quote in zip(known.docs, known.quotes, strict=True):
            document = index.document(doc_id)
            assert document is not None, doc_id
            assert doc_id not in superseded, doc_id
            text = " ".join(" ".join(s.text for s in document.sections).split())
            assert " ".join(quote.split()) in text, (doc_id, quote[:80])
