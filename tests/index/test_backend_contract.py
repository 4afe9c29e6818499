"""One contract for every index backend: the local folders and Milvus (Lite, started here).

Each test runs on both backends over the same small real index (real model, the sample
corpus, one guideline superseding another). Expectations are written from the documents;
the parity tests then require Milvus to give exactly what the local index gives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from guideqa.api.settings import Settings
from guideqa.index.backend import IndexBackend, LocalBackend, SearchIndex
from guideqa.index.hybrid import settings_id
from guideqa.index.milvus_backend import MilvusBackend
from guideqa.index.models import SearchFilters, SectionPreference
from guideqa.index.versions import current_version_dir
from guideqa.ingest.embedding import create_embedder
from guideqa.ingest.models import SectionRole, SourceKind

QUERIES = (
    "opioid prescribing for chronic pain",
    "metformin renal impairment dose",
    "osteoporosis screening women 65",
    "boxed warning",
    "lung cancer screening low-dose CT",
)


def milvus_settings(settings: Settings, folder: Path) -> Settings:
    index = settings.index.model_copy(
        update={"backend": "milvus", "milvus_uri": str(folder / "milvus.db")}
    )
    return settings.model_copy(update={"index": index})


@pytest.fixture(scope="module")
def milvus_backend(
    real_index_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MilvusBackend]:
    settings = milvus_settings(real_index_settings, tmp_path_factory.mktemp("milvus"))
    backend = MilvusBackend(settings.index, settings_id(settings.embedding, settings.chunking))
    backend.publish(current_version_dir(real_index_settings.index.directory))
    yield backend
    backend.close()


@pytest.fixture(scope="module")
def local_backend(real_index_settings: Settings) -> LocalBackend:
    s = real_index_settings
    return LocalBackend(s.index, s.embedding, s.chunking)


@pytest.fixture(scope="module")
def opened(
    real_index_settings: Settings, local_backend: LocalBackend, milvus_backend: MilvusBackend
) -> dict[str, SearchIndex]:
    embedder = create_embedder(real_index_settings.embedding)
    return {"local": local_backend.open(embedder), "milvus": milvus_backend.open(embedder)}


BACKENDS = ["local", "milvus"]


@pytest.mark.parametrize("name", BACKENDS)
def test_the_published_version_is_served(
    name: str,
    opened: dict[str, SearchIndex],
    local_backend: LocalBackend,
    milvus_backend: MilvusBackend,
) -> None:
    backend: IndexBackend = local_backend if name == "local" else milvus_backend
    index = opened[name]
    assert backend.published_version() == index.version == "v000001"
    assert [m.version for m in backend.versions()] == ["v000001"]
    assert backend.problem(index.version) is None
    assert len(index.documents) == index.manifest.documents


@pytest.mark.parametrize("name", BACKENDS)
def test_kind_drug_and_year_filters(name: str, opened: dict[str, SearchIndex]) -> None:
    index = opened[name]
    labels = index.search("dose", 10, SearchFilters(kinds=(SourceKind.LABEL,)))
    assert labels and {h.kind for h in labels} == {SourceKind.LABEL}
    metformin = index.search("dose", 10, SearchFilters(drug="metformin"))
    assert metformin
    assert all(any("metformin" in n.lower() for n in h.provenance.drug_names) for h in metformin)
    recent = index.search("screening", 10, SearchFilters(year_from=2020))
    assert recent and all(h.year is not None and h.year >= 2020 for h in recent)
    assert index.search("dose", 5, SearchFilters(drug='no" or kind != "x')) == []


@pytest.mark.parametrize("name", BACKENDS)
def test_superseded_guidelines_are_excluded_on_request(
    name: str, opened: dict[str, SearchIndex]
) -> None:
    index = opened[name]
    query = "opioid therapy chronic pain"
    everything = {h.doc_id for h in index.search(query, 30)}
    current = {h.doc_id for h in index.search(query, 30, SearchFilters(exclude_superseded=True))}
    assert "ngc-10953" in everything  # the 2016 guideline the 2022 one replaces
    assert "ngc-10953" not in current and "cdc-opioid-prescribing-2022" in current


@pytest.mark.parametrize("name", BACKENDS)
def test_documents_sections_and_term_weights(name: str, opened: dict[str, SearchIndex]) -> None:
    index = opened[name]
    document = index.document("cdc-opioid-prescribing-2022")
    assert document is not None and any(s.text for s in document.sections)
    assert index.document("no-such-document") is None
    assert index.chunk_count("cdc-opioid-prescribing-2022") > 0
    weights = index.term_weights(index.tokens("opioid dose"))
    assert set(weights) == {"opioid", "dose"} and all(w > 0 for w in weights.values())
    label = next(d for d in index.documents if d.kind is SourceKind.LABEL)
    hits = index.section_hits(label.doc_id, (SectionRole.DOSAGE,), limit=3)
    assert hits and all(h.provenance.section_role is SectionRole.DOSAGE for h in hits)


@pytest.mark.parametrize("query", QUERIES)
def test_milvus_ranks_exactly_as_the_local_index(
    query: str, opened: dict[str, SearchIndex]
) -> None:
    local, milvus = opened["local"], opened["milvus"]
    for filters in (
        None,
        SearchFilters(kinds=(SourceKind.GUIDELINE,)),
        SearchFilters(exclude_superseded=True, year_from=2010),
    ):
        for mode in ("hybrid", "dense", "lexical"):
            expected = local.search(query, 10, filters, mode)
            found = milvus.search(query, 10, filters, mode)
            assert [h.chunk_id for h in found] == [h.chunk_id for h in expected], (filters, mode)
            assert [h.text for h in found] == [h.text for h in expected]
            for a, b in zip(found, expected, strict=True):
                assert a.score == pytest.approx(b.score, rel=1e-4, abs=1e-4)
    preference = SectionPreference(roles=(SectionRole.BOXED_WARNING,))
    assert [h.chunk_id for h in milvus.search(query, 8, prefer=preference)] == [
        h.chunk_id for h in local.search(query, 8, prefer=preference)
    ]
