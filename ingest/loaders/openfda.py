"""openFDA drug label JSON: single records, `{"results": [...]}`, JSON Lines and bulk zips."""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from guideqa.ingest.errors import CorruptFileError, EmptyDocumentError
from guideqa.ingest.loaders.base import clean_text, parse_compact_date, sha256_bytes, slugify
from guideqa.ingest.loaders.label_sections import split_numbered_subsections
from guideqa.ingest.models import Document, Section, SourceKind
from guideqa.ingest.safe_zip import read_member, zip_members
from guideqa.ingest.settings import IngestLimits
from guideqa.ingest.tables import Table, html_tables, with_table_rows

_CLASS_FIELDS = ("pharm_class_epc", "pharm_class_moa", "pharm_class_cs", "pharm_class_pe")

# openFDA field -> (heading, SPL section number); order is the label's reading order.
LABEL_FIELDS: tuple[tuple[str, str, str | None], ...] = (
    ("boxed_warning", "Boxed Warning", None),
    ("indications_and_usage", "Indications and Usage", "1"),
    ("dosage_and_administration", "Dosage and Administration", "2"),
    ("dosage_forms_and_strengths", "Dosage Forms and Strengths", "3"),
    ("contraindications", "Contraindications", "4"),
    ("warnings_and_cautions", "Warnings and Precautions", "5"),
    ("warnings", "Warnings", None),
    ("precautions", "Precautions", None),
    ("adverse_reactions", "Adverse Reactions", "6"),
    ("drug_interactions", "Drug Interactions", "7"),
    ("use_in_specific_populations", "Use in Specific Populations", "8"),
    ("pregnancy", "Pregnancy", "8.1"),
    ("lactation", "Lactation", "8.2"),
    ("pediatric_use", "Pediatric Use", "8.4"),
    ("geriatric_use", "Geriatric Use", "8.5"),
    ("drug_abuse_and_dependence", "Drug Abuse and Dependence", "9"),
    ("overdosage", "Overdosage", "10"),
    ("description", "Description", "11"),
    ("mechanism_of_action", "Mechanism of Action", "12.1"),
    ("clinical_pharmacology", "Clinical Pharmacology", "12"),
    ("clinical_studies", "Clinical Studies", "14"),
    ("purpose", "Purpose", None),
    ("active_ingredient", "Active Ingredient", None),
    ("do_not_use", "Do Not Use", None),
    ("ask_doctor", "Ask a Doctor Before Use", None),
    ("ask_doctor_or_pharmacist", "Ask a Doctor or Pharmacist Before Use", None),
    ("stop_use", "Stop Use", None),
    ("pregnancy_or_breast_feeding", "Pregnancy or Breast-Feeding", None),
    ("keep_out_of_reach_of_children", "Keep Out of Reach of Children", None),
    ("directions", "Directions", None),
)


class OpenFdaLoader:
    """Reads openFDA drug/label records in any of the layouts openFDA publishes."""

    name = "openfda"

    def __init__(self, limits: IngestLimits | None = None) -> None:
        self.limits = limits or IngestLimits()

    def accepts(self, path: Path, head: bytes) -> bool:
        if path.suffix.lower() == ".zip":  # by content: a DailyMed zip holds XML, not JSON
            return zip_holds(path, ".json")
        if path.suffix.lower() not in {".json", ".jsonl", ".ndjson"}:
            return False
        markers = (b'"set_id"', b'"openfda"', b'"results"', b'"spl_product_data_elements"')
        return any(marker in head for marker in markers)

    def load(self, path: Path) -> list[Document]:
        raw = b"" if zipfile.is_zipfile(path) else path.read_bytes()
        records = iter_label_records(path, raw, self.limits)
        documents = [label_document(record, path) for record in records]
        if not documents:
            raise EmptyDocumentError(path, "no openFDA label records found")
        return documents


def zip_holds(path: Path, suffix: str) -> bool:
    """Whether a zip has a member with the suffix (False for a broken zip)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.lower().endswith(suffix) for n in archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def iter_label_records(
    path: Path, raw: bytes, limits: IngestLimits | None = None
) -> Iterator[dict[str, Any]]:
    """Yield label records from a zip, a results envelope, one record or JSON Lines."""
    if zipfile.is_zipfile(path):
        yield from _zip_records(path, limits or IngestLimits())
        return
    text = _decode(raw, path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        yield from _json_lines(text, path)
        return
    yield from _records_in(data, path)


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CorruptFileError(path, f"not UTF-8 JSON ({exc.reason})") from exc


def _zip_records(path: Path, limits: IngestLimits) -> Iterator[dict[str, Any]]:
    members = zip_members(path, ".json", limits)
    if not members:
        raise CorruptFileError(path, "the zip holds no .json file")
    for member in members:
        try:
            data = json.loads(_decode(read_member(path, member, limits), path))
        except json.JSONDecodeError as exc:
            raise CorruptFileError(path, f"{member.filename}: invalid JSON ({exc.msg})") from exc
        yield from _records_in(data, path)


def _json_lines(text: str, path: Path) -> Iterator[dict[str, Any]]:
    for line_no, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorruptFileError(path, f"invalid JSON on line {line_no}: {exc.msg}") from exc
        yield from _records_in(record, path)


def _records_in(data: object, path: Path) -> Iterator[dict[str, Any]]:
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        yield from (r for r in data["results"] if isinstance(r, dict))
    elif isinstance(data, dict) and ("set_id" in data or "openfda" in data):
        yield data
    elif isinstance(data, list):
        yield from (r for r in data if isinstance(r, dict))
    else:
        raise CorruptFileError(path, "JSON is not an openFDA label record or results list")


def _first(record: dict[str, Any], key: str) -> str | None:
    value = record.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value).strip() if value else None


def _names(openfda: dict[str, Any], key: str) -> list[str]:
    values = openfda.get(key) or []
    return [str(v).strip() for v in values if str(v).strip()]


def label_sections(record: dict[str, Any]) -> list[Section]:
    """Sections in label order; numbered subsections split out of flattened text, and the
    field's `*_table` HTML tables kept as rows with their headers."""
    sections: list[Section] = []
    for field_name, heading, number in LABEL_FIELDS:
        field_sections: list[Section] = []
        for text in record.get(field_name) or []:
            text = clean_text(str(text))
            if text:
                field_sections.extend(split_numbered_subsections(text, heading, number))
        tables = [t for html in record.get(f"{field_name}_table") or [] for t in html_tables(html)]
        sections.extend(attach_tables(field_sections, tables, heading))
    # openFDA repeats subsections (e.g. `pregnancy` is also inside 8): keep the first
    seen: set[str] = set()
    unique = []
    for section in sections:
        if section.number and section.number in seen:
            continue
        seen.add(section.number or "")
        unique.append(section)
    return unique


def attach_tables(sections: list[Section], tables: list[Table], heading: str) -> list[Section]:
    """Each table's rows appended to the subsection whose flattened text holds its first
    cell (openFDA repeats a table's text, flattened, in the field's text)."""
    if not tables:
        return sections
    sections = sections or [Section(heading=heading, text="", path=(heading,))]
    by_section: dict[int, list[Table]] = {}
    for table in tables:
        first = next((c for row in table.rows for c in row if c), "")
        home = next((i for i, s in enumerate(sections) if first and first in s.text), 0)
        by_section.setdefault(home, []).append(table)
    out = []
    for i, section in enumerate(sections):
        if i in by_section:
            text, rows = with_table_rows(section.text, by_section[i])
            section = section.model_copy(update={"text": text, "table_rows": rows})
        out.append(section)
    return out


def drug_classes(openfda: dict[str, Any]) -> tuple[str, ...]:
    """Pharmacologic classes openFDA assigns ('Monoamine Oxidase Inhibitor [EPC]' -> name)."""
    names = [re.sub(r"\s*\[[A-Za-z]+\]$", "", n) for f in _CLASS_FIELDS for n in _names(openfda, f)]
    return tuple(dict.fromkeys(n for n in names if n))


def label_document(record: dict[str, Any], path: Path) -> Document:
    """Build a label Document from one openFDA record."""
    openfda = record.get("openfda") or {}
    generic = _names(openfda, "generic_name")
    brands = _names(openfda, "brand_name")
    set_id = _first(record, "set_id") or _first(record, "id")
    if not set_id:
        raise CorruptFileError(path, "an openFDA record has no set_id")
    sections = label_sections(record)
    if not sections:
        raise EmptyDocumentError(path, f"label {set_id} has no label sections")
    drug = generic[0] if generic else (brands[0] if brands else set_id)
    date = parse_compact_date(_first(record, "effective_time"))
    title = f"{drug.title()} label" + (f" ({', '.join(brands)})" if brands else "")
    return Document(
        doc_id=f"label-{slugify(drug, 40)}-{set_id[:8]}",
        kind=SourceKind.LABEL,
        title=title,
        issuer=", ".join(_names(openfda, "manufacturer_name")) or None,
        date=date,
        year=date.year if date else None,
        version=_first(record, "version"),
        url=f"https://dailymed.nlm.nih.gov/dailymed/lookup.cfm?setid={set_id}",
        identifier=set_id,
        licence="public domain (openFDA, CC0)",
        source_path=str(path),
        content_hash=sha256_bytes(json.dumps(record, sort_keys=True).encode()),
        drug_names=tuple(dict.fromkeys(generic + brands)),
        drug_classes=drug_classes(openfda),
        sections=tuple(sections),
    )
