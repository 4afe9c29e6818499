"""USPSTF recommendation JSON to one Markdown document per topic (grade, population, text)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import yaml

from guideqa.ingest.convert.html_text import html_to_text
from guideqa.ingest.loaders.base import slugify

USPSTF = "U.S. Preventive Services Task Force"
SITE = "https://www.uspreventiveservicestaskforce.org/uspstf/recommendation-topics"


def group_by_topic(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Recommendations grouped by topic (the title before ' -- population')."""
    topics: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        topic = str(record.get("title", "")).split(" -- ")[0].strip()
        topics[topic].append(record)
    return dict(topics)


def _population(record: dict[str, Any]) -> str:
    parts = str(record.get("title", "")).split(" -- ", 1)
    return parts[1].strip() if len(parts) == 2 else "All populations"


def _section(record: dict[str, Any]) -> list[str]:
    grade = record.get("grade") or "not graded"
    # grade and population live in the heading, so every passage of the section carries them
    lines = [f"## {_population(record)} (Grade {grade})", ""]
    ages = record.get("ageRange") or []
    sex = record.get("sex") or record.get("gender")
    if len(ages) == 2:
        lines.append(f"Ages {ages[0]} to {ages[1]} years; sex: {sex or 'any'}.")
    lines += ["", html_to_text(str(record.get("text", "")))]
    risk = html_to_text(str(record.get("riskText") or ""))
    if risk:
        lines += ["", "### Risk assessment", "", risk]
    return lines


def topic_to_markdown(topic: str, records: list[dict[str, Any]]) -> tuple[str, dict[str, object]]:
    """One topic's Markdown with front matter; grades stay with their population."""
    meta: dict[str, object] = {
        "id": f"uspstf-{slugify(topic, 70)}",
        "kind": "guideline",
        "title": f"{topic} (USPSTF recommendation)",
        "issuer": USPSTF,
        "version": "USPSTF specific recommendations dataset, c. 2021",
        "url": SITE,
        "licence": "public domain (US government work)",
        "grades": sorted({str(r.get("grade")) for r in records if r.get("grade")}),
    }
    body = [f"# {topic}", ""]
    for record in sorted(records, key=lambda r: str(r.get("title"))):
        body += [*_section(record), ""]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n" + "\n".join(body).rstrip() + "\n", meta
