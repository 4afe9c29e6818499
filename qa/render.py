"""Markdown rendering of an Answer, in the order a clinician reads it."""

from __future__ import annotations

from guideqa.ingest.models import SourceKind
from guideqa.qa.models import (
    Answer,
    Citation,
    Discrepancy,
    Explanation,
    MeasureKind,
    Statement,
    applies_to,
)


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


def _statement_lines(statement: Statement) -> list[str]:
    tag = f"*[{statement.population.label}]* " if statement.population else ""
    if statement.verified is False:  # a generated sentence that failed, shown on request
        reason = statement.failed_reason or "failed verification"
        return [f"- ~~{statement.text}~~ {_marks(statement.citations)} (not shown: {reason})"]
    lines = [f"- {tag}{statement.text} {_marks(statement.citations)}"]
    lines += [f"  - {item}" for item in statement.items]
    return lines


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def discrepancy_lines(discrepancy: Discrepancy) -> list[str]:
    """A discrepancy as a small Markdown table: each source's value, for whom, kind and year."""
    lines = [
        f"**Where sources differ: {discrepancy.quantity}**",
        "",
        "| Source | Value | For | Kind | Year |",
        "|---|---|---|---|---|",
    ]
    direction = discrepancy.measure_kind is MeasureKind.DIRECTION
    for v in discrepancy.values:
        shown = f"{v.normalised} ({v.value})" if direction else v.value
        lines.append(
            f"| {_cell(v.source)} [{v.citation}] | {_cell(shown)} | {applies_to(v)} | "
            f"{v.kind.value} | {v.year or '-'} |"
        )
    return [*lines, ""]


def _explanation_lines(explanation: Explanation) -> list[str]:
    lines = [
        "**How this answer was chosen**",
        f"- question type: {explanation.question_type}; intent: {explanation.intent.value}",
        f"- concepts: {', '.join(explanation.concepts) or '-'}",
    ]
    for chosen in explanation.chosen:
        factors = ", ".join(
            f"{f.name} {f.value:g}\u00d7{f.weight:g}" for f in chosen.score.factors if f.value
        )
        lines.append(
            f"- chosen ({chosen.kind.value}, {chosen.score.total:.3f}: {factors}): "
            f"{chosen.text[:120]}"
        )
    for rejected in explanation.rejected:
        score = f"{rejected.score:.3f}, " if rejected.score is not None else ""
        lines.append(
            f"- not used ({rejected.kind.value}, {score}{rejected.reason}): {rejected.text[:100]}"
        )
    return [*lines, ""]


def render_markdown(answer: Answer) -> str:
    """The answer as Markdown: interpretation, bottom line, where sources differ, sections,
    callouts, gaps,
    references (and, when asked for, how it was chosen)."""
    lines: list[str] = []
    if answer.interpreted_question != answer.question:
        lines += [f"*Interpreted as: {answer.interpreted_question}*", ""]
    lines += [answer.summary, ""]
    if answer.composer_note:
        lines += [f"> {answer.composer_note}", ""]
    for discrepancy in answer.discrepancies:
        lines += discrepancy_lines(discrepancy)
    for section in answer.sections:
        lines.append(f"**{section.title}**")
        for statement in section.statements:
            lines += _statement_lines(statement)
        lines.append("")
    for callout in answer.callouts:
        text = " ".join(callout.text.split())
        lines += [f"> **{callout.title}**: {text} {_marks(callout.citations)}", ""]
    if answer.gaps:
        lines.append("**Gaps**")
        lines += [f"- {gap}" for gap in answer.gaps]
        lines.append("")
    if answer.references:
        lines.append("**References**")
        lines += [reference_line(c) for c in answer.references]
        lines.append("")
    if answer.explanation:
        lines += _explanation_lines(answer.explanation)
    lines.append(f"_{answer.disclaimer}_")
    return "\n".join(lines).strip() + "\n"
