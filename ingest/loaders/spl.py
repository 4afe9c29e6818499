"""DailyMed SPL XML: sections by LOINC code and title, nested subsections, flattened tables."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from guideqa.ingest.errors import CorruptFileError, EmptyDocumentError
from guideqa.ingest.loaders.base import clean_text, parse_compact_date, sha256_bytes, slugify
from guideqa.ingest.loaders.openfda import zip_holds
from guideqa.ingest.models import Document, Section, SourceKind, Span
from guideqa.ingest.safe_zip import read_member, zip_members
from guideqa.ingest.settings import IngestLimits
from guideqa.ingest.tables import Cell, build_table, render_rows

NS = {"v3": "urn:hl7-org:v3"}
_V3 = "{urn:hl7-org:v3}"
_LOINC = "2.16.840.1.113883.6.1"
BOXED_WARNING_CODE = "34066-1"
# Sections that are not clinical content (packaging, product data tables).
_SKIPPED_CODES = frozenset({"48780-1", "51945-4", "34069-5", "60561-8"})
_NUMBER = re.compile(r"^\s*(\d{1,2}(?:\.\d{1,2}){0,2})\s+")


class SplLoader:
    """Reads SPL XML documents (also inside DailyMed label zips); parsed with defusedxml."""

    name = "spl"

    def __init__(self, limits: IngestLimits | None = None) -> None:
        self.limits = limits or IngestLimits()

    def accepts(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() == ".zip":
            return zip_holds(path, ".xml")
        return path.suffix.lower() == ".xml" and b"urn:hl7-org:v3" in head

    def load(self, path: Path) -> list[Document]:
        raw = _read_xml_bytes(path, self.limits)
        root = _parse(raw, path)
        if root.tag != f"{_V3}document":
            raise CorruptFileError(path, "XML is not an HL7 SPL <document>")
        sections = spl_sections(root)
        if not sections:
            raise EmptyDocumentError(path, "the SPL document has no text sections")
        return [_spl_document(root, sections, path, raw)]


def _read_xml_bytes(path: Path, limits: IngestLimits) -> bytes:
    if path.suffix.lower() != ".zip":
        return path.read_bytes()
    members = zip_members(path, ".xml", limits)
    if not members:
        raise CorruptFileError(path, "the zip holds no SPL .xml file")
    return read_member(path, members[0], limits)


def _parse(raw: bytes, path: Path) -> ET.Element:
    try:
        root: ET.Element = SafeET.fromstring(raw)
    except DefusedXmlException as exc:
        raise CorruptFileError(path, f"unsafe XML refused ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        raise CorruptFileError(path, f"invalid XML ({exc})") from exc
    return root


def _inline_text(element: ET.Element) -> str:
    return " ".join("".join(_text_parts(element)).split())


def _text_parts(element: ET.Element) -> list[str]:
    """Text in order; line breaks and footnotes become spaces, so words do not run together."""
    parts = [element.text or ""]
    for child in element:
        tag = child.tag.replace(_V3, "")
        if tag == "br":
            parts.append(" ")
        elif tag == "footnote":
            parts += [" (", *_text_parts(child), ") "]
        else:
            parts += _text_parts(child)
        parts.append(child.tail or "")
    return parts


def _cell(cell: ET.Element) -> Cell:
    text = _inline_text(cell)
    bold_parts = [
        _inline_text(c)
        for c in cell.iter(f"{_V3}content")
        if "bold" in (c.get("styleCode") or "").lower()
    ]
    bold = bool(text) and " ".join(bold_parts).replace(" ", "") == text.replace(" ", "")
    return Cell(text, bold, header=cell.tag == f"{_V3}th")


def _spread_rowspans(table: ET.Element) -> list[list[Cell]]:
    """Rows of cells, with a cell that spans several rows repeated in each of them."""
    rows: list[list[Cell]] = []
    pending: dict[int, tuple[Cell, int]] = {}  # column -> (cell, rows still to fill)
    for row in table.iter(f"{_V3}tr"):
        cells: list[Cell] = []
        for element in (c for c in row if c.tag in (f"{_V3}td", f"{_V3}th")):
            while len(cells) in pending:
                cells.append(_take(pending, len(cells)))
            cell = _cell(element)
            rowspan = element.get("rowspan") or "1"
            span = int(rowspan) if rowspan.isdigit() else 1
            if span > 1:
                pending[len(cells)] = (cell, span - 1)
            cells.append(cell)
        while len(cells) in pending:
            cells.append(_take(pending, len(cells)))
        rows.append(cells)
    return rows


def _take(pending: dict[int, tuple[Cell, int]], column: int) -> Cell:
    cell, left = pending.pop(column)
    if left > 1:
        pending[column] = (cell, left - 1)
    return cell


def table_lines(table: ET.Element) -> list[str]:
    """A table as its caption and one line per row with the column headers, cell by cell."""
    caption = table.find("v3:caption", NS)
    head = table.find("v3:thead", NS)
    head_rows = len(head.findall("v3:tr", NS)) if head is not None else 0
    rows = _spread_rowspans(table)
    built = build_table(_inline_text(caption) if caption is not None else None, rows, head_rows)
    return ([built.caption] if built.caption else []) + render_rows(built)


def _block_text(element: ET.Element) -> list[tuple[str, bool]]:
    """(text, is a table row) blocks in document order, without nested sections."""
    blocks: list[tuple[str, bool]] = []
    for child in element:
        tag = child.tag.replace(_V3, "")
        if tag == "table":
            lines = table_lines(child)
            caption = child.find("v3:caption", NS)
            has_caption = caption is not None and bool(_inline_text(caption))
            blocks.extend((line, not (i == 0 and has_caption)) for i, line in enumerate(lines))
        elif tag == "list":
            blocks.extend(
                (f"- {_inline_text(item)}", False) for item in child.findall("v3:item", NS)
            )
        elif tag in {"paragraph", "content"}:
            blocks.append((_inline_text(child), False))
        elif tag not in {"renderMultiMedia", "caption"}:
            blocks.extend(_block_text(child))
    return [b for b in blocks if b[0].strip()]


def section_text(text_el: ET.Element) -> tuple[str, tuple[Span, ...]]:
    """The section's text, and where its table rows lie in it."""
    blocks = _block_text(text_el)
    text = clean_text("\n".join(b for b, _ in blocks))
    spans: list[Span] = []
    cursor = 0
    for block, is_row in blocks:
        line = clean_text(block)
        found = text.find(line, cursor) if line else -1
        if found < 0:
            continue
        cursor = found + len(line)
        if is_row:
            spans.append((found, cursor))
    return text, tuple(spans)


def _section_heading(section: ET.Element) -> tuple[str, str | None, str | None]:
    code_el = section.find("v3:code", NS)
    code = code_el.get("code") if code_el is not None else None
    title_el = section.find("v3:title", NS)
    title = _inline_text(title_el) if title_el is not None else ""
    if not title and code_el is not None and code != "42229-5":
        title = (code_el.get("displayName") or "").replace(" SECTION", "").title()
    number_match = _NUMBER.match(title)
    number = number_match.group(1) if number_match else None
    heading = title[number_match.end() :].strip() if number_match else title
    if code == BOXED_WARNING_CODE:
        heading = heading or "Boxed Warning"
    return heading.strip(), number, code


def _walk(section: ET.Element, parents: tuple[str, ...], out: list[Section]) -> None:
    heading, number, code = _section_heading(section)
    if code in _SKIPPED_CODES:
        return
    if not heading:  # an untitled subsection belongs to its parent's heading
        heading = parents[-1] if parents else "Text"
        path = parents or (heading,)
    else:
        path = (*parents, f"{number} {heading}" if number else heading)
    text_el = section.find("v3:text", NS)
    text, rows = section_text(text_el) if text_el is not None else ("", ())
    if text:
        heading = "Boxed Warning" if code == BOXED_WARNING_CODE else heading
        out.append(
            Section(
                heading=heading, text=text, path=path, number=number, code=code, table_rows=rows
            )
        )
    for child in section.findall("v3:component/v3:section", NS):
        _walk(child, path, out)


def spl_sections(root: ET.Element) -> list[Section]:
    """All text sections of the structured body, depth first, in label order."""
    sections: list[Section] = []
    for top in root.findall("v3:component/v3:structuredBody/v3:component/v3:section", NS):
        _walk(top, (), sections)
    return sections


def _spl_names(root: ET.Element) -> tuple[list[str], list[str]]:
    brands, generics = [], []
    for product in root.iter(f"{_V3}manufacturedProduct"):
        name = product.find("v3:name", NS)
        if name is not None and _inline_text(name):
            brands.append(_inline_text(name))
        generic = product.find("v3:asEntityWithGeneric/v3:genericMedicine/v3:name", NS)
        if generic is not None and _inline_text(generic):
            generics.append(_inline_text(generic))
    return list(dict.fromkeys(generics)), list(dict.fromkeys(brands))


def _attr(root: ET.Element, path: str, attr: str) -> str | None:
    element = root.find(path, NS)
    return element.get(attr) if element is not None else None


def _spl_document(root: ET.Element, sections: list[Section], path: Path, raw: bytes) -> Document:
    generics, brands = _spl_names(root)
    set_id = _attr(root, "v3:setId", "root") or _attr(root, "v3:id", "root") or path.stem
    date = parse_compact_date(_attr(root, "v3:effectiveTime", "value"))
    org = root.find("v3:author/v3:assignedEntity/v3:representedOrganization/v3:name", NS)
    drug = (generics or brands or [path.stem])[0]
    brand_part = f" ({', '.join(b for b in brands if b.lower() != drug.lower())})"
    title = f"{drug.title()} label" + (brand_part if brand_part != " ()" else "")
    return Document(
        doc_id=f"label-{slugify(drug, 40)}-{set_id[:8]}",
        kind=SourceKind.LABEL,
        title=title,
        issuer=_inline_text(org) if org is not None else None,
        date=date,
        year=date.year if date else None,
        version=_attr(root, "v3:versionNumber", "value"),
        url=f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}",
        identifier=set_id,
        licence="public domain (FDA SPL)",
        source_path=str(path),
        content_hash=sha256_bytes(raw),
        drug_names=tuple(dict.fromkeys(generics + brands)),
        sections=tuple(sections),
    )
