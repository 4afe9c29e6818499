"""NCI PDQ Markdown summaries: our front matter, clinical sections only, links reduced to text."""

from __future__ import annotations

import datetime as dt
import re

import yaml

from guideqa.ingest.loaders.base import slugify
from guideqa.ingest.loaders.markdown import split_front_matter

# Sections that are about the summary, not about patients (and everything under them).
_DROP_HEADINGS = re.compile(
    r"^(references|latest updates to this summary.*|about this pdq summary|"
    r"changes to this summary.*)$",
    re.IGNORECASE,
)
_UPDATED = re.compile(r"Latest Updates to This Summary \((\d{2})/(\d{2})/(\d{4})\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*)$")


def _strip_links(text: str) -> str:
    text = re.sub(r"!\[[^\]]*\]\([^)]*\)", "", text)  # images
    text = re.sub(r"\[([^\]]+)\]\((?:[^()\"]|\"[^\"]*\")*\)", r"\1", text)
    return text


def _clinical_lines(body: str) -> list[str]:
    kept: list[str] = []
    dropping_level = 0
    for line in body.splitlines():
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            if dropping_level and level > dropping_level:
                continue
            dropping_level = level if _DROP_HEADINGS.match(heading.group(2).strip()) else 0
        if dropping_level or line.strip().startswith("[Go to Patient Version]"):
            continue
        kept.append(line)
    return kept


def pdq_to_markdown(text: str, source_name: str) -> tuple[str, dict[str, object]]:
    """Rewrite one PDQ summary; the 'Latest Updates' date becomes the document date."""
    original, body = split_front_matter(text, source_name)  # type: ignore[arg-type]
    updated = _UPDATED.search(body)
    date = (
        dt.date(int(updated.group(3)), int(updated.group(1)), int(updated.group(2)))
        if updated
        else None
    )
    title = (original.title or source_name).replace(" - NCI", "").strip()
    lines = _clinical_lines(body)
    while lines and (not lines[0].strip() or lines[0].strip().endswith("- NCI")):
        lines = lines[1:]  # blank lines and the page title that repeats the summary title
    meta: dict[str, object] = {
        "id": "nci-pdq-" + slugify(source_name.removesuffix("-pdq.md").split("-hp-")[-1]),
        "kind": "guideline",
        "title": f"{title}–Health Professional Version",
        "issuer": "National Cancer Institute (PDQ Screening and Prevention Editorial Board)",
        "date": date.isoformat() if date else None,
        "url": original.url,
        "licence": "public domain text (NCI PDQ; cite the cancer.gov URL)",
    }
    front = yaml.safe_dump(
        {k: v for k, v in meta.items() if v}, sort_keys=False, allow_unicode=True, width=1000
    )
    clean = re.sub(r"\n{3,}", "\n\n", _strip_links("\n".join(lines))).strip()
    return f"---\n{front}---\n\n{clean}\n", meta
