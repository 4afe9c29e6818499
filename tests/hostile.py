"""Hostile and broken files, built small at test time (nothing large is stored in the repo).

Each builder writes one file and returns its path; the catalogue (tests/api/test_catalogue.py)
and the loader tests (tests/ingest/test_hostile_files.py) use the same builders."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path

from tests.conftest import DATA

_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_CENTRAL = b"PK\x01\x02"


def raw_pdf(page_count: int, content: bytes = b"BT ET", flate: bool = False) -> bytes:
    """A minimal PDF whose pages share one content stream (a 50,000-page file stays small)."""
    kids = " ".join(f"{4 + i} 0 R" for i in range(page_count))
    extra = b" /Filter /FlateDecode" if flate else b""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {page_count} >>".encode(),
        b"<< /Length "
        + str(len(content)).encode()
        + extra
        + b" >>\nstream\n"
        + content
        + b"\nendstream",
    ]
    page = b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R >>"
    objects += [page] * page_count
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\n".encode()
    out += f"startxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def pdf_with_many_pages(folder: Path, pages: int = 50_000) -> Path:
    """A real, parseable PDF with 50,000 (blank) pages."""
    path = folder / "fifty-thousand-pages.pdf"
    path.write_bytes(raw_pdf(pages))
    return path


def pdf_over_pypdf_limit(folder: Path) -> Path:
    """A PDF whose cross-reference table declares 99,999,999 entries: pypdf's
    LimitReachedError."""
    path = folder / "xref-limit.pdf"
    data = raw_pdf(1)
    path.write_bytes(data.replace(b"xref\n0 5\n", b"xref\n0 99999999\n"))
    return path


def truncated_pdf(folder: Path) -> Path:
    """The first 3,000 bytes of a real PDF."""
    path = folder / "truncated.pdf"
    path.write_bytes((DATA / "pdf" / "cdc_opioid_2022_pages19-24.pdf").read_bytes()[:3000])
    return path


def zip_of(folder: Path, name: str, members: dict[str, bytes]) -> Path:
    """A deflated zip with the given members."""
    path = folder / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in members.items():
            archive.writestr(member, data)
    return path


def zip_bomb(folder: Path, megabytes: int = 20) -> Path:
    """A label zip whose one member is zeros: about 1,000 to 1 compression."""
    return zip_of(folder, "drug-label-bomb.json.zip", {"label.json": b"0" * megabytes * 2**20})


def zip_with_many_members(folder: Path, members: int = 1500) -> Path:
    """A label zip with more files than the member limit."""
    return zip_of(folder, "drug-label-many.json.zip", {f"m{i}.json": b"{}" for i in range(members)})


def zip_with_lying_header(folder: Path) -> Path:
    """A label zip whose member declares 100 bytes but expands to 1 MB of JSON."""
    body = json.dumps({"results": [{"id": "x", "description": ["y" * 2**20]}]}).encode()
    path = zip_of(folder, "drug-label-lying.json.zip", {"label.json": body})
    return _patch_zip_sizes(path, declared=100)


def zip_with_encrypted_member(folder: Path) -> Path:
    """A label zip whose member is flagged as encrypted (traditional PKWARE encryption)."""
    path = zip_of(folder, "drug-label-encrypted.json.zip", {"label.json": b'{"results": []}'})
    data = bytearray(path.read_bytes())
    for signature, flag_offset in ((_ZIP_LOCAL, 6), (_ZIP_CENTRAL, 8)):
        at = data.find(signature)
        flags = struct.unpack_from("<H", data, at + flag_offset)[0]
        struct.pack_into("<H", data, at + flag_offset, flags | 0x1)
    path.write_bytes(bytes(data))
    return path


def zip_with_bad_deflate(folder: Path) -> Path:
    """A label zip whose compressed bytes are garbage: zlib.error inside the member."""
    body = json.dumps({"results": [{"id": "x" * 2000}]}).encode()
    path = zip_of(folder, "drug-label-zlib.json.zip", {"label.json": body})
    data = bytearray(path.read_bytes())
    start = data.find(_ZIP_LOCAL) + 30 + len("label.json")
    data[start : start + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    return path


def _patch_zip_sizes(path: Path, declared: int) -> Path:
    data = bytearray(path.read_bytes())
    local = data.find(_ZIP_LOCAL)
    struct.pack_into("<I", data, local + 22, declared)
    central = data.find(_ZIP_CENTRAL)
    struct.pack_into("<I", data, central + 24, declared)
    path.write_bytes(bytes(data))
    return path


def dailymed_zip_named_label(folder: Path) -> Path:
    """A DailyMed SPL zip whose file name contains "label" (once taken for openFDA)."""
    xml = (DATA / "spl" / "haloperidol.xml").read_bytes()
    return zip_of(folder, "haloperidol-label.zip", {"haloperidol.xml": xml})


def deeply_nested_json(folder: Path, depth: int = 100_000) -> Path:
    """An openFDA-looking file nested 100,000 arrays deep: RecursionError in json."""
    path = folder / "nested.json"
    path.write_text('{"results": ' + "[" * depth + "]" * depth + "}")
    return path


def deeply_nested_xml(folder: Path, depth: int = 100_000) -> Path:
    """An SPL-looking document nested 100,000 elements deep."""
    path = folder / "nested-spl.xml"
    head = '<document xmlns="urn:hl7-org:v3">'
    path.write_text(head + "<a>" * depth + "</a>" * depth + "</document>")
    return path


def xxe_xml(folder: Path) -> Path:
    """An SPL document with an external entity that reads /etc/passwd."""
    path = folder / "xxe-spl.xml"
    path.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        '<document xmlns="urn:hl7-org:v3"><title>&x;</title></document>'
    )
    return path


def entity_expansion_xml(folder: Path) -> Path:
    """A "billion laughs" SPL document: nested internal entities."""
    entities = '<!ENTITY l0 "lol">' + "".join(
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10)
    )
    path = folder / "laughs-spl.xml"
    path.write_text(
        f'<?xml version="1.0"?>\n<!DOCTYPE d [{entities}]>\n'
        '<document xmlns="urn:hl7-org:v3"><title>&l9;</title></document>'
    )
    return path


def label_with_openfda_list(folder: Path) -> Path:
    """A real label record whose "openfda" field is an empty list instead of an object."""
    record = json.loads((DATA / "openfda" / "apixaban_single.json").read_text())
    record = record["results"][0] if "results" in record else record
    record["openfda"] = []
    path = folder / "label-openfda-list.json"
    path.write_text(json.dumps({"results": [record]}))
    return path


def label_with_wrong_types(folder: Path) -> Path:
    """A label record whose text sections are numbers and objects instead of string lists."""
    path = folder / "label-wrong-types.json"
    record = {"set_id": "abc", "openfda": {"brand_name": 5}, "indications_and_usage": {"a": 1}}
    path.write_text(json.dumps({"results": [record]}))
    return path


def pubmedqa_latin1(folder: Path) -> Path:
    """A PubMedQA file in Latin-1 (not UTF-8)."""
    text = (DATA / "pubmed" / "pubmedqa_sample.json").read_text(encoding="utf-8")
    path = folder / "pubmedqa-latin1.json"
    path.write_bytes(text.replace("a", "\xe9", 3).encode("latin-1", "replace"))
    return path


def markdown_heading_backtrack(folder: Path) -> Path:
    """The line that made the old heading regex backtrack for seconds, 10x longer."""
    path = folder / "backtrack.md"
    path.write_text("# a" + " " * 20_000 + "b\n\nBody text of the section.\n")
    return path


def markdown_with_bom_crlf(folder: Path) -> Path:
    """Front matter behind a byte-order mark, with Windows line ends."""
    text = (
        "---\r\nid: bom-crlf-guideline\r\ntitle: Front matter after a BOM\r\nkind: guideline\r\n"
        "---\r\n# Recommendations\r\n\r\nOffer screening every year.\r\n"
    )
    path = folder / "bom-crlf.md"
    path.write_bytes(b"\xef\xbb\xbf" + text.encode())
    return path


def lying_extension(folder: Path) -> Path:
    """A ZIP archive named .pdf."""
    path = folder / "guideline.pdf"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", "not a pdf")
    path.write_bytes(buffer.getvalue())
    return path
