"""Write abstracts as PubMed XML (the efetch `PubmedArticleSet` layout) and MEDLINE text."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable

from guideqa.ingest.loaders.pubmed import PubMedRecord


def _article(record: PubMedRecord) -> ET.Element:
    article_root = ET.Element("PubmedArticle")
    citation = ET.SubElement(article_root, "MedlineCitation", Status="MEDLINE", Owner="NLM")
    ET.SubElement(citation, "PMID", Version="1").text = record.pmid
    article = ET.SubElement(citation, "Article", PubModel="Print")
    journal = ET.SubElement(article, "Journal")
    issue = ET.SubElement(journal, "JournalIssue", CitedMedium="Print")
    date = ET.SubElement(issue, "PubDate")
    if record.year:
        ET.SubElement(date, "Year").text = str(record.year)
    if record.journal:
        ET.SubElement(journal, "Title").text = record.journal
    ET.SubElement(article, "ArticleTitle").text = record.title
    abstract = ET.SubElement(article, "Abstract")
    parts = list(record.abstract)
    if record.conclusion:
        parts.append(("CONCLUSIONS", record.conclusion))
    for label, text in parts:
        attrs = {"Label": label, "NlmCategory": label} if label else {}
        ET.SubElement(abstract, "AbstractText", attrs).text = text
    types = ET.SubElement(article, "PublicationTypeList")
    for kind in record.publication_types or ["Journal Article"]:
        ET.SubElement(types, "PublicationType").text = kind
    if record.mesh_terms:
        mesh = ET.SubElement(citation, "MeshHeadingList")
        for term in record.mesh_terms:
            heading = ET.SubElement(mesh, "MeshHeading")
            ET.SubElement(heading, "DescriptorName", MajorTopicYN="N").text = term
    return article_root


def pubmed_xml(records: Iterable[PubMedRecord]) -> str:
    """A `PubmedArticleSet` document holding the records."""
    root = ET.Element("PubmedArticleSet")
    for record in records:
        root.append(_article(record))
    ET.indent(root, space=" ")
    body = ET.tostring(root, encoding="unicode")
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2024//EN" '
        '"https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_240101.dtd">\n' + body + "\n"
    )


def _wrap(tag: str, value: str) -> list[str]:
    words, lines, line = value.split(), [], ""
    for word in words:
        if line and len(line) + len(word) + 1 > 82:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    lines.append(line)
    return [f"{tag:<4}- {lines[0]}", *[f"      {rest}" for rest in lines[1:]]]


def medline_text(records: Iterable[PubMedRecord]) -> str:
    """MEDLINE/nbib text: `TAG - value` lines, one blank line between records."""
    blocks = []
    for record in records:
        abstract = " ".join(
            f"{label}: {text}" if label else text for label, text in record.abstract
        )
        lines = [f"PMID- {record.pmid}", *_wrap("TI", record.title), *_wrap("AB", abstract)]
        if record.year:
            lines.append(f"DP  - {record.year}")
        if record.journal:
            lines.append(f"JT  - {record.journal}")
        lines += [f"PT  - {t}" for t in record.publication_types]
        lines += [f"MH  - {m}" for m in record.mesh_terms]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
