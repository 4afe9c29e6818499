"""Milvus filter expressions: the local index's filters, with user input quoted safely."""

from __future__ import annotations

from guideqa.index.milvus import drug_documents, filter_expression
from guideqa.index.milvus_store import literal
from guideqa.index.models import SearchFilters
from guideqa.ingest.models import Document, SourceKind


def _doc(doc_id: str, *names: str) -> Document:
    return Document(
        doc_id=doc_id,
        kind=SourceKind.LABEL,
        title=doc_id,
        source_path=f"{doc_id}.json",
        content_hash=doc_id,
        drug_names=names,
        sections=(),
    )


DOCS = (_doc("glucophage", "Glucophage", "metformin hydrochloride"), _doc("lipitor", "Lipitor"))


def test_literals_are_quoted_and_escaped() -> None:
    assert literal('a "quoted" \\ name\n') == '"a \\"quoted\\" \\\\ name"'
    assert literal(["x", 'y"']) == '["x", "y\\""]'
    assert literal(2015) == "2015"


def test_a_drug_matches_a_whole_name_or_one_of_its_words() -> None:
    assert drug_documents(DOCS, "Metformin") == ["glucophage"]
    assert drug_documents(DOCS, "metformin hydrochloride") == ["glucophage"]
    assert drug_documents(DOCS, "lipitor") == ["lipitor"]
    assert drug_documents(DOCS, "form") == []


def test_filters_become_one_expression() -> None:
    expression = filter_expression(
        SearchFilters(
            kinds=(SourceKind.LABEL,),
            drug="metformin",
            year_from=2010,
            year_to=2020,
            exclude_superseded=True,
        ),
        DOCS,
    )
    assert expression == (
        'kind in ["label"] and doc_id in ["glucophage"] and year >= 2010 and '
        "(year <= 2020 and year > 0) and current == true"
    )
    assert filter_expression(SearchFilters(), DOCS) == ""
    assert filter_expression(SearchFilters(drug='x" or kind != "y'), DOCS) is None  # no rows
