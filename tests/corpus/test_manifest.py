"""The shipped corpus matches its manifest: files, rows, hashes, licences, relations."""

from __future__ import annotations

import hashlib
import re
import json
from pathlib import Path

import pytest
import yaml

from guideqa.ingest.loaders import iter_source_files, load_file

CORPUS = Path(__file__).resolve().parents[2] / "corpus"
ALLOWED_LICENCE_PREFIXES = ("public domain", "MIT (PubMedQA")
MAX_BYTES = 40 * 1024 * 1024


@pytest.fixture(scope="module")
def rows() -> list[dict[str, object]]:
    lines = (CORPUS / "MANIFEST.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _included(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    return [r for r in rows if r["status"] == "included"]


def test_every_file_is_listed_and_every_listed_file_exists(rows: list[dict[str, object]]) -> None:
    on_disk = {p.relative_to(CORPUS).as_posix() for p in iter_source_files([CORPUS])}
    listed = {str(r["file"]) for r in _included(rows)}
    assert on_disk == listed


def test_hashes_match(rows: list[dict[str, object]]) -> None:
    for row in _included(rows):
        data = (CORPUS / str(row["file"])).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"], row["file"]


def test_licences_are_allowed_and_ids_unique(rows: list[dict[str, object]]) -> None:
    included = _included(rows)
    assert all(str(r["licence"]).startswith(ALLOWED_LICENCE_PREFIXES) for r in included)
    ids = [r["id"] for r in included]
    assert len(ids) == len(set(ids))


def test_every_document_in_the_files_has_its_row(rows: list[dict[str, object]]) -> None:
    by_file: dict[str, set[str]] = {}
    for row in _included(rows):
        by_file.setdefault(str(row["file"]), set()).add(str(row["id"]))
    for relative, ids in by_file.items():
        if relative.endswith(".pdf"):
            continue  # PDF ids come from their sidecars, checked below without a slow parse
        loaded = {doc.doc_id for doc in load_file(CORPUS / relative)}
        assert loaded == ids, relative


def test_counts_supersession_exclusions_and_size(rows: list[dict[str, object]]) -> None:
    included = _included(rows)
    kinds = {k: sum(1 for r in included if r["kind"] == k) for k in ("guideline", "label", "research")}
    assert kinds["research"] == 1000 and kinds["guideline"] >= 150 and kinds["label"] >= 46
    cdc = next(r for r in included if r["id"] == "cdc-opioid-prescribing-2022")
    assert cdc["supersedes"] == ["ngc-10953"]
    assert any(r["id"] == "ngc-10953" for r in included)  # both versions ship
    excluded = {r["origin"] for r in rows if r["status"] == "excluded"}
    assert "shared/data/guidelines/pdf/who_ipc_core_components_2016.pdf" in excluded
    assert "shared/data/guidelines/pdf/esi_obesity_india_2022.pdf" in excluded
    partial = [r for r in included if r["partial"]]
    assert partial and all(r["kind"] == "label" for r in partial)
    size = sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file())
    assert size < MAX_BYTES


def _citation_year(citation: str) -> int:
    """The publication year of a citation: the last year it names ('...; 2014 Dec. 112 p.')."""
    years = re.findall(r"\b(19\d{2}|20\d{2})\b", citation)
    return int(years[-1])


def test_guideline_years_are_those_of_the_version_cited(rows: list[dict[str, object]]) -> None:
    """The year shown and used for recency is that of the version the text comes from: an
    NGC summary of a revised guideline carries the revision's year, as its citation does."""
    checked = 0
    for row in _included(rows):
        path = CORPUS / str(row["file"])
        if path.suffix != ".md" or row["kind"] != "guideline":
            continue
        front = yaml.safe_load(path.read_text("utf-8").split("---")[1])
        if "citation" not in front:
            continue
        assert row["year"] == _citation_year(front["citation"]), (row["id"], front["citation"])
        checked += 1
    assert checked >= 41
    titled = [r for r in _included(rows) if re.search(r"\b20\d{2}\b", str(r["title"]))]
    for row in titled:  # a title that names its edition's year is not older than the document
        title_year = int(re.findall(r"\b(20\d{2})\b", str(row["title"]))[-1])
        assert row["year"] is None or row["year"] >= title_year, (row["id"], row["year"])
