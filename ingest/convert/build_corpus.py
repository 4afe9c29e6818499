"""Assemble the default corpus from the shared source folder and write corpus/MANIFEST.jsonl.

Run once by maintainers (`python -m ingest.convert.build_corpus SHARED_DATA corpus`); the
project, its tests and CI only read what this wrote into corpus/.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from guideqa.ingest.convert.nci_pdq import pdq_to_markdown
from guideqa.ingest.convert.ngc import ngc_to_markdown
from guideqa.ingest.convert.pubmed_xml import pubmed_xml
from guideqa.ingest.convert.tac2017 import group_sections, label_to_markdown
from guideqa.ingest.convert.uspstf import group_by_topic, topic_to_markdown
from guideqa.ingest.loaders import iter_source_files, load_file
from guideqa.ingest.loaders.base import slugify
from guideqa.ingest.loaders.pubmed import _pubmedqa_record

PDFS: dict[str, dict[str, object]] = {
    "cdc_opioid_prescribing_2022.pdf": {
        "id": "cdc-opioid-prescribing-2022",
        "title": "CDC Clinical Practice Guideline for Prescribing Opioids for Pain"
        " — United States, 2022",
        "issuer": "Centers for Disease Control and Prevention",
        "date": "2022-11-04",
        "version": "MMWR Recomm Rep 2022;71(No. RR-3):1-95",
        "url": "https://www.cdc.gov/mmwr/volumes/71/rr/rr7103a1.htm",
        "licence": "public domain (US government work)",
        "supersedes": ["ngc-10953"],
        "series_id": "cdc-opioid-prescribing",
    },
    "cdc_outpatient_infection_prevention_2016.pdf": {
        "id": "cdc-outpatient-infection-prevention-2016",
        "title": "Guide to Infection Prevention for Outpatient Settings:"
        " Minimum Expectations for Safe Care",
        "issuer": "Centers for Disease Control and Prevention",
        "date": "2016-09-01",
        "version": "2.3",
        "url": "https://www.cdc.gov/infection-control/media/pdfs/outpatient-guide-508.pdf",
        "licence": "public domain (US government work)",
    },
}
EXCLUDED = [
    (
        "guidelines/pdf/who_ipc_core_components_2016.pdf",
        "WHO, 2016",
        "CC BY-NC-SA 3.0 IGO: non-commercial and share-alike, kept out of the default corpus",
    ),
    (
        "guidelines/pdf/esi_obesity_india_2022.pdf",
        "Endocrine Society of India, 2022",
        "CC BY-NC-SA 4.0: non-commercial and share-alike, kept out of the default corpus",
    ),
    (
        "labels/excerpts/adverse_reactions_by_brand__KevinKingslin.json",
        "third-party extract",
        "adverse-reaction excerpts by brand cut at ~1.4k characters, no set ids or dates",
    ),
    (
        "guidelines/cdc_mmwr_supplements/mmsu_art_en_txt.json",
        "CDC MMWR supplements",
        "1985-2000s articles with site boilerplate; not current clinical guidance",
    ),
]


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def copy_guideline_pdfs(shared: Path, out: Path) -> None:
    for name, meta in PDFS.items():
        target = out / "guidelines" / "pdf" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / "guidelines" / "pdf" / name, target)
        _write(
            target.with_name(name + ".meta.yaml"),
            yaml.safe_dump({"kind": "guideline", **meta}, sort_keys=False, allow_unicode=True),
        )


def convert_ngc(shared: Path, out: Path) -> None:
    for source in sorted((shared / "guidelines" / "ngc").glob("ngc-*.xml")):
        markdown, _ = ngc_to_markdown(source.read_bytes(), source.stem)
        _write(out / "guidelines" / "ngc" / f"{source.stem}.md", markdown)


def convert_nci(shared: Path, out: Path) -> None:
    for source in sorted((shared / "guidelines" / "nci_pdq").glob("*.md")):
        markdown, meta = pdq_to_markdown(source.read_text("utf-8"), source.name)
        _write(out / "guidelines" / "nci_pdq" / f"{meta['id']}.md", markdown)


def convert_uspstf(shared: Path, out: Path) -> None:
    data = json.loads(
        (shared / "guidelines/uspstf/uspstf_specific_recommendations_2021.json").read_text("utf-8")
    )
    for topic, records in group_by_topic(data["specificRecommendations"]).items():
        markdown, meta = topic_to_markdown(topic, records)
        _write(out / "guidelines" / "uspstf" / f"{meta['id']}.md", markdown)


def copy_labels(shared: Path, out: Path) -> set[str]:
    """Complete labels in their native formats; returns every drug name they cover."""
    names: set[str] = set()
    for pattern, folder in (
        ("openfda/*.json", "openfda"),
        ("openfda/raw/*.json", "openfda/raw"),
        ("spl/*.xml", "spl"),
    ):
        for source in sorted((shared / "labels").glob(pattern)):
            target = out / "labels" / folder / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            for doc in load_file(target):
                names.update(n.lower() for n in doc.drug_names)
    return names


def convert_partial_labels(shared: Path, out: Path, complete: set[str]) -> None:
    folder = shared / "labels" / "tac2017_sections"
    records = [
        r
        for name in ("demner-fushman-train-labels.json", "demner-fushman-test-labels.json")
        for r in json.loads((folder / name).read_text("utf-8"))
    ]
    for brand, sections in sorted(group_sections(records).items()):
        if brand.lower() in complete:
            continue
        markdown, meta = label_to_markdown(brand, sections)
        _write(out / "labels" / "partial" / f"{meta['id']}.md", markdown)


def convert_pubmedqa(shared: Path, out: Path) -> None:
    data = json.loads((shared / "research/pubmedqa/ori_pqal.json").read_text("utf-8"))
    records = [_pubmedqa_record(pmid, record) for pmid, record in data.items()]
    _write(out / "research" / "pubmedqa_pqal.xml", pubmed_xml(records))


RESEARCH_LICENCE = "MIT (PubMedQA PQA-L dataset); abstract text as published in PubMed"
ORIGINS = {
    "guidelines/pdf": "shared/data/guidelines/pdf (original PDF)",
    "guidelines/ngc": "shared/data/guidelines/ngc (NGC summary XML, converted to Markdown)",
    "guidelines/nci_pdq": "shared/data/guidelines/nci_pdq (PDQ Markdown, front matter rewritten, "
    "navigation and permission sections removed)",
    "guidelines/uspstf": "shared/data/guidelines/uspstf "
    "(recommendation JSON, one Markdown per topic)",
    "labels/openfda": "shared/data/labels/openfda (openFDA label JSON, unchanged)",
    "labels/spl": "shared/data/labels/spl (DailyMed SPL XML, unchanged)",
    "labels/partial": "shared/data/labels/tac2017_sections (TAC 2017 sections, to Markdown)",
    "research": "shared/data/research/pubmedqa/ori_pqal.json (PubMedQA PQA-L, to PubMed XML)",
}


def _origin(relative: str) -> str:
    return next(
        (
            v
            for k, v in sorted(ORIGINS.items(), key=lambda kv: -len(kv[0]))
            if relative.startswith(k)
        ),
        "",
    )


def manifest_rows(out: Path) -> Iterator[dict[str, Any]]:
    """One row per document found in the corpus, plus one row per excluded source."""
    for path in iter_source_files([out]):
        relative = path.relative_to(out).as_posix()
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        for doc in load_file(path):
            yield {
                "status": "included",
                "id": doc.doc_id,
                "kind": doc.kind.value,
                "title": doc.title,
                "issuer": doc.issuer,
                "date": doc.date.isoformat() if doc.date else None,
                "year": doc.year,
                "version": doc.version,
                "url": doc.url,
                "identifier": doc.identifier,
                "licence": RESEARCH_LICENCE if relative.startswith("research") else doc.licence,
                "partial": doc.partial,
                "supersedes": list(doc.supersedes),
                "file": relative,
                "sha256": digest,
                "origin": _origin(relative),
            }
    for source, issuer, reason in EXCLUDED:
        yield {
            "status": "excluded",
            "id": slugify(Path(source).stem),
            "file": None,
            "origin": f"shared/data/{source}",
            "issuer": issuer,
            "reason": reason,
        }


def build(shared: Path, out: Path) -> int:
    """Write every corpus file and the manifest; returns the number of included documents."""
    for folder in ("guidelines", "labels", "research"):
        shutil.rmtree(out / folder, ignore_errors=True)
    copy_guideline_pdfs(shared, out)
    convert_ngc(shared, out)
    convert_nci(shared, out)
    convert_uspstf(shared, out)
    complete = copy_labels(shared, out)
    convert_partial_labels(shared, out, complete)
    convert_pubmedqa(shared, out)
    rows = list(manifest_rows(out))
    with (out / "MANIFEST.jsonl").open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return sum(1 for r in rows if r["status"] == "included")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("shared", type=Path, help="the shared data folder (../shared/data)")
    parser.add_argument("out", type=Path, help="the corpus folder to write")
    args = parser.parse_args()
    print(f"{build(args.shared, args.out)} documents written to {args.out}")


if __name__ == "__main__":
    main()
