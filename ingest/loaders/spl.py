"""DailyMed SPL XML: sections by LOINC code and title, nested subsections, flattened tables."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from ingest.errors import CorruptFileError, EmptyDocumentError
from ingest.loaders.base import clean_text, parse_compact_date, sha256_bytes, slugify
from ingest.models import Document, Section, SourceKind

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

    def accepts(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() == ".zip":
            return _zip_xml_member(path) is not None
        return path.suffix.lower() == ".xml" and b"urn:hl7-org:v3" in head

    def load(self, path: Path) -> list[Document]:
        raw = _read_xml_bytes(path)
        root = _parse(raw, path)
        if root.tag != f"{_V3}document":
            raise CorruptFileError(path, "XML is not an HL7 SPL <document>")
        sections = spl_sections(root)
        if not sections:
            raise EmptyDocumentError(path, "the SPL document has no text sections")
        return [_spl_document(root, sections, path, raw)]


def _zip_xml_member(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".xml")]
    except (zipfile.BadZipFile, OSError):
        return None
    return names[0] if names else None


def _read_xml_bytes(path: Path) -> bytes:
    if path.suffix.lower() != ".zip":
        return path.read_bytes()
    member = _zip_xml_member(path)
    if member is None:
        raise CorruptFileError(path, "the zip holds no SPL .xml file")
    with zipfile.ZipFile(path) as archive:
        return archive.read(member)


def _parse(raw: bytes, path: Path) -> ET.Element:
    try:
        root: ET.Element = SafeET.fromstring(raw)
    except DefusedXmlException as exc:
        raise CorruptFileError(path, f"unsafe XML refused ({type(exc).__name__})") from exc
    except ET.ParseError as exc:
        raise CorruptFileError(path, f"invalid XML ({exc})") from exc
    return root


def _inline_text(element: ET.Element) -> str:
    return " ".join("".join(element.itertext()).split())


def flatten_table(table: ET.Element) -> str:
    """A table as readable lines: one row per line, cells joined by ' | '."""
    rows = []
    caption = table.find("v3:caption", NS)
    if caption is not None and _inline_text(caption):
        rows.append(_inline_text(caption))
    for row in table.iter(f"{_V3}tr"):
        cells = [_inline_text(c) for c in row if c.tag in (f"{_V3}td", f"{_V3}th")]
        if any(cells):
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _block_text(element: ET.Element) -> list[str]:
    """Paragraph, list and table text in document order, without nested sections."""
    blocks: list[str] = []
    for child in element:
        tag = child.tag.replace(_V3, "")
        if tag == "table":
            blocks.append(flatten_table(child))
        elif tag == "list":
            blocks.extend(f"- {_inline_text(item)}" for item in child.findall("v3:item", NS))
        elif tag in {"paragraph", "content"}:
            blocks.append(_inline_text(child))
        elif tag not in {"renderMultiMedia", "caption"}:
            blocks.extend(_block_text(child))
    return [b for b in blocks if b.strip()]


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
    text = clean_text("\n".join(_block_text(text_el))) if text_el is not None else ""
    if text:
        heading = "Boxed Warning" if code == BOXED_WARNING_CODE else heading
        out.append(Section(heading=heading, text=text, path=path, number=number, code=code))
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
