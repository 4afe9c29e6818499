"""The verifier's calibration: the hand-written sentences load and are well formed, the shipped
minimum support is the value chosen on dev, and at it the verifier passes faithful sentences
and catches unfaithful ones on both splits above the floors in eval/thresholds.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from guideqa.eval.verifier_calibration import SENTENCES, calibrate, load_items
from guideqa.qa.settings import LLMSettings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def report() -> dict[str, object]:
    return calibrate()


def test_the_sentences_are_well_formed() -> None:
    items = load_items(SENTENCES)
    assert len({i.id for i in items}) == len(items) >= 40
    assert {i.split for i in items} == {"dev", "unseen"}
    flaws = {u.flaw for i in items for u in i.unfaithful}
    assert len(flaws) == 7  # every kind of flaw is represented
    # faithful sentences are rewordings: at most 1 in 20 copies its passage out (as models do)
    faithful = [(s, i.passage) for i in items for s in i.faithful]
    assert sum(s in passage for s, passage in faithful) <= len(faithful) / 20


def test_the_shipped_minimum_support_is_the_one_chosen_on_dev(report: dict[str, object]) -> None:
    assert report["chosen_min_support"] == LLMSettings().min_support


def test_the_verifier_clears_its_floors_on_both_splits(report: dict[str, object]) -> None:
    floors = yaml.safe_load((ROOT / "eval" / "thresholds.yaml").read_text())["verifier"]
    for split, minimum in floors.items():
        measured = report[split]
        assert isinstance(measured, dict)
        for metric, floor in minimum.items():
            assert measured[metric] >= floor, f"{split} {metric} {measured[metric]} < {floor}"
    unseen = report["unseen"]
    assert isinstance(unseen, dict)
    assert unseen["caught_by_flaw"]["wrong-passage"] == 1.0  # a true sentence, wrongly cited
