"""Hybrid search over the sample index (fake embedder): ranking, filters, fusion, LangChain."""

from __future__ import annotations

from guideqa.index.fusion import fuse
from guideqa.index.hybrid import HybridIndex
from guideqa.index.models import SearchFilters, SectionPreference
from guideqa.index.retriever import GuideQARetriever
from guideqa.index.settings import Fusion, IndexSettings
from guideqa.ingest.models import Population, SectionRole, SourceKind


def test_finds_metformin_renal_sections(sample_index: HybridIndex) -> None:
    hits = sample_index.search("metformin renal impairment eGFR dosing", k=5)
    assert any("Renal Impairment" in h.section and "Metformin" in h.title for h in hits)
    top = hits[0]
    assert top.kind is SourceKind.LABEL and "Metformin" in top.title
    assert top.url and top.identifier


def test_kind_filter_only_returns_that_kind(sample_index: HybridIndex) -> None:
    for kind in SourceKind:
        hits = sample_index.search("risk of bleeding", k=10, filters=SearchFilters(kinds=(kind,)))
        assert hits and {h.kind for h in hits} == {kind}


def test_drug_filter_accepts_brand_names(sample_index: HybridIndex) -> None:
    hits = sample_index.search("dose", k=10, filters=SearchFilters(drug="Coumadin"))
    assert hits and all("Warfarin" in h.title for h in hits)


def test_year_filter(sample_index: HybridIndex) -> None:
    hits = sample_index.search(
        "patients", k=20, filters=SearchFilters(year_from=2000, year_to=2010)
    )
    assert hits and all(h.year is not None and 2000 <= h.year <= 2010 for h in hits)


def test_pdf_hits_report_pages(sample_index: HybridIndex) -> None:
    hits = sample_index.search(
        "nonopioid therapies acute pain", k=3, filters=SearchFilters(kinds=(SourceKind.GUIDELINE,))
    )
    pdf_hits = [h for h in hits if h.doc_id.startswith("cdc-opioid")]
    assert pdf_hits and all(h.pages and 1 <= h.pages[0] <= h.pages[1] <= 6 for h in pdf_hits)


def test_rrf_rewards_agreement() -> None:
    settings = IndexSettings(fusion=Fusion.RRF, rrf_k=60)
    fused = fuse([(1, 0.9), (2, 0.8)], [(2, 12.0), (3, 9.0)], settings)
    assert [row for row, _ in fused] == [2, 1, 3]


def test_convex_fusion_weights_normalised_scores() -> None:
    settings = IndexSettings(fusion=Fusion.CONVEX, convex_alpha=0.9)
    fused = fuse([(1, 0.9), (2, 0.1)], [(2, 10.0), (1, 0.0)], settings)
    assert fused[0][0] == 1  # dense dominates at alpha 0.9


def test_langchain_retriever_returns_documents_with_provenance(sample_index: HybridIndex) -> None:
    retriever = GuideQARetriever(searcher=sample_index, k=2)
    docs = retriever.invoke("warfarin bleeding risk")
    assert len(docs) == 2
    assert docs[0].metadata["doc_id"] and docs[0].metadata["kind"] in {
        "label",
        "guideline",
        "research",
    }
    assert docs[0].page_content


def test_hnsw_index_searches_with_filters(tmp_path, data_dir, token_counter) -> None:  # type: ignore[no-untyped-def]
    from guideqa.index.hybrid import open_index
    from guideqa.index.settings import DenseKind
    from guideqa.ingest.embedding import HashingEmbedder
    from guideqa.ingest.loaders import load_paths
    from tests.conftest import fake_settings, make_writer

    settings = fake_settings(tmp_path / "index")
    index_settings = settings.index.model_copy(update={"dense": DenseKind.HNSW})
    settings = settings.model_copy(update={"index": index_settings})
    make_writer(settings, token_counter).ingest(load_paths([data_dir / "openfda"]).documents)
    index = open_index(settings.index, settings.embedding, settings.chunking, HashingEmbedder())
    assert index.manifest.dense == "hnsw"
    hits = index.search("bleeding", k=5, filters=SearchFilters(drug="Eliquis"))
    assert hits and all("Apixaban" in h.title for h in hits)


def test_a_query_naming_a_section_ranks_that_section_first(sample_index: HybridIndex) -> None:
    query = "boxed warning bleeding risk with warfarin"
    label = SearchFilters(kinds=(SourceKind.LABEL,))
    assert sample_index.named_sections(query) == SectionPreference(
        roles=(SectionRole.BOXED_WARNING,)
    )
    hits = sample_index.search(query, k=5, filters=label)
    assert hits[0].provenance.section_role is SectionRole.BOXED_WARNING
    plain = sample_index.search(query, k=5, filters=label, prefer=SectionPreference())
    assert [h.chunk_id for h in plain] != [h.chunk_id for h in hits]  # the preference moved it


def test_hits_carry_typed_provenance(sample_index: HybridIndex) -> None:
    [hit] = sample_index.search(
        "warfarin pregnancy mechanical heart valves", k=1, filters=SearchFilters(drug="warfarin")
    )
    assert hit.provenance.drug_names[0].lower().startswith("warfarin")
    assert hit.provenance.population is Population.PREGNANCY
    section = sample_index.section_hits(hit.doc_id, (SectionRole.BOXED_WARNING,), limit=1)
    assert section and section[0].provenance.section_role is SectionRole.BOXED_WARNING
