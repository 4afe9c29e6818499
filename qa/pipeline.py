"""The answer pipeline: understand, retrieve per kind, select sentences, compose, remember."""

from __future__ import annotations

import time
from dataclasses import dataclass

from index.hybrid import HybridIndex, supersession
from index.models import Hit, SearchFilters
from ingest.errors import GuideQAError
from ingest.models import Document, SourceKind
from qa.compose import Composer, CompositionInput, ExtractiveComposer
from qa.conversation import ConversationStore, InMemoryConversationStore, Turn
from qa.evidence import Evidence, SentenceScorer, hit_sentences, select_mmr, study_design
from qa.followup import needs_context, resolve, topic_of
from qa.gaps import GapFinder
from qa.models import Answer, Intent
from qa.settings import QASettings
from qa.understanding import Abbreviations, DrugLexicon, QuestionAnalysis, Synonyms, analyse

KIND_ORDER = (SourceKind.GUIDELINE, SourceKind.LABEL, SourceKind.RESEARCH)


class EmptyQuestionError(GuideQAError):
    """The question has no words to search for."""


@dataclass(frozen=True)
class _Interpretation:
    text: str
    conversation_id: str


class AnswerEngine:
    """Answers questions from one opened index; safe to share between request threads."""

    def __init__(
        self,
        index: HybridIndex,
        settings: QASettings | None = None,
        conversations: ConversationStore | None = None,
        composer: Composer | None = None,
    ) -> None:
        self.index = index
        self.settings = settings or QASettings()
        self.conversations = conversations or InMemoryConversationStore()
        self.composer = composer or ExtractiveComposer()
        self.drugs = DrugLexicon.from_documents(index.documents)
        self.abbreviations = Abbreviations.load()
        self.synonyms = Synonyms.load()
        self.gaps = GapFinder(index, self.drugs)
        self._notes = _supersession_notes(index.documents)
        self._designs = {
            d.doc_id: study_design(d) for d in index.documents if d.kind is SourceKind.RESEARCH
        }

    def ask(
        self, question: str, conversation_id: str | None = None, kinds: tuple[SourceKind, ...] = ()
    ) -> Answer:
        """Answer a question, as a follow-up when a conversation id is given."""
        started = time.perf_counter()
        if not question or not question.strip():
            raise EmptyQuestionError("the question is empty: type a clinical question")
        interpretation = self._interpret(question.strip(), conversation_id)
        analysis = analyse(interpretation.text, self.drugs, self.abbreviations, self.synonyms)
        timings = {"understand": _ms(started)}
        wanted = kinds or KIND_ORDER
        t = time.perf_counter()
        hits = {kind: self._retrieve(analysis, kind) for kind in wanted}
        timings["retrieve"] = _ms(t)
        t = time.perf_counter()
        request = self._select(question.strip(), interpretation, analysis, hits, wanted)
        timings["select"] = _ms(t)
        answer = self.composer.compose(request)
        timings["total"] = _ms(started)
        self.conversations.append(
            interpretation.conversation_id,
            Turn(
                question=question.strip(),
                interpreted_question=interpretation.text,
                topic=topic_of(interpretation.text),
                drugs=analysis.drugs,
                summary=answer.summary,
                abstained=answer.abstained,
            ),
        )
        return answer.model_copy(update={"timings_ms": timings})

    def _interpret(self, question: str, conversation_id: str | None) -> _Interpretation:
        if conversation_id is None:
            return _Interpretation(question, self.conversations.create().conversation_id)
        conversation = self.conversations.get(conversation_id)
        if conversation.turns and needs_context(question, self.drugs):
            return _Interpretation(
                resolve(question, conversation.turns[-1], self.drugs), conversation_id
            )
        return _Interpretation(question, conversation_id)

    def _retrieve(self, analysis: QuestionAnalysis, kind: SourceKind) -> list[Hit]:
        k = self.settings.candidates_per_kind
        base = SearchFilters(kinds=(kind,), exclude_superseded=not self.settings.include_superseded)
        if kind is SourceKind.LABEL and analysis.drugs:
            found: list[Hit] = []
            for drug in analysis.drugs:
                filters = base.model_copy(update={"drug": drug})
                found.extend(self.index.search(analysis.search_query, k, filters))
            return sorted(found, key=lambda h: -h.score)[: k * max(1, len(analysis.drugs))]
        return self.index.search(analysis.search_query, k, base)

    def _select(
        self,
        question: str,
        interpretation: _Interpretation,
        analysis: QuestionAnalysis,
        hits: dict[SourceKind, list[Hit]],
        wanted: tuple[SourceKind, ...],
    ) -> CompositionInput:
        scorer = SentenceScorer(self.index, analysis)
        # other drugs' labels do not answer a question about a drug the index lacks
        label_missing = not analysis.drugs and bool(self.gaps.unindexed_drugs(analysis))
        chosen: dict[SourceKind, list[Evidence]] = {}
        for kind, kind_hits in hits.items():
            if kind is SourceKind.LABEL and label_missing:
                continue
            if self._relevant(kind_hits, scorer):
                chosen[kind] = self._sentences(kind, kind_hits, scorer, analysis)
        boxed = self.gaps.boxed_warning(analysis) if SourceKind.LABEL in wanted else None
        if boxed is not None:
            rest = [
                e for e in chosen.get(SourceKind.LABEL, []) if e.hit.chunk_id != boxed.hit.chunk_id
            ]
            chosen[SourceKind.LABEL] = [boxed, *rest][: self.settings.max_label_statements]
        chosen = {k: v for k, v in chosen.items() if v}
        gaps = self.gaps.report(analysis, wanted, hits, chosen, scorer)
        abstained = not chosen
        return CompositionInput(
            question=question,
            interpreted_question=interpretation.text,
            intent=analysis.intent,
            drugs=analysis.drugs,
            evidence=chosen,
            summary_evidence=self._summary(chosen),
            gaps=gaps,
            abstained=abstained,
            abstention_message=self.gaps.abstention_message(wanted) if abstained else "",
            notes=self._notes,
            conversation_id=interpretation.conversation_id,
            index_version=self.index.version,
            disclaimer=self.settings.disclaimer,
        )

    def _relevant(self, hits: list[Hit], scorer: SentenceScorer) -> bool:
        if not hits:
            return False
        best_dense = max((h.dense_score or 0.0) for h in hits)
        best_coverage = max(scorer.coverage(h.text) for h in hits[:5])
        return (
            best_dense >= self.settings.min_dense_score
            and best_coverage >= self.settings.min_term_coverage
        )

    def _sentences(
        self, kind: SourceKind, hits: list[Hit], scorer: SentenceScorer, analysis: QuestionAnalysis
    ) -> list[Evidence]:
        limits = {
            SourceKind.GUIDELINE: self.settings.max_guideline_statements,
            SourceKind.LABEL: self.settings.max_label_statements,
            SourceKind.RESEARCH: self.settings.max_research_statements,
        }
        candidates: list[Evidence] = []
        for rank, hit in enumerate(hits):
            design, weight = self._designs.get(hit.doc_id, (None, 1.0))
            weight *= _recency(hit) if kind is SourceKind.GUIDELINE else 1.0
            for evidence in hit_sentences(hit, rank, scorer, analysis, self.settings, weight):
                if evidence.coverage > 0 and evidence.score >= self.settings.min_sentence_score:
                    candidates.append(
                        Evidence(
                            evidence.hit,
                            evidence.sentence,
                            evidence.score,
                            evidence.coverage,
                            design,
                        )
                    )
        best = max((e.coverage for e in candidates), default=0.0)
        strong = [e for e in candidates if e.coverage >= best * self.settings.relative_coverage]
        # a drug question is answered from that drug's label: no per-document cap there
        per_document = (
            limits[kind] if kind is SourceKind.LABEL else self.settings.max_statements_per_document
        )
        return select_mmr(strong, scorer, limits[kind], self.settings.mmr_lambda, per_document)

    def _summary(self, chosen: dict[SourceKind, list[Evidence]]) -> list[Evidence]:
        """The strongest evidence of each kind, guidelines first; a boxed warning stays in
        the label section (always shown first there) unless it is all there is."""
        firsts = [
            next((e for e in chosen[k] if not e.boxed), chosen[k][0])
            for k in KIND_ORDER
            if chosen.get(k)
        ]
        return firsts[: self.settings.max_summary_sentences]


def _recency(hit: Hit) -> float:
    if not hit.year:
        return 1.0
    return min(1.1, max(0.95, 1.0 + 0.01 * (hit.year - 2015)))


def _supersession_notes(documents: tuple[Document, ...]) -> dict[str, str]:
    by_id = {d.doc_id: d for d in documents}
    notes: dict[str, str] = {}
    for newer, olds in supersession(documents).items():
        described = "; ".join(
            f"{by_id[o].title} ({by_id[o].year})" if by_id[o].year else by_id[o].title for o in olds
        )
        notes[newer] = f"supersedes {described}, also indexed"
    return notes


def _ms(start: float) -> float:
    return round((time.perf_counter() - start) * 1000, 2)


def intent_label(intent: Intent) -> str:
    """A readable name for an intent."""
    return intent.value.replace("_", " ")
