"""PubMed records: PubMed XML (efetch), MEDLINE text (.nbib/.txt) and PubMedQA-style JSON."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from guideqa.ingest.errors import CorruptFileError, EmptyDocumentError
from guideqa.ingest.loaders.base import clean_text, sha256_bytes
from guideqa.ingest.models import Document, Section, SourceKind

LICENCE = "abstract text; copyright of the journal or authors"


@dataclass
class PubMedRecord:
    """The fields of one citation, independent of the format it came in."""

    pmid: str
    title: str
    abstract: list[tuple[str, str]]
    journal: str | None = None
    year: int | None = None
    publication_types: list[str] = field(default_factory=list)
    mesh_terms: list[str] = field(default_factory=list)
    conclusion: str | None = None

    def to_document(self, path: Path, content_hash: str) -> Document:
        """The record as a research Document, one section per abstract label."""
        parts = [(label or "Abstract", text) for label, text in self.abstract if text.strip()]
        if self.conclusion:
            parts.append(("CONCLUSIONS", self.conclusion))
        sections = tuple(
            Section(heading=label.title(), text=clean_text(text), path=(label.title(),))
            for label, text in parts
        )
        return Document(
            doc_id=f"pmid-{self.pmid}",
            kind=SourceKind.RESEARCH,
            title=self.title.strip() or f"PMID {self.pmid}",
            issuer=self.journal,
            year=self.year,
            url=f"https://pubmed.ncbi.nlm.nih.gov/{self.pmid}/",
            identifier=f"PMID:{self.pmid}",
            licence=LICENCE,
            source_path=str(path),
            content_hash=content_hash,
            publication_types=tuple(self.publication_types),
            mesh_terms=tuple(self.mesh_terms),
            sections=sections,
        )


def _documents(records: Iterable[PubMedRecord], path: Path) -> list[Document]:
    documents = []
    for record in records:
        digest = sha256_bytes(json.dumps(record.__dict__, sort_keys=True, default=str).encode())
        if any(text.strip() for _, text in record.abstract) or record.conclusion:
            documents.append(record.to_document(path, digest))
    if not documents:
        raise EmptyDocumentError(path, "no PubMed record with an abstract")
    return documents


class PubMedXmlLoader:
    """PubMed XML as returned by efetch or saved from PubMed ("PubmedArticleSet")."""

    name = "pubmed-xml"

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() == ".xml" and (
            b"PubmedArticle" in head or b"MedlineCitation" in head
        )

    def load(self, path: Path) -> list[Document]:
        try:
            root: ET.Element = SafeET.fromstring(path.read_bytes())
        except DefusedXmlException as exc:
            raise CorruptFileError(path, f"unsafe XML refused ({type(exc).__name__})") from exc
        except ET.ParseError as exc:
            raise CorruptFileError(path, f"invalid XML ({exc})") from exc
        articles = root.iter("PubmedArticle") if root.tag != "PubmedArticle" else [root]
        return _documents((_xml_record(a) for a in articles), path)


def _text(element: ET.Element | None) -> str:
    return " ".join("".join(element.itertext()).split()) if element is not None else ""


def _xml_year(article: ET.Element) -> int | None:
    for path in (
        ".//Article/Journal/JournalIssue/PubDate/Year",
        ".//Article/ArticleDate/Year",
        ".//Article/Journal/JournalIssue/PubDate/MedlineDate",
    ):
        found = re.search(r"\d{4}", _text(article.find(path)))
        if found:
            return int(found.group())
    return None


def _xml_record(article: ET.Element) -> PubMedRecord:
    abstract = [
        (part.get("Label") or part.get("NlmCategory") or "", _text(part))
        for part in article.findall(".//Article/Abstract/AbstractText")
    ]
    return PubMedRecord(
        pmid=_text(article.find(".//MedlineCitation/PMID")),
        title=_text(article.find(".//Article/ArticleTitle")),
        abstract=abstract,
        journal=_text(article.find(".//Article/Journal/Title")) or None,
        year=_xml_year(article),
        publication_types=[_text(p) for p in article.findall(".//PublicationTypeList/*")],
        mesh_terms=[
            _text(m) for m in article.findall(".//MeshHeadingList/MeshHeading/DescriptorName")
        ],
    )


class MedlineLoader:
    """MEDLINE/nbib text: `TAG - value` lines, records separated by blank lines."""

    name = "medline"

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in {".nbib", ".txt", ".medline"} and bool(
            re.match(rb"\s*PMID-\s*\d+", head)
        )

    def load(self, path: Path) -> list[Document]:
        text = path.read_text(encoding="utf-8", errors="replace")
        blocks = [b for b in re.split(r"\n\s*\n(?=PMID-)", text.strip()) if b.strip()]
        return _documents((_medline_record(_medline_fields(b)) for b in blocks), path)


def _medline_fields(block: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = defaultdict(list)
    tag = ""
    for line in block.splitlines():
        match = re.match(r"^([A-Z]{2,4})\s*- (.*)$", line)
        if match:
            tag = match.group(1)
            fields[tag].append(match.group(2).strip())
        elif tag and line.startswith("      "):
            fields[tag][-1] += " " + line.strip()
    return fields


_LABELLED = re.compile(r"\b([A-Z][A-Z /&-]{3,40}):\s")


def split_labelled_abstract(text: str) -> list[tuple[str, str]]:
    """'BACKGROUND: ... METHODS: ...' into labelled parts; unlabelled text stays whole."""
    matches = list(_LABELLED.finditer(text))
    if not matches:
        return [("", text)]
    parts = [("", text[: matches[0].start()].strip())] if matches[0].start() > 0 else []
    for match, nxt in zip(matches, [*matches[1:], None], strict=False):
        end = nxt.start() if nxt else len(text)
        parts.append((match.group(1).strip(), text[match.end() : end].strip()))
    return [(label, body) for label, body in parts if body]


def _medline_record(fields: dict[str, list[str]]) -> PubMedRecord:
    year = re.search(r"\d{4}", (fields.get("DP") or [""])[0])
    return PubMedRecord(
        pmid=(fields.get("PMID") or [""])[0],
        title=" ".join(fields.get("TI") or []),
        abstract=split_labelled_abstract(" ".join(fields.get("AB") or [])),
        journal=next(iter(fields.get("JT") or fields.get("TA") or []), None),
        year=int(year.group()) if year else None,
        publication_types=fields.get("PT") or [],
        mesh_terms=[m.lstrip("*").split("/")[0] for m in fields.get("MH") or []],
    )


class PubMedQaLoader:
    """PubMedQA JSON: the `ori_pqal.json` dict keyed by PMID, or one record per line."""

    name = "pubmedqa"

    def accepts(self, path: Path, head: bytes) -> bool:
        return path.suffix.lower() in {".json", ".jsonl"} and (
            b'"CONTEXTS"' in head or b'"abstract_sections"' in head
        )

    def load(self, path: Path) -> list[Document]:
        text = path.read_text(encoding="utf-8")
        items: list[tuple[str | None, dict[str, Any]]]
        try:
            data = json.loads(text)
            items = list(data.items()) if isinstance(data, dict) else [(None, r) for r in data]
        except json.JSONDecodeError:
            try:
                items = [(None, json.loads(line)) for line in text.split("\n") if line.strip()]
            except json.JSONDecodeError as exc:
                raise CorruptFileError(path, f"invalid PubMedQA JSON ({exc.msg})") from exc
        return _documents((_pubmedqa_record(pmid, r) for pmid, r in items), path)


def _pubmedqa_record(pmid: str | None, record: dict[str, Any]) -> PubMedRecord:
    if "CONTEXTS" in record:
        abstract = list(zip(record.get("LABELS") or [], record["CONTEXTS"], strict=False))
        year = record.get("YEAR")
        return PubMedRecord(
            pmid=str(pmid or record.get("pmid")),
            title=record.get("TITLE") or record.get("QUESTION") or "",
            abstract=abstract,
            journal=record.get("JOURNAL"),
            year=int(year) if year else None,
            publication_types=record.get("PUBLICATION_TYPES") or [],
            mesh_terms=record.get("MESHES") or [],
            conclusion=record.get("LONG_ANSWER"),
        )
    sections = [(s.get("label", ""), s.get("text", "")) for s in record["abstract_sections"]]
    year = record.get("year")
    return PubMedRecord(
        pmid=str(record.get("pmid") or pmid),
        title=record.get("title") or record.get("title_question") or "",
        abstract=sections,
        journal=record.get("journal"),
        year=int(year) if year else None,
        publication_types=record.get("publication_types") or [],
        mesh_terms=record.get("mesh_terms") or record.get("meshes") or [],
        conclusion=record.get("conclusion") or record.get("long_answer"),
    )
