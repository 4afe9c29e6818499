"""Hostile and broken files: every parser failure becomes a typed error naming the file, within
the limits of IngestLimits, and a batch goes on past it (issue 12, defects 5, 6, 7, 14)."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from guideqa.ingest.errors import CorruptFileError, IngestError
from guideqa.ingest.loaders import default_loaders, load_file, load_paths
from guideqa.ingest.loaders.base import SourceMetadata
from guideqa.ingest.loaders.markdown import heading
from guideqa.ingest.models import SourceKind, check_doc_id
from guideqa.ingest.settings import IngestLimits
from tests import hostile
from tests.conftest import DATA


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    """Fail a call that hangs (a backtracking regex) instead of waiting for it forever. Not a
    speed target: the guarded calls take milliseconds and the guard is 100x that."""

    def expired(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


REFUSED: list[tuple[Callable[[Path], Path], str]] = [
    (hostile.zip_bomb, "compressed 1029 to 1 (a zip bomb?)"),
    (hostile.zip_with_many_members, "the zip holds 1500 files; the limit is 1000"),
    (hostile.zip_with_encrypted_member, "label.json in the zip is encrypted"),
    (hostile.zip_with_bad_deflate, "label.json in the zip is unreadable"),
    (hostile.zip_with_lying_header, "label.json in the zip is unreadable"),
    (hostile.deeply_nested_json, "nested too deeply to parse"),
    (hostile.pdf_over_pypdf_limit, "LimitReachedError"),
    (hostile.pdf_with_many_pages, "the PDF has 50000 pages; the limit is 2000"),
    (hostile.truncated_pdf, "not a readable PDF"),
    (hostile.lying_extension, "not a readable PDF"),
    (hostile.xxe_xml, "unsafe XML refused"),
    (hostile.entity_expansion_xml, "unsafe XML refused"),
    (hostile.label_with_wrong_types, "could not be parsed as openfda (TypeError"),
    (hostile.pubmedqa_latin1, "codec can't decode"),
]


@pytest.mark.parametrize(("build", "reason"), REFUSED, ids=[b.__name__ for b, _ in REFUSED])
def test_hostile_file_is_a_typed_error_naming_it(
    tmp_path: Path, build: Callable[[Path], Path], reason: str
) -> None:
    path = build(tmp_path)
    with pytest.raises(IngestError) as caught:
        load_file(path)
    assert caught.value.path == str(path)
    assert reason in caught.value.reason


def test_zip_limits_come_from_settings(tmp_path: Path) -> None:
    bulk = DATA / "openfda" / "drug-label-0001-of-0001.json.zip"
    assert load_file(bulk)  # within the defaults
    for limits, reason in [
        (IngestLimits(max_zip_bytes=1000), "the zip expands to"),
        (IngestLimits(max_member_bytes=1000), "expands to"),
        (IngestLimits(max_zip_members=0 + 1, max_zip_ratio=1.5), "compressed"),
    ]:
        with pytest.raises(CorruptFileError, match=reason):
            load_file(bulk, default_loaders(limits))


def test_pdf_text_budget_stops_reading(tmp_path: Path) -> None:
    pdf = DATA / "pdf" / "cdc_opioid_2022_pages19-24.pdf"
    with pytest.raises(
        CorruptFileError, match="reading stopped at page 1: over the budget of 3000"
    ):
        load_file(pdf, default_loaders(IngestLimits(max_chars=3000)))
    with pytest.raises(CorruptFileError, match="the PDF has 6 pages; the limit is 5"):
        load_file(pdf, default_loaders(IngestLimits(max_pdf_pages=5)))


def test_label_with_openfda_list_loads_without_its_names(tmp_path: Path) -> None:
    [doc] = load_file(hostile.label_with_openfda_list(tmp_path))
    assert doc.kind is SourceKind.LABEL and doc.sections


def test_dailymed_zip_named_label_is_read_as_spl(tmp_path: Path) -> None:
    [doc] = load_file(hostile.dailymed_zip_named_label(tmp_path))
    assert doc.kind is SourceKind.LABEL
    assert doc.doc_id.startswith("label-haloperidol")  # SPL ids; openFDA would refuse the zip


def test_markdown_heading_is_linear_on_long_space_runs(tmp_path: Path) -> None:
    with hang_guard(5):
        [doc] = load_file(hostile.markdown_heading_backtrack(tmp_path))
        assert heading("#### a" + " " * 50_000 + "b") == (4, "a" + " " * 50_000 + "b")
    assert doc.sections[0].text == "Body text of the section."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("# Title", (1, "Title")),
        ("## Title ##", (2, "Title")),
        ("### C# basics", (3, "C# basics")),
        ("#Title", None),
        ("####### seven", None),
        ("#   ", None),
        ("## ##", None),
    ],
)
def test_heading_parser_follows_atx_rules(line: str, expected: tuple[int, str] | None) -> None:
    assert heading(line) == expected


def test_front_matter_after_bom_and_crlf_is_metadata(tmp_path: Path) -> None:
    [doc] = load_file(hostile.markdown_with_bom_crlf(tmp_path))
    assert doc.doc_id == "bom-crlf-guideline" and doc.title == "Front matter after a BOM"
    body = " ".join(s.text for s in doc.sections)
    assert "id:" not in body and "\r" not in body and body == "Offer screening every year."


@pytest.mark.parametrize("bad", ["a/b", "../etc", "", " x", "x y", "-lead", "é", "a" * 201])
def test_document_ids_follow_one_pattern(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid document id"):
        check_doc_id(bad)
    with pytest.raises(ValueError):
        SourceMetadata.model_validate({"id": bad})


@pytest.mark.parametrize("url", ["javascript:alert(1)", "file:///etc/passwd", "data:text/html,x"])
def test_only_http_links_are_accepted(url: str) -> None:
    with pytest.raises(ValueError, match="only http:// and https://"):
        SourceMetadata.model_validate({"url": url})
    assert SourceMetadata.model_validate({"url": "https://www.cdc.gov/x"}).url


def test_a_batch_goes_on_past_every_hostile_file(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    for build, _ in REFUSED:
        build(folder)
    (folder / "good.md").write_text(
        (DATA / "markdown" / "nci_lung_screening_excerpt.md").read_text()
    )
    report = load_paths([folder])
    assert [d.doc_id for d in report.documents] == ["nci-pdq-lung-screening-excerpt"]
    assert len(report.failures) == len(REFUSED)
