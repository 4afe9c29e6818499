"""What every loader shares: the Loader protocol, file metadata and text helpers."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from pathlib import Path
from typing import Protocol

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from guideqa.ingest.errors import CorruptFileError
from guideqa.ingest.models import Document, Section, SourceKind, check_doc_id, check_url

# Small words allowed inside a title ("Recommendations for Use in Renal Impairment").
TITLE_FUNCTION_WORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "as",
        "at",
        "by",
        "for",
        "from",
        "in",
        "into",
        "of",
        "on",
        "or",
        "the",
        "to",
        "with",
        "without",
        "vs",
        "versus",
        "per",
    )
)


class Loader(Protocol):
    """Turns one file of a known format into documents."""

    name: str

    def accepts(self, path: Path, head: bytes) -> bool:
        """Whether this loader reads the file, judged by name and its first bytes."""
        ...

    def load(self, path: Path) -> list[Document]:
        """Parse the file; raise an IngestError subclass naming the reason on failure."""
        ...


class SourceMetadata(BaseModel):
    """Metadata a person supplies in YAML front matter or a `.meta.yaml` sidecar."""

    model_config = ConfigDict(extra="ignore")

    id: str | None = None
    kind: SourceKind | None = None
    title: str | None = None
    issuer: str | None = None
    date: dt.date | None = None
    year: int | None = None
    version: str | None = None
    url: str | None = None
    identifier: str | None = None
    licence: str | None = None
    supersedes: list[str] = []
    series_id: str | None = None
    drug_names: list[str] = []
    partial: bool = False

    @field_validator("supersedes", "drug_names", mode="before")
    @classmethod
    def _as_list(cls, value: object) -> object:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("id")
    @classmethod
    def _valid_id(cls, value: str | None) -> str | None:
        return check_doc_id(value) if value is not None else None

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str | None) -> str | None:
        return check_url(value)

    @field_validator("date", mode="before")
    @classmethod
    def _lenient_date(cls, value: object) -> object:
        if isinstance(value, int):  # a bare year in YAML
            return dt.date(value, 1, 1)
        return value

    def resolved_year(self) -> int | None:
        """The year, taken from the date when only the date is given."""
        return self.year or (self.date.year if self.date else None)

    def document(
        self, path: Path, title: str, content_hash: str, sections: tuple[Section, ...]
    ) -> Document:
        """A document whose provenance comes from this metadata (guideline unless told)."""
        return Document(
            doc_id=self.id or slugify(path.stem),
            kind=self.kind or SourceKind.GUIDELINE,
            title=self.title or title,
            issuer=self.issuer,
            date=self.date,
            year=self.resolved_year(),
            version=self.version,
            url=self.url,
            identifier=self.identifier,
            licence=self.licence,
            source_path=str(path),
            content_hash=content_hash,
            supersedes=tuple(self.supersedes),
            series_id=self.series_id,
            drug_names=tuple(self.drug_names),
            partial=self.partial,
            sections=sections,
        )


def parse_metadata(raw: str, path: Path) -> SourceMetadata:
    """Validate a YAML metadata block, naming the file and field on error."""
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise CorruptFileError(path, f"metadata is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CorruptFileError(path, "metadata must be a YAML mapping of field: value")
    try:
        return SourceMetadata.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise CorruptFileError(path, f"invalid metadata ({problems})") from exc


def sidecar_metadata(path: Path) -> SourceMetadata | None:
    """Read `<file>.meta.yaml` beside a file, if there is one."""
    sidecar = path.with_name(path.name + ".meta.yaml")
    if not sidecar.exists():
        return None
    return parse_metadata(sidecar.read_text(encoding="utf-8"), sidecar)


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of raw bytes: the content hash recorded for every document."""
    return hashlib.sha256(data).hexdigest()


def slugify(text: str, max_length: int = 60) -> str:
    """A lowercase ASCII id fragment made from free text."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "doc"


_SPACES = re.compile(r"[ \t\u00a0\u2009\u202f]+")


def clean_text(text: str) -> str:
    """Normalise unicode and collapse runs of spaces, keeping paragraph breaks."""
    text = unicodedata.normalize("NFKC", text).replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def parse_compact_date(value: str | None) -> dt.date | None:
    """Parse the YYYYMMDD dates used by SPL and openFDA."""
    if not value or not re.fullmatch(r"\d{8}", value.strip()):
        return None
    try:
        return dt.datetime.strptime(value.strip(), "%Y%m%d").date()
    except ValueError:
        return None


def apply_metadata(document: Document, meta: SourceMetadata) -> Document:
    """The document with every field the metadata sets replacing what the file said."""
    update: dict[str, object] = {}
    for name in (
        "kind",
        "title",
        "issuer",
        "date",
        "version",
        "url",
        "identifier",
        "licence",
        "series_id",
    ):
        value = getattr(meta, name)
        if value is not None:
            update[name] = value
    if meta.id:
        update["doc_id"] = meta.id
    if meta.resolved_year():
        update["year"] = meta.resolved_year()
    if meta.supersedes:
        update["supersedes"] = tuple(meta.supersedes)
    if meta.drug_names:
        update["drug_names"] = tuple(meta.drug_names)
    return document.model_copy(update=update)
