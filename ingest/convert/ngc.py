"""National Guideline Clearinghouse summary XML to Markdown with front matter."""

from __future__ import annotations

import datetime as dt
import re
import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET
import yaml

from guideqa.ingest.convert.html_text import html_to_text

# Clinical fields, in the order they are written; administrative fields are left out.
CLINICAL_FIELDS = (
    "Major Recommendations",
    "Clinical Algorithm(s)",
    "Disease/Condition(s)",
    "Target Population",
    "Guideline Objective(s)",
    "Interventions and Practices Considered",
    "Rating Scheme for the Strength of the Evidence",
    "Rating Scheme for the Strength of the Recommendations",
    "Potential Benefits",
    "Potential Harms",
    "Contraindications",
    "Qualifying Statements",
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
        start=1,
    )
}


def ngc_fields(xml: bytes) -> dict[str, str]:
    """First value of every named field, as the HTML it holds."""
    root: ET.Element = SafeET.fromstring(xml)
    fields: dict[str, str] = {}
    for field in root.iter("Field"):
        name = field.get("Name") or ""
        values = [v.get("Value") or "" for v in field.iter("FieldValue")]
        if name and name not in fields:
            fields[name] = "\n".join(values)
    return fields


def release_date(text: str) -> dt.date | None:
    """'2016 Mar 18' or '2016 Jan' as a date (day 1 when only the month is known)."""
    match = re.match(r"(\d{4})(?:\s+([A-Za-z]{3})[a-z]*)?(?:\s+(\d{1,2}))?", text.strip())
    if not match:
        return None
    month = _MONTHS.get((match.group(2) or "jan").lower(), 1)
    return dt.date(int(match.group(1)), month, int(match.group(3) or 1))


def version_date(text: str) -> dt.date | None:
    """The date of the version summarised: '2001 Dec (revised 2014 Dec)' -> 2014-12-01.

    NGC's "Date Released" gives the original release first; the summary describes the latest
    revision, which is what its citation, its recommendations and recency must use."""
    revised = re.findall(
        r"(?:revised|reaffirmed|updated)\s+(\d{4}(?:\s+[A-Za-z]{3,9})?(?:\s+\d{1,2})?)", text
    )
    return release_date(revised[-1]) if revised else release_date(text)


def _developer(text: str) -> str:
    first = re.split(r"\s+-\s+", html_to_text(text))[0]
    return first.strip()


def _source_url(availability_html: str) -> str | None:
    match = re.search(r'href="(https?://[^"]+)"', availability_html)
    return match.group(1) if match else None


def ngc_to_markdown(xml: bytes, ngc_id: str) -> tuple[str, dict[str, object]]:
    """The Markdown document and its front-matter metadata for one NGC summary."""
    fields = ngc_fields(xml)
    title = html_to_text(fields.get("Guideline Title", "")).rstrip(".")
    date = version_date(html_to_text(fields.get("Date Released", "")))
    meta: dict[str, object] = {
        "id": ngc_id,
        "kind": "guideline",
        "title": title,
        "issuer": _developer(fields.get("Guideline Developer(s)", "")),
        "date": date.isoformat() if date else None,
        "url": _source_url(fields.get("Guideline Availability", ""))
        or f"https://www.guideline.gov/summaries/summary/{ngc_id.split('-')[-1]}",
        "licence": "public domain (US government or public-domain guideline; NGC summary)",
        "copyright_statement": html_to_text(fields.get("Copyright Statement", "")),
        "source_note": "National Guideline Clearinghouse summary (AHRQ), archived 2018-07-14",
        "citation": html_to_text(fields.get("Bibliographic Source(s)", "")),
    }
    body = [f"# {title}"]
    for name in CLINICAL_FIELDS:
        text = html_to_text(fields.get(name, ""))
        if text and text.lower() not in {"none provided", "not stated"}:
            body += ["", f"## {name}", "", text]
    front = yaml.safe_dump(
        {k: v for k, v in meta.items() if v}, sort_keys=False, allow_unicode=True, width=1000
    )
    return f"---\n{front}---\n\n" + "\n".join(body) + "\n", meta
