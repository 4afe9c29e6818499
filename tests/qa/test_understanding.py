"""Question understanding, sentence splitting, follow-up resolution and conversation stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from guideqa.ingest.loaders import load_file
from guideqa.ingest.models import Population
from guideqa.qa.conversation import (
    ConversationNotFoundError,
    FileConversationStore,
    InMemoryConversationStore,
    Turn,
)
from guideqa.qa.drugs import DrugLexicon
from guideqa.qa.followup import needs_context, resolve
from guideqa.qa.knowledge import ClinicalKnowledge, QuestionType
from guideqa.qa.models import Intent
from guideqa.qa.sentences import split_sentences
from guideqa.qa.understanding import (
    ConceptKind,
    analyse,
    classify_intent,
    classify_type,
    expansions,
)
from tests.qa.fakes import tokens


@pytest.fixture(scope="module")
def knowledge() -> ClinicalKnowledge:
    return ClinicalKnowledge.load()


@pytest.fixture(scope="module")
def lexicon(data_dir: Path, knowledge: ClinicalKnowledge) -> DrugLexicon:
    docs = [
        *load_file(data_dir / "openfda" / "labels_results.json"),
        *load_file(data_dir / "openfda" / "apixaban_single.json"),
    ]
    return DrugLexicon.build(docs, knowledge)


def test_brand_names_map_to_generics(lexicon: DrugLexicon) -> None:
    assert lexicon.find("Can I give Coumadin with Eliquis?") == ("warfarin", "apixaban")
    assert lexicon.find("glucophage dosing") == ("metformin",)
    assert lexicon.find("What is the dose of ibuprofen?") == ()


def test_abbreviations_expand_and_ambiguous_ones_need_context(
    knowledge: ClinicalKnowledge,
) -> None:
    assert expansions("metformin if eGFR < 30", knowledge)["eGFR"] == (
        "estimated glomerular filtration rate",
    )
    assert expansions("When to repeat BMD testing?", knowledge)["BMD"] == ("bone mineral density",)
    assert "MS" not in expansions("Is MS a risk?", knowledge)
    assert expansions("MS tablet 30 mg dose for pain", knowledge)["MS"] == ("morphine sulfate",)
    assert expansions("MS relapsing lesions on MRI", knowledge)["MS"] == ("multiple sclerosis",)
    assert expansions("diffuse osteopenia", knowledge)["osteopenia"] == (
        "low bone mass",
        "osteoporosis",
        "bone mineral density",
    )


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("What is the maximum daily dose of metformin?", Intent.DOSING),
        ("Can warfarin be taken together with aspirin?", Intent.INTERACTIONS),
        ("Who should not take lisinopril?", Intent.CONTRAINDICATIONS),
        ("Metformin in CKD with low eGFR", Intent.RENAL),
        ("Is sertraline safe in pregnancy?", Intent.PREGNANCY),
        ("Should women over 65 be screened for osteoporosis?", Intent.SCREENING),
        ("What is the management plan for diffuse osteopenia?", Intent.TREATMENT),
        ("What are the side effects of apixaban?", Intent.ADVERSE_EFFECTS),
        ("Switching from Prozac to phenelzine: how long to wait?", Intent.INTERACTIONS),
    ],
)
def test_intents(question: str, intent: Intent, knowledge: ClinicalKnowledge) -> None:
    assert classify_intent(question, knowledge) is intent


def test_cues_match_whole_words_only(knowledge: ClinicalKnowledge) -> None:
    # "childbearing" is not "child", "pharmacist" is not "harm"
    assert classify_intent("Contraception for women of childbearing potential", knowledge) not in (
        Intent.PEDIATRIC,
    )
    assert (
        classify_intent("Ask your pharmacist about the label", knowledge)
        is not Intent.ADVERSE_EFFECTS
    )
    assert knowledge.sections.populations_named("women of childbearing age") == (Population.WOMEN,)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How much folic acid should a woman trying to conceive take daily?", QuestionType.NUMBER),
        ("Who should be screened for lung cancer with low-dose CT?", QuestionType.POPULATION),
        ("What are the first-line drugs for treating major depression?", QuestionType.LIST),
        (
            "Should opioids be first-line treatment for chronic low back pain?",
            QuestionType.RECOMMENDATION,
        ),
    ],
)
def test_question_types(question: str, kind: QuestionType, knowledge: ClinicalKnowledge) -> None:
    assert classify_type(question, knowledge) is kind


def test_concepts_name_drugs_classes_and_populations(
    lexicon: DrugLexicon, knowledge: ClinicalKnowledge
) -> None:
    analysis = analyse("Is Coumadin safe in pregnancy with phenelzine?", lexicon, knowledge, tokens)
    kinds = {c.kind: c for c in analysis.concepts}
    assert kinds[ConceptKind.DRUG].drug == "warfarin"
    assert kinds[ConceptKind.POPULATION].population is Population.PREGNANCY
    maoi = kinds[ConceptKind.DRUG_CLASS]
    assert maoi.label == "phenelzine" and maoi.pattern is not None
    assert maoi.pattern.search("Do not use MAOIs within 5 weeks")  # the class finds the rule
    assert "phenelzine" in analysis.unindexed_drugs
    assert any("MAOI" in e for e in analysis.expansions)  # searched by its class name


def test_generic_words_are_never_concepts(
    lexicon: DrugLexicon, knowledge: ClinicalKnowledge
) -> None:
    analysis = analyse(
        "What are the first-line treatment options for mild depression?", lexicon, knowledge, tokens
    )
    labels = analysis.concept_labels()
    assert "depression" in labels
    assert not {"first-line", "treatment", "options", "mild", "what"} & set(labels)


def test_a_spelled_out_abbreviation_also_matches_the_abbreviation(
    lexicon: DrugLexicon, knowledge: ClinicalKnowledge
) -> None:
    analysis = analyse("first-line drugs for major depression", lexicon, knowledge, tokens)
    concept = next(c for c in analysis.concepts if c.label == "major depression")
    assert concept.pattern is not None and concept.pattern.search("For patients with MDD, offer")


def test_analysis_builds_search_query(lexicon: DrugLexicon, knowledge: ClinicalKnowledge) -> None:
    analysis = analyse("Glucophage in CKD?", lexicon, knowledge, tokens)
    assert analysis.drugs == ("metformin",)
    assert "chronic kidney disease" in analysis.search_query
    assert analysis.intent is Intent.RENAL


def test_sentences_keep_doses_and_abbreviations_whole() -> None:
    text = (
        "Metformin is contraindicated below an eGFR of 30 mL/minute/1.73 m 2 . Use caution "
        "(e.g. in elderly patients) when starting 500 mg twice daily. • Reassess yearly."
    )
    sentences = [text[s.start : s.end] for s in split_sentences(text)]
    assert sentences == [
        "Metformin is contraindicated below an eGFR of 30 mL/minute/1.73 m 2 .",
        "Use caution (e.g. in elderly patients) when starting 500 mg twice daily.",
        "Reassess yearly.",
    ]


def _turn(question: str, topic: str, drugs: tuple[str, ...] = (), focus: str = "") -> Turn:
    return Turn(
        question=question,
        interpreted_question=question,
        topic=topic,
        drugs=drugs,
        summary="",
        abstained=False,
        focus=focus,
    )


GENERIC = ClinicalKnowledge.load().question_words


def test_follow_ups_are_resolved_against_the_previous_turn(lexicon: DrugLexicon) -> None:
    previous = _turn(
        "Should women 65 and older be screened for osteoporosis?",
        "women 65 and older be screened for osteoporosis",
    )
    assert needs_context("What about in men?", lexicon.find, GENERIC)
    assert resolve("What about in men?", previous, lexicon.find, True, 2000) == (
        "women 65 and older be screened for osteoporosis: in men"
    )
    drug_turn = _turn("What is the boxed warning for metformin?", "metformin", ("metformin",))
    assert needs_context("and the dose in renal impairment?", lexicon.find, GENERIC)
    assert resolve("and the dose in renal impairment?", drug_turn, lexicon.find, True, 2000) == (
        "metformin: the dose in renal impairment"
    )
    assert not needs_context(
        "What is the starting dose of lisinopril for hypertension?", lexicon.find, GENERIC
    )


def test_a_pronoun_without_an_aspect_keeps_what_was_asked(lexicon: DrugLexicon) -> None:
    # "When should it be reduced?" after a dose question is about the dose, not the drug
    dose = _turn(
        "What is the usual dose of Eliquis?", "Eliquis", ("apixaban",), "the usual dose of Eliquis"
    )
    resolved = resolve("When should it be reduced?", dose, lexicon.find, False, 2000)
    assert resolved == "When should the usual dose of Eliquis be reduced"


def test_follow_up_rewrite_is_bounded_and_literal(lexicon: DrugLexicon) -> None:
    # a huge previous topic and many pronouns: one replacement, capped at the question limit
    long_turn = _turn("q", "x" * 2000, focus="y" * 2000)
    resolved = resolve("it " * 666, long_turn, lexicon.find, False, 2000)
    assert len(resolved) <= 2000
    # a backslash in an earlier question is text, not a regex template
    slashed = _turn("What about C:\\temp\\1?", "C:\\temp\\1 \\g<0>", focus="C:\\temp \\1")
    assert "\\1" in resolve("is it ok?", slashed, lexicon.find, False, 2000)


def test_memory_store_expires_idle_and_least_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    store = InMemoryConversationStore(max_conversations=2, idle_seconds=60)
    first, second = store.create(), store.create()
    store.get(first.conversation_id)  # first is now the most recent
    store.create()
    with pytest.raises(ConversationNotFoundError, match="unknown or has expired"):
        store.get(second.conversation_id)
    import guideqa.qa.conversation as module

    now = module.time.monotonic()
    monkeypatch.setattr(module.time, "monotonic", lambda: now + 120)
    with pytest.raises(ConversationNotFoundError):
        store.get(first.conversation_id)


def test_file_store_keeps_turns_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "visit.json"
    FileConversationStore(path).append("visit", _turn("q1", "osteoporosis"))
    again = FileConversationStore(path)
    assert [t.topic for t in again.get("visit").turns] == ["osteoporosis"]
