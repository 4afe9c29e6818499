"""A fake EvidenceSource: real passages in memory, word-overlap search, simple stems and IDF.
It implements the same protocol as the index, so the answer rules can be tested without a
model or an index on disk."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from guideqa.index.models import Hit, Provenance, SearchFilters, SectionPreference
from guideqa.ingest.models import Document, Population, SectionRole, SourceKind

CORPUS_SIZE = 1000
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "with",
        "what",
        "which",
        "who",
        "how",
        "should",
        "can",
    ]
)


def stem(word: str) -> str:
    """A crude stemmer: enough for tests (plurals and common suffixes)."""
    for suffix in (
        "ations",
        "ation",
        "ions",
        "ion",
        "ives",
        "ive",
        "ings",
        "ing",
        "ies",
        "es",
        "s",
        "ed",
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def tokens(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+(?:[.-][a-z0-9]+)*", text.lower())
    return [stem(w) for w in words if w not in _STOP]


def make_hit(
    text: str,
    *,
    kind: SourceKind = SourceKind.LABEL,
    doc_id: str = "label-drug",
    title: str = "Drug label",
    section: str = "2 Dosage and Administration",
    role: SectionRole | None = SectionRole.DOSAGE,
    population: Population | None = None,
    drugs: tuple[str, ...] = (),
    grade: str | None = None,
    dense: float = 0.6,
    table_rows: tuple[tuple[int, int], ...] = (),
    issuer: str | None = None,
    year: int | None = None,
    chunk: int = 0,
) -> Hit:
    """A Hit with typed provenance, as the index would return it."""
    return Hit(
        doc_id=doc_id,
        chunk_id=f"{doc_id}#{chunk:04d}",
        kind=kind,
        title=title,
        issuer=issuer,
        year=year,
        section=section,
        section_path=(section,),
        section_number=None,
        pages=None,
        url=None,
        identifier=None,
        score=1.0,
        dense_score=dense,
        text=text,
        provenance=Provenance(
            drug_names=drugs,
            section_role=role,
            population=population,
            grade=grade,
        ),
        table_rows=table_rows,
    )


@dataclass
class FakeSource:
    """Passages in memory; search ranks them by shared stems with the query."""

    hits: list[Hit]
    documents: tuple[Document, ...] = ()
    version: str = "v-test"
    searches: list[tuple[str, SearchFilters | None]] = field(default_factory=list)

    def search(
        self,
        query: str,
        k: int = 10,
        filters: SearchFilters | None = None,
        mode: str = "hybrid",
        prefer: SectionPreference | None = None,
    ) -> list[Hit]:
        self.searches.append((query, filters))
        wanted = set(tokens(query))
        pool = [h for h in self.hits if _passes(h, filters)]
        ranked = sorted(pool, key=lambda h: -len(wanted & set(tokens(h.text + " " + h.title))))
        return ranked[:k]

    def tokens(self, text: str) -> list[str]:
        return tokens(text)

    def term_weights(self, stems: list[str]) -> dict[str, float]:
        # IDF as if these passages sat in a corpus of CORPUS_SIZE: rare words weigh more
        texts = [set(tokens(h.text)) for h in self.hits]
        weights = {}
        for s in stems:
            found = sum(s in t for t in texts)
            weights[s] = math.log(1 + (CORPUS_SIZE - found + 0.5) / (found + 0.5))
        return weights

    def document(self, doc_id: str) -> Document | None:
        return next((d for d in self.documents if d.doc_id == doc_id), None)

    def section_hits(
        self,
        doc_id: str,
        roles: tuple[SectionRole, ...],
        limit: int = 4,
        populations: tuple[Population, ...] = (),
        query: str | None = None,
    ) -> list[Hit]:
        found = [
            h
            for h in self.hits
            if h.doc_id == doc_id
            and (h.provenance.section_role in roles or h.provenance.population in populations)
        ]
        return found[:limit]


def _passes(hit: Hit, filters: SearchFilters | None) -> bool:
    if filters is None:
        return True
    if filters.kinds and hit.kind not in filters.kinds:
        return False
    if filters.drug:
        names = [n.lower() for n in hit.provenance.drug_names]
        return any(filters.drug == n or filters.drug in n.split() for n in names)
    return True


def label_document(doc_id: str, drug: str, brands: tuple[str, ...] = ()) -> Document:
    """A label Document with its drug names, for the drug lexicon."""
    return Document(
        doc_id=doc_id,
        kind=SourceKind.LABEL,
        title=f"{drug.title()} label",
        source_path="test",
        content_hash=doc_id,
        drug_names=(drug.title(), *brands),
    )
