"""Reports: report.json, report.md with the tables, a PNG chart, per-question details, compare."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

TABLE_METRICS = (
    "recall@5",
    "recall@10",
    "mrr",
    "ndcg@10",
    "fact_recall",
    "lead_recall",
    "on_topic_precision",
    "statements_per_answer",
    "forbidden_rate",
    "citation_validity",
    "section_accuracy",
    "abstention_f1",
    "follow_up_success",
    "success_rate",
    "discrepancy_precision",
    "discrepancy_recall",
    "generated_dropped_share",
    "generation_fallback_rate",
    "latency_p50_ms",
    "latency_p95_ms",
)


def flat_metrics(overall: dict[str, Any]) -> dict[str, float | None]:
    """Aggregates with nested abstention scores flattened (abstention_f1, ...)."""
    flat = {k: v for k, v in overall.items() if not isinstance(v, dict)}
    for key, value in (overall.get("abstention") or {}).items():
        flat[f"abstention_{key}"] = value
    return flat


def _cell(value: object) -> str:
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(
    reports: Sequence[dict[str, Any]], metrics: Sequence[str] = TABLE_METRICS
) -> str:
    """Systems as rows, metrics as columns."""
    lines = ["| system | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for report in reports:
        flat = flat_metrics(report["overall"])
        lines.append(
            f"| {report['system']} | " + " | ".join(_cell(flat.get(m)) for m in metrics) + " |"
        )
    return "\n".join(lines)


def category_table(report: dict[str, Any]) -> str:
    """One system's metrics per question category, weakest success rate first."""
    metrics = ("questions", "recall@10", "mrr", "fact_recall", "success_rate")
    rows = sorted(report["by_category"].items(), key=lambda kv: kv[1].get("success_rate") or 0)
    lines = ["| category | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for name, values in rows:
        flat = flat_metrics(values)
        lines.append(f"| {name} | " + " | ".join(_cell(flat.get(m)) for m in metrics) + " |")
    return "\n".join(lines)


def write_chart(reports: Sequence[dict[str, Any]], path: Path) -> None:
    """Grouped bars: one group per quality metric, one bar per system."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = [m for m in TABLE_METRICS if not m.startswith("latency")]
    fig, ax = plt.subplots(figsize=(13, 4.8))
    width = 0.8 / max(1, len(reports))
    for i, report in enumerate(reports):
        flat = flat_metrics(report["overall"])
        values = [flat.get(m) or 0.0 for m in metrics]
        ax.bar([x + i * width for x in range(len(metrics))], values, width, label=report["system"])
    ax.set_xticks([x + width * (len(reports) - 1) / 2 for x in range(len(metrics))])
    ax.set_xticklabels(metrics, rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title("GuideQA evaluation: systems per metric")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


SplitReports = dict[str, list[dict[str, Any]]]
SIDE_BY_SIDE = (
    "fact_recall",
    "lead_recall",
    "on_topic_precision",
    "statements_per_answer",
    "abstention_f1",
    "follow_up_success",
    "citation_validity",
    "success_rate",
    "mrr",
    "ndcg@10",
    "discrepancy_rows",
    "discrepancy_precision",
    "discrepancy_recall",
    "latency_p50_ms",
)


def split_table(splits: SplitReports, metrics: Sequence[str] = SIDE_BY_SIDE) -> str:
    """The first system (GuideQA) of every split, side by side: metrics as rows."""
    names = list(splits)
    flats = {name: flat_metrics(splits[name][0]["overall"]) for name in names}
    lines = ["| metric | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for metric in metrics:
        lines.append(
            f"| {metric} | " + " | ".join(_cell(flats[n].get(metric)) for n in names) + " |"
        )
    questions = " | ".join(str(flats[n].get("questions")) for n in names)
    lines.append(f"| questions | {questions} |")
    return "\n".join(lines)


def _failure_lines(report: dict[str, Any]) -> list[str]:
    failures = [q for q in report["questions"] if not q["success"] or q.get("missed_lead")]
    lines = [f"### {report['system']}: answers with a missed fact or lead ({len(failures)})", ""]
    for q in failures:
        problems = []
        if q["missed_facts"]:
            problems.append(f"missed {q['missed_facts']}")
        if q.get("missed_lead"):
            problems.append(f"lead missed {q['missed_lead']}")
        if q["forbidden_hit"]:
            problems.append("forbidden fact")
        if q["abstained"]:
            problems.append("abstained")
        if q["abstain_expected"] and not q["success"]:
            problems.append("answered an unanswerable question")
        lines.append(f"- `{q['id']}` ({q['category']}): " + ", ".join(problems or ["-"]))
    return lines


def _discrepancy_lines(report: dict[str, Any]) -> list[str]:
    """Where sources differ: rows judged wrong, and known differences not shown."""
    questions = report["questions"]
    rows = sum(q.get("discrepancy_rows", 0) for q in questions)
    lines = [f"### {report['system']}: where sources differ ({rows} rows shown)", ""]
    for q in questions:
        for row in q.get("wrong_discrepancies", []):
            lines.append(f"- `{q['id']}`: row not a known disagreement: {row}")
        for quantity in q.get("missed_differ", []):
            lines.append(f"- `{q['id']}`: known difference not shown: {quantity}")
    return lines if len(lines) > 2 else [*lines, "- every row shown is a known disagreement"]


def write_reports(splits: SplitReports, out: Path, title: str) -> Path:
    """report.json, report.md, chart.png (first split) and details.jsonl in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    payload = {
        "title": title,
        "splits": {name: {"systems": reports} for name, reports in splits.items()},
    }
    (out / "report.json").write_text(json.dumps(payload, indent=2))
    with (out / "details.jsonl").open("w") as handle:
        for split, reports in splits.items():
            for report in reports:
                for row in report["questions"]:
                    handle.write(
                        json.dumps({"split": split, "system": report["system"], **row}) + "\n"
                    )
    write_chart(next(iter(splits.values())), out / "chart.png")
    lines = [f"# {title}", "", "## GuideQA per split", "", split_table(splits), ""]
    for split, reports in splits.items():
        main = reports[0]
        lines += [f"## {split}", "", markdown_table(reports), ""]
        lines += [f"### {main['system']} by category (weakest first)", "", category_table(main)]
        lines += ["", *_failure_lines(main), "", *_discrepancy_lines(main), ""]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"


def _systems_by_split(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    if "splits" in report:
        return {name: split["systems"] for name, split in report["splits"].items()}
    return {"dev": report["systems"]}  # reports written before the splits


def compare(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Per split, system and metric: old, new and the change."""
    lines = []
    old_splits = _systems_by_split(old)
    for split, systems in _systems_by_split(new).items():
        old_by = {r["system"]: flat_metrics(r["overall"]) for r in old_splits.get(split, [])}
        for report in systems:
            label = f"{split}/{report['system']}"
            before = old_by.get(report["system"])
            if before is None:
                lines.append(f"{label}: new")
                continue
            after = flat_metrics(report["overall"])
            for metric in TABLE_METRICS:
                a, b = before.get(metric), after.get(metric)
                if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a != b:
                    lines.append(f"{label:<22} {metric:<22} {a:>8.3f} -> {b:>8.3f} ({b - a:+.3f})")
    return "\n".join(lines) or "no differences"


def question_changes(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Per split, the GuideQA questions whose success, facts, lead or on-topic count moved."""
    lines = []
    old_splits = _systems_by_split(old)
    for split, systems in _systems_by_split(new).items():
        if not systems or not old_splits.get(split):
            continue
        before = {q["id"]: q for q in old_splits[split][0].get("questions", [])}
        for q in systems[0].get("questions", []):
            was = before.get(q["id"])
            if was is None:
                continue
            moved = [
                f"{key} {was.get(key)} -> {q.get(key)}"
                for key in ("success", "fact_recall", "lead_recall", "abstained")
                if was.get(key) != q.get(key)
            ]
            topic = (q.get("on_topic_statements"), q.get("topic_judged_statements"))
            old_topic = (was.get("on_topic_statements"), was.get("topic_judged_statements"))
            if topic != old_topic:
                moved.append(f"on-topic {old_topic[0]}/{old_topic[1]} -> {topic[0]}/{topic[1]}")
            if moved:
                lines.append(f"{split}/{q['id']}: " + "; ".join(moved))
    return "\n".join(lines)
