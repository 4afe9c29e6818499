"""Extractive composition: verbatim sentences with light framing, numbered references."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from ingest.models import SourceKind
from qa.evidence import Evidence
from qa.models import Answer, AnswerSection, Citation, Intent, Statement

SECTION_TITLES = {
    SourceKind.GUIDELINE: "From the Guidelines",
    SourceKind.LABEL: "From the FDA Drug Label",
    SourceKind.RESEARCH: "From the Research",
}
_ISSUER_SHORT = (
    ("U.S. Preventive Services Task Force", "USPSTF"),
    ("Centers for Disease Control and Prevention", "CDC"),
    ("National Cancer Institute", "NCI PDQ"),
    ("Department of Veterans Affairs", "VA/DoD"),
    ("Department of Defense", "VA/DoD"),
    ("National Heart, Lung, and Blood Institute", "NHLBI"),
    ("Community Preventive Services Task Force", "CPSTF"),
)


@dataclass(frozen=True)
class CompositionInput:
    """Everything a composer may use: the question, chosen evidence and the gaps found."""

    question: str
    interpreted_question: str
    intent: Intent
    drugs: tuple[str, ...]
    evidence: dict[SourceKind, list[Evidence]]
    summary_evidence: list[Evidence]
    gaps: tuple[str, ...]
    abstained: bool
    abstention_message: str
    notes: dict[str, str] = field(default_factory=dict)
    conversation_id: str | None = None
    index_version: str | None = None
    disclaimer: str = ""


class Composer(Protocol):
    """Writes the answer from numbered passages (extractive now; a chat model could later)."""

    def compose(self, request: CompositionInput) -> Answer:
        """The Answer for the request; statements must cite the passages they use."""
        ...


def issuer_short(issuer: str | None) -> str:
    """A short issuer name for statement prefixes."""
    if not issuer:
        return "Guideline"
    for long, short in _ISSUER_SHORT:
        if long.lower() in issuer.lower():
            return short
    return issuer if len(issuer) <= 40 else issuer[:37].rstrip() + "..."


def _grade(evidence: Evidence) -> str:
    found = re.search(r"\(Grade ([A-DI])\)", " ".join(evidence.hit.section_path))
    return f"grade {found.group(1)}" if found else ""


def _drug_label_name(evidence: Evidence) -> str:
    title = evidence.hit.title
    name = title.split(" label")[0].strip()
    partial = " (partial)" if "(partial" in title else ""
    return f"{name.split()[0].capitalize() if name else 'Drug'}{partial}"


def statement_prefix(evidence: Evidence) -> str:
    """How a statement names its source: issuer and year, drug and label section, or design."""
    hit = evidence.hit
    if hit.kind is SourceKind.GUIDELINE:
        issuer = issuer_short(hit.issuer)
        details = ", ".join(p for p in (str(hit.year or ""), _grade(evidence)) if p)
        return f"{issuer} ({details}): " if details else f"{issuer}: "
    if hit.kind is SourceKind.LABEL:
        return f"{_drug_label_name(evidence)} label, {hit.section}: "
    design = evidence.design or "study"
    year = f"{hit.year} " if hit.year else ""
    article = "An" if (year or design)[:1].lower() in "aeio8" else "A"
    return f"{article} {year}{design} reported: "


class _Numbering:
    def __init__(self, notes: dict[str, str]) -> None:
        self.by_chunk: dict[str, Citation] = {}
        self.notes = notes

    def cite(self, evidence: Evidence) -> int:
        hit = evidence.hit
        existing = self.by_chunk.get(hit.chunk_id)
        if existing:
            return existing.n
        citation = Citation(
            n=len(self.by_chunk) + 1,
            kind=hit.kind,
            doc_id=hit.doc_id,
            chunk_id=hit.chunk_id,
            title=hit.title,
            issuer=hit.issuer,
            year=hit.year,
            section=hit.section,
            pages=hit.pages,
            url=hit.url,
            identifier=hit.identifier,
            passage=hit.text,
            note=self.notes.get(hit.doc_id),
        )
        self.by_chunk[hit.chunk_id] = citation
        return citation.n


class ExtractiveComposer:
    """Every statement is one verbatim sentence from its cited passage, framed by its source."""

    def compose(self, request: CompositionInput) -> Answer:
        numbering = _Numbering(request.notes)
        summary_parts = [f"{e.sentence} [{numbering.cite(e)}]" for e in request.summary_evidence]
        sections = []
        for kind in (SourceKind.GUIDELINE, SourceKind.LABEL, SourceKind.RESEARCH):
            chosen = request.evidence.get(kind) or []
            statements = tuple(
                Statement(
                    text=statement_prefix(e) + e.sentence,
                    quote=e.sentence,
                    citations=(numbering.cite(e),),
                )
                for e in chosen
            )
            if statements:
                sections.append(
                    AnswerSection(kind=kind, title=SECTION_TITLES[kind], statements=statements)
                )
        summary = " ".join(summary_parts) if summary_parts else request.abstention_message
        return Answer(
            question=request.question,
            interpreted_question=request.interpreted_question,
            summary=summary,
            summary_citations=tuple(numbering.cite(e) for e in request.summary_evidence),
            sections=tuple(sections),
            references=tuple(sorted(numbering.by_chunk.values(), key=lambda c: c.n)),
            abstained=request.abstained,
            gaps=request.gaps,
            conversation_id=request.conversation_id,
            index_version=request.index_version,
            intent=request.intent,
            drugs=request.drugs,
            disclaimer=request.disclaimer,
        )
