"""Sentence scoring on a real USPSTF passage (fake embedder index for the vocabulary)."""

from __future__ import annotations

from index.hybrid import HybridIndex
from index.models import Hit
from ingest.models import SourceKind
from qa.evidence import SentenceScorer, hit_sentences, looks_like_table_row
from qa.models import Intent
from qa.settings import QASettings
from qa.understanding import QuestionAnalysis, content_terms

# Verbatim from the USPSTF osteoporosis screening recommendation (tests/data/convert).
RATIONALE = (
    "Although the risk of osteoporosis and osteoporotic fractures generally increases with age, "
    "the presence of multiple risk factors at a younger age may indicate that the risk-benefit "
    "profile is favorable for screening with bone measurement testing."
)
RECOMMENDATION = (
    "The USPSTF recommends screening for osteoporosis with bone measurement testing to prevent "
    "osteoporotic fractures in postmenopausal women younger than 65 years who are at increased "
    "risk of osteoporosis, as determined by a formal clinical risk assessment tool."
)


def _hit(kind: SourceKind) -> Hit:
    return Hit(
        doc_id="uspstf-osteoporosis",
        chunk_id="uspstf-osteoporosis#0",
        kind=kind,
        title="Osteoporosis to Prevent Fractures: Screening",
        issuer="U.S. Preventive Services Task Force",
        year=None,
        section="Risk assessment",
        section_path=("Postmenopausal women younger than 65 years (Grade B)", "Risk assessment"),
        section_number=None,
        pages=None,
        url=None,
        identifier=None,
        score=1.0,
        dense_score=0.6,
        text=f"{RATIONALE} {RECOMMENDATION}",
    )


def _best(index: HybridIndex, question: str, intent: Intent, kind: SourceKind) -> str:
    analysis = QuestionAnalysis(
        question=question,
        drugs=(),
        expansions=(),
        intent=intent,
        content_terms=content_terms(question),
    )
    scorer = SentenceScorer(index, analysis)
    found = hit_sentences(_hit(kind), 0, scorer, analysis, QASettings(), 1.0)
    return max(found, key=lambda e: e.score).sentence


QUESTION = "How should the risk of osteoporosis and osteoporotic fractures with age be managed?"


def test_management_questions_prefer_guideline_recommendations(sample_index: HybridIndex) -> None:
    assert _best(sample_index, QUESTION, Intent.TREATMENT, SourceKind.GUIDELINE) == RECOMMENDATION


def test_other_intents_and_kinds_score_by_coverage_alone(sample_index: HybridIndex) -> None:
    assert _best(sample_index, QUESTION, Intent.GENERAL, SourceKind.GUIDELINE) == RATIONALE
    assert _best(sample_index, QUESTION, Intent.TREATMENT, SourceKind.RESEARCH) == RATIONALE


def test_key_terms_are_the_rarest_question_words(sample_index: HybridIndex) -> None:
    question = "What is the treatment of osteopenia in patients with opioid use disorder?"
    analysis = QuestionAnalysis(question=question, drugs=(), expansions=(), intent=Intent.TREATMENT)
    terms = SentenceScorer(sample_index, analysis).key_terms(content_terms(question))
    assert "osteopenia" in terms  # absent from the index: the rarest word
    assert "patients" not in terms and "what" not in terms


def test_flattened_table_rows_are_not_statements() -> None:
    # verbatim from the corpus: a Tanzeum adverse-reaction table header, a lab table row
    assert looks_like_table_row("Insulin Glargine (26 Weeks) N = 281 N = 285")
    assert looks_like_table_row("Hemoglobin decreased 68 6 0.6 40 0.8 0.4")  # Afinitor
    # statements with numbers, and boxed warnings in capitals, stay (metformin label, tests/data)
    assert not looks_like_table_row(
        "The recommended starting dose of metformin hydrochloride tablets is 500 mg orally "
        "twice a day or 850 mg once a day, given with meals."
    )
    assert not looks_like_table_row(
        "WARNING: LACTIC ACIDOSIS Postmarketing cases of metformin-associated lactic acidosis "
        "have resulted in death, hypothermia, hypotension, and resistant bradyarrhythmias."
    )
