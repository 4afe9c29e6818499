"""Markdown rendering of an Answer, in the order a clinician reads it."""

from __future__ import annotations

from ingest.models import SourceKind
from qa.models import Answer, Citation


def _marks(numbers: tuple[int, ...]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def reference_line(citation: Citation) -> str:
    """'1. Title. Issuer, 2022. Section 2.3, pp. 19-20. https://...'"""
    parts = [citation.title.rstrip(".") + "."]
    who = ", ".join(str(p) for p in (citation.issuer, citation.year) if p)
    if who:
        parts.append(who + ".")
    where = citation.section
    if citation.kind is SourceKind.LABEL:
        where = (
            f"Section {citation.section}" if citation.section[:1].isdigit() else citation.section
        )
    if citation.pages:
        first, last = citation.pages
        where += f", p. {first}" if first == last else f", pp. {first}-{last}"
    parts.append(where + ".")
    if citation.kind is SourceKind.LABEL and citation.identifier:
        parts.append(f"DailyMed set id {citation.identifier}.")
    elif citation.identifier and citation.identifier.startswith("PMID"):
        parts.append(citation.identifier.replace(":", " ") + ".")
    if citation.url:
        parts.append(citation.url)
    if citation.note:
        parts.append(f"({citation.note[0].upper()}{citation.note[1:]}.)")
    return f"{citation.n}. " + " ".join(parts)


def render_markdown(answer: Answer) -> str:
    """The answer as Markdown: interpretation, bottom line, sections, gaps, references."""
    lines: list[str] = []
    if answer.interpreted_question != answer.question:
        lines += [f"*Interpreted as: {answer.interpreted_question}*", ""]
    lines += [answer.summary, ""]
    for section in answer.sections:
        lines.append(f"**{section.title}**")
        lines += [f"- {s.text} {_marks(s.citations)}" for s in section.statements]
        lines.append("")
    if answer.gaps:
        lines.append("**Gaps**")
        lines += [f"- {gap}" for gap in answer.gaps]
        lines.append("")
    if answer.references:
        lines.append("**References**")
        lines += [reference_line(c) for c in answer.references]
        lines.append("")
    lines.append(f"_{answer.disclaimer}_")
    return "\n".join(lines).strip() + "\n"
