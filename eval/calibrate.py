"""Calibrate the statement scores on the dev split: fit the relevance and lead weights by
L2-regularised logistic regression, choose the relevance bar, and report a held-back part of
dev and the unseen split (never fitted on).

Labels come from the question set, written from the documents: a candidate statement is
on-topic when it matches every `topic` concept of its question, and carries the lead when it
matches one of its `lead` facts. Run it as `guideqa eval --calibrate` (writes
qa/data/score_weights.yaml)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import yaml

from guideqa.eval.dataset import EvalQuestion
from guideqa.index.backend import SearchIndex
from guideqa.qa.compose import Framing
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.weights_model import FEATURES, WEIGHTS_FILE, probability

Matrix = npt.NDArray[np.float64]
# relevance: the statement is about the question (matches every topic concept);
# answer: it states a required fact; lead: it states a fact the bottom line must carry.
MODELS = ("relevance", "answer", "lead")


@dataclass
class Candidates:
    """Feature rows of every candidate statement of some questions, with their labels."""

    question_ids: list[str] = field(default_factory=list)
    rows: list[list[float]] = field(default_factory=list)
    labels: dict[str, list[int]] = field(default_factory=lambda: {name: [] for name in MODELS})
    answerable: dict[str, bool] = field(default_factory=dict)

    def matrix(self, ids: set[str], model: str) -> tuple[Matrix, Matrix]:
        """Features and one model's labels for the given questions' candidates."""
        keep = [i for i, q in enumerate(self.question_ids) if q in ids]
        x = np.asarray([self.rows[i] for i in keep], dtype=np.float64).reshape(-1, len(FEATURES))
        return x, np.asarray([self.labels[model][i] for i in keep])


def _matches_all(patterns: Sequence[str], text: str) -> bool:
    return all(re.search(p, text, re.IGNORECASE) for p in patterns)


def _matches_any(patterns: Sequence[str], text: str) -> bool:
    return any(re.search(p, text, re.IGNORECASE) for p in patterns)


def collect(engine: AnswerEngine[SearchIndex], questions: Sequence[EvalQuestion]) -> Candidates:
    """Every candidate statement of every question, as features and labels. Follow-ups are
    asked in their conversation first, then scored as the standalone question they became."""
    framing = Framing(engine.knowledge)
    data = Candidates()
    conversations: dict[str, str] = {}
    for question in questions:
        conversation = conversations.get(question.follow_up_of or "")
        answer = engine.ask(question.question, conversation)
        conversations[question.id] = answer.conversation_id or ""
        data.answerable[question.id] = question.answerable
        _, scored = engine.candidates(answer.interpreted_question)
        for candidate in scored:
            shown = framing.prefix(candidate) + candidate.unit.lead
            text = candidate.unit.inline()
            data.question_ids.append(question.id)
            data.rows.append([candidate.features[name] for name in FEATURES])
            ok = question.answerable
            data.labels["relevance"].append(int(ok and _matches_all(question.topic, shown)))
            data.labels["answer"].append(int(ok and _matches_any(question.required, text)))
            data.labels["lead"].append(int(ok and _matches_any(question.lead, text)))
    return data


def fit_logistic(x: Matrix, y: Matrix, l2: float = 1.0, steps: int = 50) -> Matrix:
    """Weights (bias first) of an L2-regularised logistic regression, by Newton's method."""
    design = np.hstack([np.ones((x.shape[0], 1)), x])
    weights = np.zeros(design.shape[1])
    penalty = np.full(design.shape[1], l2)
    penalty[0] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(design @ weights, -30, 30)))
        gradient = design.T @ (p - y) + penalty * weights
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if np.abs(step).max() < 1e-6:
            break
    return weights


def auc(scores: Matrix, labels: Matrix) -> float:
    """Area under the ROC curve (the chance a positive outranks a negative)."""
    positives, negatives = scores[labels == 1], scores[labels == 0]
    if not len(positives) or not len(negatives):
        return float("nan")
    order = np.argsort(np.concatenate([positives, negatives]), kind="stable")
    ranks = np.empty(len(order))
    ranks[order] = np.arange(1, len(order) + 1)
    return float(
        (ranks[: len(positives)].sum() - len(positives) * (len(positives) + 1) / 2)
        / (len(positives) * len(negatives))
    )


def logits(weights: Matrix, x: Matrix) -> Matrix:
    """bias + x . weights for every row."""
    return weights[0] + x @ weights[1:]


def choose_bar(data: Candidates, ids: set[str], weights: Matrix) -> tuple[float, dict[str, float]]:
    """The relevance bar (a probability) that best balances on-topic F1 of the shown statements
    and abstention F1 (an unanswerable question abstains when nothing clears the bar)."""
    best: tuple[float, float, dict[str, float]] = (-1.0, 0.5, {})
    for bar in np.arange(0.05, 0.95, 0.025):
        stats = _bar_stats(data, ids, weights, float(bar))
        value = stats["topic_f1"] + stats["abstention_f1"]
        if value > best[0]:
            best = (value, float(bar), stats)
    return best[1], best[2]


def _bar_stats(data: Candidates, ids: set[str], weights: Matrix, bar: float) -> dict[str, float]:
    x, topic = data.matrix(ids, "relevance")
    question_of = [q for q in data.question_ids if q in ids]
    shown = np.asarray([probability(v) for v in logits(weights, x)]) >= bar
    true_pos = int((shown & (topic == 1)).sum())
    precision = true_pos / max(1, int(shown.sum()))
    recall = true_pos / max(1, int((topic == 1).sum()))
    answered = {q for q, s in zip(question_of, shown, strict=True) if s}
    unanswerable = {q for q in ids if not data.answerable[q]}
    abstained = ids - answered
    correct = len(abstained & unanswerable)
    a_precision = correct / max(1, len(abstained))
    a_recall = correct / max(1, len(unanswerable))
    return {
        "topic_precision": round(precision, 3),
        "topic_recall": round(recall, 3),
        "topic_f1": round(2 * precision * recall / max(1e-9, precision + recall), 3),
        "abstention_f1": round(2 * a_precision * a_recall / max(1e-9, a_precision + a_recall), 3),
    }


def held_back(ids: Sequence[str], share: float = 0.2) -> set[str]:
    """A fixed, hash-chosen share of question ids (stable across runs and machines)."""
    return {q for q in ids if int(hashlib.sha256(q.encode()).hexdigest(), 16) % 100 < share * 100}


def weights_dict(weights: Matrix) -> dict[str, float]:
    """Named weights, bias first, rounded for the data file."""
    names = ("bias", *FEATURES)
    return {name: round(float(value), 4) for name, value in zip(names, weights, strict=True)}


def calibrate(dev: Candidates, unseen: Candidates | None) -> dict[str, object]:
    """Fit on dev minus a held-back part, report held-back and unseen; then refit on all of
    dev for the shipped weights and bar."""
    ids = list(dict.fromkeys(dev.question_ids))
    back = held_back(ids)
    train = set(ids) - back
    report: dict[str, object] = {}
    for model in MODELS:
        weights = fit_logistic(*dev.matrix(train, model))
        scores = {"held_back": _auc(dev, back, weights, model)}
        if unseen is not None:
            scores["unseen"] = _auc(unseen, set(unseen.answerable), weights, model)
        report[f"{model}_auc"] = scores
    fitted = {model: fit_logistic(*dev.matrix(set(ids), model)) for model in MODELS}
    bar, stats = choose_bar(dev, set(dev.answerable), fitted["relevance"])
    report["bar"] = round(bar, 3)
    report["dev_at_bar"] = stats
    if unseen is not None:
        report["unseen_at_bar"] = _bar_stats(
            unseen, set(unseen.answerable), fitted["relevance"], bar
        )
    report.update({model: weights_dict(fitted[model]) for model in MODELS})
    return report


def _auc(data: Candidates, ids: set[str], weights: Matrix, model: str) -> float:
    x, labels = data.matrix(ids, model)
    return round(auc(logits(weights, x), labels), 3)


def write_weights(
    report: dict[str, object], questions_hash: str, path: Path = WEIGHTS_FILE
) -> None:
    """Store the calibrated weights and bar, with what they were fitted on."""
    header = (
        "# Statement score weights (qa/weights_model.py), fitted by eval/calibrate.py on the dev\n"
        f"# split (eval/questions/clinical.yaml, sha256 {questions_hash[:16]}); never on unseen.\n"
        "# min_relevance: the relevance bar chosen on dev (QASettings.min_relevance).\n"
    )
    body = {"min_relevance": report["bar"], **{model: report[model] for model in MODELS}}
    path.write_text(header + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
