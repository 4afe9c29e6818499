"""Question understanding, sentence splitting, follow-up resolution and conversation stores."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.loaders import load_file
from qa.conversation import (
    ConversationNotFoundError,
    FileConversationStore,
    InMemoryConversationStore,
    Turn,
)
from qa.followup import needs_context, resolve
from qa.models import Intent
from qa.sentences import split_sentences
from qa.understanding import Abbreviations, DrugLexicon, analyse, classify_intent


@pytest.fixture(scope="module")
def lexicon(data_dir: Path) -> DrugLexicon:
    docs = [
        *load_file(data_dir / "openfda" / "labels_results.json"),
        *load_file(data_dir / "openfda" / "apixaban_single.json"),
    ]
    return DrugLexicon.from_documents(docs)


def test_brand_names_map_to_generics(lexicon: DrugLexicon) -> None:
    assert lexicon.find("Can I give Coumadin with Eliquis?") == ("warfarin", "apixaban")
    assert lexicon.find("glucophage dosing") == ("metformin",)
    assert lexicon.find("What is the dose of ibuprofen?") == ()


def test_abbreviations_expand_and_ambiguous_ones_need_context() -> None:
    abbreviations = Abbreviations.load()
    assert "estimated glomerular filtration rate" in abbreviations.expand("metformin if eGFR < 30")
    assert "bone mineral density" in abbreviations.expand("When to repeat BMD testing?")
    assert abbreviations.expand("Is MS a risk?") == ()
    assert abbreviations.expand("MS tablet 30 mg dose for pain") == ("morphine sulfate",)
    assert abbreviations.expand("MS relapsing lesions on MRI") == ("multiple sclerosis",)


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
    ],
)
def test_intents(question: str, intent: Intent) -> None:
    assert classify_intent(question) is intent


def test_analysis_builds_search_query(lexicon: DrugLexicon) -> None:
    analysis = analyse("Glucophage in CKD?", lexicon, Abbreviations.load())
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


def _turn(question: str, topic: str, drugs: tuple[str, ...] = ()) -> Turn:
    return Turn(
        question=question,
        interpreted_question=question,
        topic=topic,
        drugs=drugs,
        summary="",
        abstained=False,
    )


def test_follow_ups_are_resolved_against_the_previous_turn(lexicon: DrugLexicon) -> None:
    previous = _turn(
        "Should women 65 and older be screened for osteoporosis?",
        "women 65 and older be screened for osteoporosis",
    )
    assert needs_context("What about in men?", lexicon)
    assert resolve("What about in men?", previous, lexicon) == (
        "women 65 and older be screened for osteoporosis: in men"
    )
    drug_turn = _turn("What is the boxed warning for metformin?", "metformin", ("metformin",))
    assert needs_context("and the dose in renal impairment?", lexicon)
    assert resolve("and the dose in renal impairment?", drug_turn, lexicon) == (
        "metformin: the dose in renal impairment"
    )
    assert not needs_context("What is the starting dose of lisinopril for hypertension?", lexicon)


def test_memory_store_expires_idle_and_least_recent(monkeypatch: pytest.MonkeyPatch) -> None:
    store = InMemoryConversationStore(max_conversations=2, idle_seconds=60)
    first, second = store.create(), store.create()
    store.get(first.conversation_id)  # first is now the most recent
    store.create()
    with pytest.raises(ConversationNotFoundError, match="unknown or has expired"):
        store.get(second.conversation_id)
    import qa.conversation as module

    now = module.time.monotonic()
    monkeypatch.setattr(module.time, "monotonic", lambda: now + 120)
    with pytest.raises(ConversationNotFoundError):
        store.get(first.conversation_id)


def test_file_store_keeps_turns_across_processes(tmp_path: Path) -> None:
    path = tmp_path / "visit.json"
    FileConversationStore(path).append("visit", _turn("q1", "osteoporosis"))
    again = FileConversationStore(path)
    assert [t.topic for t in again.get("visit").turns] == ["osteoporosis"]
