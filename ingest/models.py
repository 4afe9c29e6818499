"""Typed domain models shared by every layer: documents, sections and chunks."""

from __future__ import annotations

import datetime as dt
import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

# One pattern for document ids everywhere (files, uploads, URLs of the API): no slashes, no
# spaces, nothing a path or a shell would read differently.
DOC_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$"
_DOC_ID = re.compile(DOC_ID_PATTERN)


def check_doc_id(value: str) -> str:
    """A valid document id, or a ValueError that says what is allowed."""
    if not _DOC_ID.match(value):
        raise ValueError(
            f"invalid document id {value!r}: use letters, digits, '.', '_' and '-' "
            "(up to 200, starting with a letter or digit)"
        )
    return value


def check_url(value: str | None) -> str | None:
    """Only http(s) links: a javascript: or file: link must never reach a page."""
    if value is not None and not re.match(r"^https?://[^\s]+$", value, re.IGNORECASE):
        raise ValueError(f"invalid url {value!r}: only http:// and https:// links are accepted")
    return value


class SourceKind(StrEnum):
    """The three kinds of evidence GuideQA answers from."""

    GUIDELINE = "guideline"
    LABEL = "label"
    RESEARCH = "research"


class SectionRole(StrEnum):
    """What a section is for, assigned at ingest from LOINC codes, openFDA fields, label
    numbers or headings (ingest/data/section_roles.yaml); consumers never parse headings."""

    BOXED_WARNING = "boxed_warning"
    INDICATIONS = "indications"
    DOSAGE = "dosage"
    DOSAGE_FORMS = "dosage_forms"
    CONTRAINDICATIONS = "contraindications"
    WARNINGS = "warnings"
    ADVERSE_REACTIONS = "adverse_reactions"
    INTERACTIONS = "interactions"
    SPECIFIC_POPULATIONS = "specific_populations"
    OVERDOSAGE = "overdosage"
    DESCRIPTION = "description"
    PHARMACOLOGY = "pharmacology"
    CLINICAL_STUDIES = "clinical_studies"
    PATIENT_COUNSELING = "patient_counseling"
    HOW_SUPPLIED = "how_supplied"
    OTC_PURPOSE = "otc_purpose"
    OTC_DIRECTIONS = "otc_directions"
    OTC_WARNINGS = "otc_warnings"
    RECOMMENDATION = "recommendation"
    SUPPORTING = "supporting"
    BACKGROUND = "background"
    METHODS = "methods"
    RESULTS = "results"
    CONCLUSIONS = "conclusions"
    OTHER = "other"


class Population(StrEnum):
    """A group of patients a passage applies to (and only to)."""

    PREGNANCY = "pregnancy"
    LACTATION = "lactation"
    REPRODUCTIVE_POTENTIAL = "reproductive_potential"
    PEDIATRIC = "pediatric"
    GERIATRIC = "geriatric"
    RENAL_IMPAIRMENT = "renal_impairment"
    HEPATIC_IMPAIRMENT = "hepatic_impairment"
    WOMEN = "women"
    MEN = "men"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


Span = tuple[int, int]


class Section(_Frozen):
    """One ordered section of a document, with where it sits in the source."""

    heading: str
    text: str
    path: tuple[str, ...] = ()
    number: str | None = Field(default=None, description="label section number, e.g. '2.3'")
    code: str | None = Field(default=None, description="LOINC section code for SPL labels")
    page_start: int | None = None
    page_end: int | None = None
    page_breaks: tuple[int, ...] = Field(
        default=(), description="offsets in text where each page after page_start begins"
    )
    role: SectionRole | None = None
    population: Population | None = Field(
        default=None, description="the patients the whole section is about, if only some"
    )
    grade: str | None = Field(default=None, description="recommendation grade, e.g. USPSTF 'B'")
    table_rows: tuple[Span, ...] = Field(
        default=(), description="[start, end) offsets in text of table rows rendered with headers"
    )

    def pages_of(self, start: int, end: int) -> tuple[int | None, int | None]:
        """The first and last page that the text slice [start, end) lies on."""
        if self.page_start is None:
            return None, None
        first = self.page_start + sum(1 for b in self.page_breaks if b <= start)
        last = self.page_start + sum(1 for b in self.page_breaks if b < end)
        return first, last

    @property
    def title(self) -> str:
        """Heading prefixed by its number where the source numbers sections."""
        if self.number and not self.heading.startswith(self.number):
            return f"{self.number} {self.heading}"
        return self.heading


class Document(_Frozen):
    """A loaded source document with its provenance and ordered sections."""

    doc_id: str
    kind: SourceKind
    title: str
    issuer: str | None = Field(default=None, description="issuing body, journal or manufacturer")
    date: dt.date | None = None
    year: int | None = None
    version: str | None = None
    url: str | None = None
    identifier: str | None = Field(default=None, description="PMID, DailyMed set id, ...")
    licence: str | None = None
    source_path: str
    content_hash: str
    supersedes: tuple[str, ...] = ()
    series_id: str | None = None
    drug_names: tuple[str, ...] = Field(default=(), description="generic and brand names")
    drug_classes: tuple[str, ...] = Field(
        default=(), description="pharmacologic classes (openFDA pharm_class_epc/moa)"
    )
    grades: tuple[str, ...] = Field(default=(), description="recommendation grades it contains")
    publication_types: tuple[str, ...] = ()
    mesh_terms: tuple[str, ...] = ()
    partial: bool = False
    sections: tuple[Section, ...] = ()

    @field_validator("doc_id")
    @classmethod
    def _valid_id(cls, value: str) -> str:
        return check_doc_id(value)

    @field_validator("supersedes")
    @classmethod
    def _valid_ids(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_doc_id(v) for v in values)

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        return check_url(value)

    @property
    def text_length(self) -> int:
        """Characters of section text, for reporting."""
        return sum(len(s.text) for s in self.sections)


class Chunk(_Frozen):
    """A retrievable passage: a slice of one section, never crossing its boundary."""

    chunk_id: str
    doc_id: str
    ordinal: int
    section_index: int = Field(description="position of the section in Document.sections")
    section: str
    section_path: tuple[str, ...] = ()
    section_number: str | None = None
    section_code: str | None = Field(default=None, description="LOINC code of the section")
    section_role: SectionRole | None = None
    population: Population | None = None
    grade: str | None = None
    page_start: int | None = None
    page_end: int | None = None
    text: str
    token_count: int
    table_rows: tuple[Span, ...] = Field(
        default=(), description="[start, end) offsets in text of table rows with their headers"
    )
