"""The answer pipeline: understand, retrieve per kind, select units, compose, remember."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

from guideqa.index.models import Hit, SearchFilters, SectionPreference
from guideqa.index.supersession import superseded_ids, supersession_notes
from guideqa.ingest.errors import GuideQAError
from guideqa.ingest.models import SectionRole, SourceKind
from guideqa.qa.bottom_line import KIND_ORDER, choose_bottom_line
from guideqa.qa.compose import Composer, CompositionInput, ExtractiveComposer
from guideqa.qa.conversation import ConversationStore, InMemoryConversationStore, Turn, check_room
from guideqa.qa.discrepancies import DiscrepancyFinder, FoundDiscrepancy, Patient
from guideqa.qa.drugs import DrugLexicon
from guideqa.qa.evidence import EvidencePool, boxed_warning, explanation
from guideqa.qa.followup import focus_of, needs_context, resolve, topic_of
from guideqa.qa.gaps import GapReporter
from guideqa.qa.knowledge import ClinicalKnowledge
from guideqa.qa.measures import MeasureBook
from guideqa.qa.models import Answer, Intent, new_answer_id
from guideqa.qa.scoring import Scored, UnitScorer
from guideqa.qa.selection import merge_across_sections, on_topic
from guideqa.qa.settings import QASettings
from guideqa.qa.sources import EvidenceSource
from guideqa.qa.streaming import AnswerEvent, AnswerFinished, AnswerStarted, compose_parts
from guideqa.qa.understanding import (
    QuestionAnalysis,
    analyse,
    classify_intent,
    clinical_vocabulary,
)
from guideqa.qa.weights import StudyDesigns


class InvalidQuestionError(GuideQAError):
    """The question cannot be answered as asked (empty, or over the length limit)."""


class EmptyQuestionError(InvalidQuestionError):
    """The question has no words to search for."""


@dataclass(frozen=True)
class _Interpretation:
    text: str
    conversation_id: str


@dataclass(frozen=True)
class PreparedAnswer:
    """A question understood and its evidence selected, ready to compose."""

    answer_id: str
    request: CompositionInput
    interpretation: _Interpretation
    analysis: QuestionAnalysis
    started: float
    timings: dict[str, float]


Source = TypeVar("Source", bound=EvidenceSource)


class AnswerEngine(Generic[Source]):
    """Answers questions from one opened index; safe to share between request threads."""

    def __init__(
        self,
        index: Source,
        settings: QASettings | None = None,
        conversations: ConversationStore | None = None,
        composer: Composer | None = None,
        knowledge: ClinicalKnowledge | None = None,
        measures: MeasureBook | None = None,
    ) -> None:
        self.index = index
        self.settings = settings or QASettings()
        self.knowledge = knowledge or ClinicalKnowledge.load()
        self.conversations = conversations or InMemoryConversationStore()
        self.composer = composer or ExtractiveComposer(self.knowledge)
        self.drugs = DrugLexicon.build(index.documents, self.knowledge)
        self.gaps = GapReporter(index, self.drugs)
        self._vocabulary = clinical_vocabulary(index.documents, index.tokens)
        self._notes = supersession_notes(index.documents)
        self._designs = StudyDesigns(index.document, self.knowledge)
        self.measures = measures or MeasureBook.load()
        self.discrepancy_finder = DiscrepancyFinder(
            self.measures,
            self.knowledge,
            self.settings.discrepancies,
            frozenset(superseded_ids(index.documents)),
            self.drugs.find,
        )

    def analyse(self, question: str) -> QuestionAnalysis:
        """Understand a standalone question (drugs, classes, populations, concepts, intent)."""
        return analyse(
            question,
            self.drugs,
            self.knowledge,
            self.index.tokens,
            self._term_weight,
            self.settings.min_term_weight,
            self._vocabulary,
        )

    def _term_weight(self, stems: list[str]) -> float:
        return max(self.index.term_weights(stems).values(), default=0.0)

    def ask(
        self,
        question: str,
        conversation_id: str | None = None,
        kinds: tuple[SourceKind, ...] = (),
        explain: bool = False,
    ) -> Answer:
        """Answer a question, as a follow-up when a conversation id is given."""
        prepared = self.prepare(question, conversation_id, kinds, explain)
        return self.finish(prepared, self.composer.compose(prepared.request))

    def stream(
        self,
        question: str,
        conversation_id: str | None = None,
        kinds: tuple[SourceKind, ...] = (),
        explain: bool = False,
    ) -> Iterator[AnswerEvent]:
        """The answer as events: the start once the evidence is selected, each part as the
        composer has it ready (verified, for a chat model), then the whole answer. Invalid
        questions raise on the first `next()`, before anything is sent."""
        prepared = self.prepare(question, conversation_id, kinds, explain)
        yield AnswerStarted(
            answer_id=prepared.answer_id,
            question=prepared.request.question,
            interpreted_question=prepared.request.interpreted_question,
            conversation_id=prepared.request.conversation_id,
            index_version=prepared.request.index_version,
            # an abstention is the extractive answer's, whatever the composer
            composer="extractive" if prepared.request.abstained else self.composer.name,
            abstained=prepared.request.abstained,
        )
        for part in compose_parts(self.composer, prepared.request):
            if isinstance(part, Answer):
                yield AnswerFinished(answer=self.finish(prepared, part))
            else:
                yield part

    def prepare(
        self,
        question: str,
        conversation_id: str | None = None,
        kinds: tuple[SourceKind, ...] = (),
        explain: bool = False,
    ) -> PreparedAnswer:
        """Understand the question and select the evidence: everything before composing."""
        started = time.perf_counter()
        if not question or not question.strip():
            raise EmptyQuestionError("the question is empty: type a clinical question")
        if len(question.strip()) > self.settings.max_question_chars:
            raise InvalidQuestionError(
                f"the question has {len(question.strip())} characters; the limit is "
                f"{self.settings.max_question_chars}: ask it in fewer words"
            )
        interpretation = self._interpret(question.strip(), conversation_id)
        analysis = self.analyse(interpretation.text)
        timings = {"understand": _ms(started)}
        wanted = tuple(dict.fromkeys(kinds)) or KIND_ORDER
        t = time.perf_counter()
        request = self._answer(question.strip(), interpretation, analysis, wanted, explain)
        timings["select"] = _ms(t)
        return PreparedAnswer(new_answer_id(), request, interpretation, analysis, started, timings)

    def finish(self, prepared: PreparedAnswer, answer: Answer) -> Answer:
        """The composed answer remembered in its conversation, with its id and timings."""
        timings = {**prepared.timings, "total": _ms(prepared.started)}
        self._remember(
            prepared.request.question, prepared.interpretation, prepared.analysis, answer
        )
        return answer.model_copy(update={"timings_ms": timings, "answer_id": prepared.answer_id})

    def _remember(
        self,
        question: str,
        interpretation: _Interpretation,
        analysis: QuestionAnalysis,
        answer: Answer,
    ) -> None:
        self.conversations.append(
            interpretation.conversation_id,
            Turn(
                question=question,
                interpreted_question=interpretation.text,
                topic=topic_of(interpretation.text),
                drugs=analysis.drugs,
                summary=answer.summary,
                abstained=answer.abstained,
                focus=focus_of(interpretation.text),
            ),
        )

    def _interpret(self, question: str, conversation_id: str | None) -> _Interpretation:
        if conversation_id is None:
            return _Interpretation(question, self.conversations.create().conversation_id)
        conversation = self.conversations.get(conversation_id)
        check_room(conversation, self.conversations.max_turns)
        generic = self.knowledge.question_words
        if conversation.turns and needs_context(question, self.drugs.find, generic):
            has_aspect = classify_intent(question, self.knowledge) is not Intent.GENERAL
            text = resolve(
                question,
                conversation.turns[-1],
                self.drugs.find,
                has_aspect,
                self.settings.max_question_chars,
            )
            return _Interpretation(text, conversation_id)
        return _Interpretation(question, conversation_id)

    def _retrieve(
        self, analysis: QuestionAnalysis, kind: SourceKind, drugs: tuple[str, ...] = ()
    ) -> list[Hit]:
        k = self.settings.candidates_per_kind
        base = SearchFilters(kinds=(kind,), exclude_superseded=not self.settings.include_superseded)
        prefer = SectionPreference(
            roles=analysis.wanted_roles[:2], populations=analysis.populations
        )
        if kind is SourceKind.LABEL and drugs:
            found: list[Hit] = []
            for drug in drugs:
                filters = base.model_copy(update={"drug": drug})
                found.extend(self.index.search(analysis.search_query, k, filters, prefer=prefer))
            found = sorted(found, key=lambda h: -h.score)[: k * max(1, len(drugs))]
            return found + self._sections_of(analysis, drugs, {h.chunk_id for h in found})
        return self.index.search(analysis.search_query, k, base, prefer=prefer)

    def candidates(self, question: str) -> tuple[QuestionAnalysis, list[Scored]]:
        """Every scored unit the engine considers for a standalone question (for calibration
        and debugging), before the relevance gate."""
        analysis = self.analyse(question)
        pool, _, _ = self._gather(analysis, KIND_ORDER)
        return analysis, pool.scored

    def _gather(
        self, analysis: QuestionAnalysis, wanted: tuple[SourceKind, ...]
    ) -> tuple[EvidencePool, dict[SourceKind, list[Hit]], dict[SourceKind, list[Scored]]]:
        """Retrieve per kind and select statements; labels last, since a guideline statement
        can name the drugs whose labels to show."""
        scorer = UnitScorer(self.index, analysis, self.knowledge, self.settings)
        pool = EvidencePool(
            scorer, analysis, self.knowledge, self.settings, self._designs, self.drugs
        )
        hits: dict[SourceKind, list[Hit]] = {}
        chosen: dict[SourceKind, list[Scored]] = {}
        for kind in (k for k in KIND_ORDER if k in wanted and k is not SourceKind.LABEL):
            hits[kind] = self._retrieve(analysis, kind)
            chosen[kind] = pool.select(kind, hits[kind])
        if SourceKind.LABEL in wanted:
            label_drugs = self._label_drugs(analysis, chosen.get(SourceKind.GUIDELINE, []))
            hits[SourceKind.LABEL] = (
                self._retrieve(analysis, SourceKind.LABEL, label_drugs) if label_drugs else []
            )
            # labels of drugs the guidelines recommend: one statement each, their indication
            limit = None if analysis.drugs else len(label_drugs)
            chosen[SourceKind.LABEL] = pool.select(SourceKind.LABEL, hits[SourceKind.LABEL], limit)
        return pool, hits, chosen

    def _sections_of(
        self, analysis: QuestionAnalysis, drugs: tuple[str, ...], seen: set[str]
    ) -> list[Hit]:
        """The sections of the drugs' labels that answer this kind of question (and those about
        the population asked about), even when search ranked them low."""
        if not (analysis.wanted_roles or analysis.populations):
            return []
        extra: list[Hit] = []
        for drug in drugs:
            for doc_id in self.drugs.label_docs.get(drug, ()):
                extra += self.index.section_hits(
                    doc_id,
                    analysis.wanted_roles[:2],
                    self.settings.section_passages,
                    analysis.populations,
                    analysis.search_query,
                )
        return [h for h in dict((h.chunk_id, h) for h in extra).values() if h.chunk_id not in seen]

    def _answer(
        self,
        question: str,
        interpretation: _Interpretation,
        analysis: QuestionAnalysis,
        wanted: tuple[SourceKind, ...],
        explain: bool,
    ) -> CompositionInput:
        pool, hits, chosen = self._gather(analysis, wanted)
        callouts = self._callouts(analysis, pool, chosen, wanted)
        chosen, dropped = merge_across_sections(
            {k: chosen[k] for k in KIND_ORDER if chosen.get(k)},
            pool.scorer.stems,
            self.settings.near_duplicate,
        )
        pool.reject_all(dropped)
        summary = choose_bottom_line(chosen, analysis, self.settings.max_summary_sentences)
        missing = tuple(k for k in wanted if not chosen.get(k))
        gaps = self.gaps.report(analysis, missing, hits, pool.scorer.weights)
        abstained = not chosen
        discrepancies = (
            [] if abstained else self._discrepancies(interpretation, analysis, pool, chosen)
        )
        return CompositionInput(
            question=question,
            interpreted_question=interpretation.text,
            intent=analysis.intent,
            drugs=analysis.drugs,
            evidence=chosen,
            summary_evidence=summary,
            gaps=gaps,
            abstained=abstained,
            abstention_message=self.gaps.abstention_message(wanted) if abstained else "",
            callouts=callouts,
            notes=self._notes,
            conversation_id=interpretation.conversation_id,
            index_version=self.index.version,
            disclaimer=self.settings.disclaimer,
            question_type=analysis.question_type.value,
            explanation=explanation(analysis, chosen, pool) if explain else None,
            discrepancies=discrepancies,
        )

    def _discrepancies(
        self,
        interpretation: _Interpretation,
        analysis: QuestionAnalysis,
        pool: EvidencePool,
        chosen: dict[SourceKind, list[Scored]],
    ) -> list[FoundDiscrepancy]:
        """Where current sources give different values: read from the chosen statements and
        the most relevant on-topic ones retrieved (those that pass every rule of the gate and
        are at least as relevant as a statement from a document about the subject)."""
        shown = [c.unit for items in chosen.values() for c in items]
        ids = {(u.hit.chunk_id, u.start) for u in shown}
        ranked = sorted(
            (c for c in pool.scored if (c.unit.hit.chunk_id, c.unit.start) not in ids),
            key=lambda c: -c.relevance,
        )
        limit = self.settings.discrepancies.seed_statements
        floor = self.settings.min_relevance_anchored
        # the gate is checked only until enough on-topic statements are found
        passing = (c.unit for c in ranked if on_topic(pool.gate.check(c), c, floor))
        extra = list(itertools.islice(passing, limit))
        populations = [p.value for p in analysis.populations]
        patient = Patient.of(interpretation.text, populations, self.measures)
        return self.discrepancy_finder.find(self.index, shown + extra, patient, interpretation.text)

    def _label_drugs(self, analysis: QuestionAnalysis, guideline: list[Scored]) -> tuple[str, ...]:
        """Labels to show: drugs named in the question, else drugs (or classes) the chosen
        guideline statements recommend. Never other drugs' labels."""
        if analysis.drugs:
            return analysis.drugs
        if analysis.unindexed_drugs:
            return ()  # the question's drug has no label: another drug's does not answer it
        named: list[str] = []
        for candidate in guideline:
            text = candidate.unit.text
            named += self.drugs.find(text)
            for drug_class, _ in self.drugs.classes_named(text):
                named += self.drugs.members_indexed(drug_class)
        return tuple(dict.fromkeys(named))[: self.settings.max_label_drugs]

    def _callouts(
        self,
        analysis: QuestionAnalysis,
        pool: EvidencePool,
        chosen: dict[SourceKind, list[Scored]],
        wanted: tuple[SourceKind, ...],
    ) -> list[Scored]:
        """The boxed warning of the drug asked about: shown beside the answer, or in the label
        section when the question is about the drug's risks."""
        if SourceKind.LABEL not in wanted or not analysis.drugs:
            return []
        warning = boxed_warning(self.index, self.drugs, analysis.drugs[0], pool)
        if warning is None:
            return []
        chosen_label = chosen.get(SourceKind.LABEL, [])
        if any(c.unit.hit.chunk_id == warning.unit.hit.chunk_id for c in chosen_label):
            return []  # chosen on its own merit (it is about what was asked): it stays
        if (
            SectionRole.BOXED_WARNING in analysis.named_roles
            or analysis.intent is Intent.ADVERSE_EFFECTS
        ):  # a question about the drug's risks: the warning is part of the answer
            chosen[SourceKind.LABEL] = [warning, *chosen_label][
                : self.settings.max_label_statements
            ]
            return []
        return [warning]


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)
