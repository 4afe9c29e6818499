"""TAC 2017 ADR label sections (partial labels) to Markdown label documents marked partial."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import yaml

from guideqa.ingest.loaders.base import slugify

_ORDER = {"boxed warnings": 0, "warnings and precautions": 1, "adverse reactions": 2}
_HEADINGS = {
    "boxed warnings": "Boxed Warning",
    "warnings and precautions": "5 Warnings and Precautions",
    "adverse reactions": "6 Adverse Reactions",
}


def group_sections(records: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Section texts per label (brand name), first occurrence of each section kept."""
    labels: dict[str, dict[str, str]] = defaultdict(dict)
    for record in records:
        name = str(record.get("section_name", "")).lower()
        if name in _ORDER:
            labels[str(record["label_id"]).strip()].setdefault(name, str(record["section_text"]))
    return dict(labels)


def _clean(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    text = "\n".join(line.lstrip("* ").strip() if line.startswith("*") else line for line in lines)
    text = re.sub(r"\(\s*(\d+(?:\.\d+)*)\s*\)", r"(\1)", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def label_to_markdown(brand: str, sections: dict[str, str]) -> tuple[str, dict[str, object]]:
    """One partial label as Markdown with front matter (kind: label, partial: true)."""
    names = sorted(sections, key=lambda s: _ORDER[s])
    meta: dict[str, object] = {
        "id": f"label-partial-{slugify(brand, 40)}",
        "kind": "label",
        "title": f"{brand.title()} label (partial: {', '.join(_HEADINGS[s] for s in names)})",
        "issuer": "FDA prescribing information (TAC 2017 ADR extraction set)",
        "drug_names": [brand.title()],
        "partial": True,
        "licence": "public domain (FDA label text); dataset MIT (OnSIDES)",
    }
    body = [f"# {brand.title()}"]
    for name in names:
        text = _clean(sections[name])
        heading = _HEADINGS[name]
        text = re.sub(rf"^{re.escape(heading.split(' ', 1)[-1])}\s*", "", text, flags=re.I)
        body += ["", f"## {heading}", "", text]
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    return f"---\n{front}---\n\n" + "\n".join(body) + "\n", meta
