"""Calibrating the verifier of generated prose on hand-written sentences: faithful restatements
of real passages must pass, unfaithful ones must fail. The minimum support (the share of a
sentence's content words found in the passages it cites) is chosen on the dev items only, and
reported on the unseen items, with what each rule catches per kind of flaw.

Besides the written sentences, each faithful sentence is also cited to the most similar other
passage of its split ("wrong-passage"): a true statement pinned to the wrong source, as a model
that mixes up its citations would write. Run it as `guideqa eval --calibrate-verifier`."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from guideqa.index.lexical import LexicalTokenizer
from guideqa.ingest.sections import KnowledgeFileError, load_yaml
from guideqa.qa.drugs import DrugLexicon, DrugNamer
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.verify import VerificationRules, Verifier

SENTENCES = Path(__file__).parent / "verification" / "sentences.yaml"
THRESHOLDS = tuple(round(0.3 + 0.05 * i, 2) for i in range(14))  # 0.30 .. 0.95
Flaw = Literal[
    "added-claim",
    "dropped-condition",
    "wrong-drug",
    "wrong-population",
    "overstated-strength",
    "negation-flip",
    "swapped-number",
]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Unfaithful(_Model):
    """A sentence its passage does not support, and why."""

    text: str
    flaw: Flaw


class CalibrationItem(_Model):
    """One passage (a chunk of the default index, verbatim) and sentences written from it."""

    id: str
    split: Literal["dev", "unseen"]
    kind: Literal["guideline", "label", "research"]
    doc_id: str
    chunk_id: str
    topic: str
    source: str = Field(description="the document's title, as the model is shown it")
    passage: str = Field(min_length=20)
    faithful: tuple[str, ...] = Field(min_length=1)
    unfaithful: tuple[Unfaithful, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Example:
    """A sentence, the passage it cites, and whether that passage supports it."""

    item: str
    split: str
    sentence: str
    passage: str
    source: str
    supported: bool
    flaw: str  # "" for a faithful sentence


def load_items(path: Path = SENTENCES) -> list[CalibrationItem]:
    """The calibration items, validated; a bad file fails with its name."""
    rows = load_yaml(path)
    if not isinstance(rows, list):
        raise KnowledgeFileError(f"{path} is invalid: expected a list of items")
    try:
        return [CalibrationItem.model_validate(row) for row in rows]
    except ValidationError as exc:
        raise KnowledgeFileError(f"{path} is invalid: {exc}") from exc


def examples(items: list[CalibrationItem], tokens: LexicalTokenizer) -> list[Example]:
    """Every written sentence with its own passage, plus each faithful sentence cited to the
    most similar other passage of the same split."""
    found: list[Example] = []
    for item in items:
        own = (item.id, item.split)
        found += [Example(*own, s, item.passage, item.source, True, "") for s in item.faithful]
        found += [
            Example(*own, u.text, item.passage, item.source, False, u.flaw) for u in item.unfaithful
        ]
        other = _nearest(item, [i for i in items if i.split == item.split], tokens)
        found += [
            Example(*own, s, other.passage, other.source, False, "wrong-passage")
            for s in item.faithful
        ]
    return found


def _nearest(
    item: CalibrationItem, pool: list[CalibrationItem], tokens: LexicalTokenizer
) -> CalibrationItem:
    words = set(tokens(item.passage))
    others = [i for i in pool if i.id != item.id]
    return max(others, key=lambda i: (len(words & set(tokens(i.passage))), i.id))


def verdicts(found: list[Example], verifier: Verifier) -> list[tuple[Example, bool, str]]:
    """Each example, whether the verifier lets it through, and its reason."""
    out = []
    for example in found:
        check = verifier.check(example.sentence, (1,), {1: example.passage}, {1: example.source})
        out.append((example, check.verified, check.reason))
    return out


def _rule(reason: str) -> str:
    """Which rule gave a verdict, from its reason."""
    for key, rule in (
        ("number", "numbers"),
        ("it names", "drugs"),
        ("firmly", "strength"),
        ("where its passage says", "opposites"),
        ("words are in", "support"),
        ("negation", "negation"),
        ("instruction", "injection"),
        ("cites", "citations"),
    ):
        if key in reason:
            return rule
    return "passed"


def summary(judged: list[tuple[Example, bool, str]]) -> dict[str, object]:
    """Pass rate of faithful sentences, catch rate of unfaithful ones (overall and by flaw),
    which rule caught them, and the faithful sentences refused."""
    faithful = [(e, ok, why) for e, ok, why in judged if e.supported]
    bad = [(e, ok, why) for e, ok, why in judged if not e.supported]
    flaws = sorted({e.flaw for e, _, _ in bad})
    by_flaw = {f: round(_share([not ok for e, ok, _ in bad if e.flaw == f]), 3) for f in flaws}
    return {
        "faithful": len(faithful),
        "unfaithful": len(bad),
        "faithful_passed": round(_share([ok for _, ok, _ in faithful]), 3),
        "unfaithful_caught": round(_share([not ok for _, ok, _ in bad]), 3),
        "caught_by_flaw": by_flaw,
        "caught_by_rule": dict(Counter(_rule(why) for _, ok, why in bad if not ok)),
        "faithful_refused": [
            {"item": e.item, "sentence": e.sentence, "reason": why}
            for e, ok, why in faithful
            if not ok
        ],
    }


def _share(flags: list[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def calibrate(path: Path = SENTENCES) -> dict[str, object]:
    """Choose the minimum support on dev (the best mean of faithful passed and unfaithful
    caught; the higher value on a tie) and report both splits at every value and at the
    chosen one."""
    tokens = LexicalTokenizer()
    rules = VerificationRules.load()
    knowledge = ClinicalKnowledge.load()
    # the class lexicon and drug-name stems; a served index adds its labels' drug names
    lexicon = DrugLexicon.build((), knowledge)
    found = examples(load_items(path), tokens)
    curve: dict[str, dict[float, dict[str, object]]] = {"dev": {}, "unseen": {}}
    for threshold in THRESHOLDS:
        verifier = Verifier(rules, tokens, threshold, DrugNamer(lexicon, knowledge))
        judged = verdicts(found, verifier)
        for split in curve:
            curve[split][threshold] = summary([j for j in judged if j[0].split == split])
    chosen = max(THRESHOLDS, key=lambda t: (_balanced(curve["dev"][t]), t))
    return {
        "chosen_min_support": chosen,
        "dev": curve["dev"][chosen],
        "unseen": curve["unseen"][chosen],
        "curve": {
            split: {
                str(t): [row["faithful_passed"], row["unfaithful_caught"]]
                for t, row in by_threshold.items()
            }
            for split, by_threshold in curve.items()
        },
    }


def _balanced(row: dict[str, object]) -> float:
    passed, caught = row["faithful_passed"], row["unfaithful_caught"]
    assert isinstance(passed, float) and isinstance(caught, float)
    return (passed + caught) / 2
