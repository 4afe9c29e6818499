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
    "forbidden_rate",
    "citation_validity",
    "section_accuracy",
    "abstention_f1",
    "follow_up_success",
    "success_rate",
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


def write_reports(reports: list[dict[str, Any]], out: Path, title: str) -> Path:
    """report.json, report.md, chart.png and details.jsonl in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps({"title": title, "systems": reports}, indent=2))
    with (out / "details.jsonl").open("w") as handle:
        for report in reports:
            for row in report["questions"]:
                handle.write(json.dumps({"system": report["system"], **row}) + "\n")
    write_chart(reports, out / "chart.png")
    main = reports[0]
    failures = [q for q in main["questions"] if not q["success"]]
    lines = [
        f"# {title}",
        "",
        markdown_table(reports),
        "",
        f"## {main['system']} by category (weakest first)",
        "",
        category_table(main),
        "",
        f"## {main['system']}: questions not answered correctly ({len(failures)})",
        "",
    ]
    lines += [
        f"- `{q['id']}` ({q['category']}): missed {q['missed_facts'] or '-'}"
        f"{', forbidden fact' if q['forbidden_hit'] else ''}"
        f"{', abstained' if q['abstained'] else ''}"
        for q in failures
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    return out / "report.md"


def compare(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Per system and metric: old, new and the change."""
    lines = []
    old_by = {r["system"]: flat_metrics(r["overall"]) for r in old["systems"]}
    for report in new["systems"]:
        before = old_by.get(report["system"])
        if before is None:
            lines.append(f"{report['system']}: new system")
            continue
        after = flat_metrics(report["overall"])
        for metric in TABLE_METRICS:
            a, b = before.get(metric), after.get(metric)
            if isinstance(a, (int, float)) and isinstance(b, (int, float)) and a != b:
                lines.append(
                    f"{report['system']:<16} {metric:<18} {a:>8.3f} -> {b:>8.3f} ({b - a:+.3f})"
                )
    return "\n".join(lines) or "no differences"
