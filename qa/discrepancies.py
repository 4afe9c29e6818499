"""Where current sources differ: the values that the answer's evidence (and the strongest
on-topic passages, and a search for each quantity found) gives for the same measure and the
same patients, and the measures on which two sources' values do not overlap."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from guideqa.index.models import Hit, SearchFilters
from guideqa.ingest.models import SourceKind
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.measures import MeasureBook, MeasureSpec, TypedQuantity
from guideqa.qa.patients import AgeBand, patient_age
from guideqa.qa.settings import DiscrepancySettings
from guideqa.qa.sources import EvidenceSource
from guideqa.qa.units import Unit, build_units

DrugsIn = Callable[[str], tuple[str, ...]]
_SEARCH_WIDTH = 3  # passages fetched per passage kept, so a few documents cannot fill the list


@dataclass(frozen=True)
class Patient:
    """Who the question is about: its population qualifiers and age, if given."""

    qualifiers: frozenset[str]
    age: float | None
    exclusive: frozenset[str] = frozenset()

    @classmethod
    def of(cls, question: str, populations: Iterable[str], book: MeasureBook) -> Patient:
        """The patient a question describes."""
        qualifiers = book.with_implied(book.qualifiers_in(question) | frozenset(populations))
        return cls(qualifiers, patient_age(question), qualifiers & book.spec.exclusive)

    def fits(self, value: TypedQuantity) -> bool:
        """Whether a value is stated for patients like this one: each of its qualifiers is
        named by the question, a child is not given adults' values, and its age band (if
        any) holds the question's age."""
        if not value.qualifiers <= self.qualifiers:
            return False
        if not self.exclusive <= value.qualifiers:
            return False
        ages = value.ages
        return ages is None or self.age is None or ages.holds(self.age)


@dataclass(frozen=True)
class SourcedValue:
    """A typed value with the statement it was read from and the drug it is about."""

    quantity: TypedQuantity
    unit: Unit
    drug: str | None = None

    @property
    def hit(self) -> Hit:
        """The passage the value was read from."""
        return self.unit.hit


@dataclass(frozen=True)
class FoundDiscrepancy:
    """A measure on which current sources disagree, with every source's values."""

    measure: MeasureSpec
    values: tuple[SourcedValue, ...]


class DiscrepancyFinder:
    """Reads typed values from statements and compares them across current sources."""

    def __init__(
        self,
        book: MeasureBook,
        knowledge: ClinicalKnowledge,
        settings: DiscrepancySettings,
        superseded: frozenset[str],
        drugs_in: DrugsIn,
    ) -> None:
        self.book = book
        self.knowledge = knowledge
        self.settings = settings
        self.superseded = superseded
        self.drugs_in = drugs_in
        self._query_words: dict[str, frozenset[str]] = {}

    def find(
        self,
        source: EvidenceSource,
        seeds: list[Unit],
        patient: Patient,
        question: str | None = None,
    ) -> list[FoundDiscrepancy]:
        """The discrepancies among the seed statements' measures, each measure compared with
        what a search for it finds in other current sources. With the `question`, only
        measures it is about are compared."""
        if not self.settings.enabled:
            return []
        seeded = self._read(seeds, patient)
        by_name = {m.name: m for m in self.book.spec.measures}
        words = frozenset(source.tokens(question)) if question is not None else None
        measures = [
            by_name[name]
            for name in dict.fromkeys(v.quantity.measure for v in seeded)
            if question is None or self._asked(source, by_name[name], question, words)
        ]
        found = []
        for measure in measures[: self.settings.max_measures]:
            name = measure.name
            values = [v for v in seeded if v.quantity.measure == name]
            values += self._read(self._search(source, measure), patient, measure)
            row = self._compare(measure, values)
            if row is not None:
                found.append(row)
        return found[: self.settings.max_rows]

    def _asked(
        self,
        source: EvidenceSource,
        measure: MeasureSpec,
        question: str,
        words: frozenset[str] | None,
    ) -> bool:
        """Whether the question is about a measure: by the measure's `asks` cues when it has
        them, else by sharing a word (`words`, its tokens) with the measure's search."""
        cued = self.book.asked_about(measure, question)
        if cued is not None:
            return cued
        if measure.name not in self._query_words:  # the same for every question: once
            self._query_words[measure.name] = frozenset(source.tokens(measure.query))
        return bool(words and words & self._query_words[measure.name])

    def _search(self, source: EvidenceSource, measure: MeasureSpec) -> list[Unit]:
        """Passages about the measure, at most a few per document so that other sources are
        heard (one long guideline can fill a plain top-k)."""
        filters = SearchFilters(kinds=measure.kinds, exclude_superseded=True)
        wanted = self.settings.search_passages
        per_doc: dict[str, int] = {}
        units: list[Unit] = []
        for hit in source.search(measure.query, wanted * _SEARCH_WIDTH, filters):
            if per_doc.get(hit.doc_id, 0) >= self.settings.passages_per_source:
                continue
            per_doc[hit.doc_id] = per_doc.get(hit.doc_id, 0) + 1
            units += build_units(hit, self.knowledge)[0]
            if sum(per_doc.values()) >= wanted:
                break
        return units

    def _read(
        self, units: list[Unit], patient: Patient, only: MeasureSpec | None = None
    ) -> list[SourcedValue]:
        out = []
        for unit in units:
            hit = unit.hit
            if hit.doc_id in self.superseded:
                continue  # a superseded version never makes a discrepancy
            # a value is for the patients its document or section is about, too
            where = " ".join((hit.title, *hit.section_path))
            population = self.book.qualifiers_in(where)
            if hit.provenance.population is not None:
                population |= {hit.provenance.population.value}
            for value in self.book.values(unit.text, hit.kind, population, unit.lead, where):
                if only is not None and value.measure != only.name:
                    continue
                if patient.fits(value):
                    out.append(SourcedValue(value, unit, self._drug(unit)))
        return out

    def _drug(self, unit: Unit) -> str | None:
        names = unit.hit.provenance.drug_names
        if unit.hit.kind is SourceKind.LABEL and names:
            found = self.drugs_in(names[0])
            return found[0] if found else names[0].lower()
        found = self.drugs_in(unit.text)
        # a guideline sentence naming several drugs cannot say which one a value is for
        return found[0] if len(found) == 1 else None

    def _compare(self, measure: MeasureSpec, values: list[SourcedValue]) -> FoundDiscrepancy | None:
        groups: dict[str | None, list[SourcedValue]] = {}
        for value in values:
            if measure.per_drug and value.drug is None:
                continue
            groups.setdefault(value.drug if measure.per_drug else None, []).append(value)
        for group in groups.values():
            per_doc = _per_document(group, self.settings.max_values_per_source)
            pair = _disagreeing_pair(per_doc, measure)
            if pair is not None:
                # the two that disagree first, then the other sources; each source shows its
                # first value (from its most relevant statement); all of its values were compared
                order = [*pair, *(d for d in per_doc if d not in pair)]
                shown = [per_doc[d][0] for d in order][: self.settings.max_sources]
                return FoundDiscrepancy(measure, tuple(shown))
        return None


def _per_document(values: list[SourcedValue], limit: int) -> dict[str, list[SourcedValue]]:
    """Each document's distinct values (the first `limit`), in the order they were found."""
    per_doc: dict[str, list[SourcedValue]] = {}
    for value in values:
        kept = per_doc.setdefault(value.hit.doc_id, [])
        same = any(
            k.quantity.low == value.quantity.low and k.quantity.high == value.quantity.high
            for k in kept
        )
        if not same and len(kept) < limit:
            kept.append(value)
    return per_doc


def _disagreeing_pair(
    per_doc: dict[str, list[SourcedValue]], measure: MeasureSpec
) -> tuple[str, str] | None:
    """Two documents that disagree: none of one's values agrees with any of the other's, for
    patients of overlapping ages; two labels (two products) are not compared when the measure
    says so."""
    docs = list(per_doc)
    for i, a in enumerate(docs):
        for b in docs[i + 1 :]:
            first, second = per_doc[a], per_doc[b]
            both_labels = first[0].hit.kind is second[0].hit.kind is SourceKind.LABEL
            if measure.cross_kind_only and both_labels:
                continue
            if not _same_ages(first, second):
                continue
            if not any(
                # a threshold's or goal's own number is what is compared ('over 90' vs '≥50')
                x.quantity.agrees(
                    y.quantity, measure.compare, measure.tolerance, measure.bound is None
                )
                for x in first
                for y in second
            ):
                return (a, b)
    return None


def _same_ages(first: list[SourcedValue], second: list[SourcedValue]) -> bool:
    def band(values: list[SourcedValue]) -> AgeBand | None:
        return next((v.quantity.ages for v in values if v.quantity.ages), None)

    a, b = band(first), band(second)
    return a is None or b is None or a.overlaps(b)
