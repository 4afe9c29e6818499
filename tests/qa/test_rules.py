"""Answer rules end to end over a fake evidence source (no model, no index on disk): which
labels may answer, the boxed-warning callout, the bottom line, gaps and explanations.
Passages are real sentences from the corpus documents."""

from __future__ import annotations

from guideqa.ingest.models import Population, SectionRole, SourceKind
from guideqa.qa.models import Answer
from guideqa.qa.pipeline import AnswerEngine
from guideqa.qa.settings import QASettings
from guideqa.qa.weights_model import ScoreWeights
from tests.qa.fakes import FakeSource, label_document, make_hit

# Simple, fixed weights so that the rules are tested, not the calibration.
SETTINGS = QASettings(
    relevance=ScoreWeights(bias=-2.0, coverage=3.0, in_sentence=1.0, passage=1.0, section=0.5),
    lead=ScoreWeights(bias=-2.0, coverage=1.0, numbers=2.0, section=0.5, recommendation=0.5),
    min_relevance=0.5,
)
NAPROXEN = ("Naproxen", "Aleve", "Naprosyn")
BOXED = make_hit(
    "WARNING: RISK OF SERIOUS CARDIOVASCULAR AND GASTROINTESTINAL EVENTS. Nonsteroidal "
    "anti-inflammatory drugs (NSAIDs) cause an increased risk of serious cardiovascular "
    "thrombotic events, including myocardial infarction and stroke, which can be fatal.",
    doc_id="label-naproxen",
    title="Naproxen label (Aleve, Naprosyn)",
    section="Boxed Warning",
    role=SectionRole.BOXED_WARNING,
    drugs=NAPROXEN,
)
PREGNANCY = make_hit(
    "Use of NSAIDs, including naproxen tablets, can cause premature closure of the fetal ductus "
    "arteriosus and fetal renal dysfunction leading to oligohydramnios. Because of these risks, "
    "limit dose and duration of naproxen tablets use between about 20 and 30 weeks of "
    "gestation, and avoid naproxen tablets use at about 30 weeks of gestation and later in "
    "pregnancy.",
    doc_id="label-naproxen",
    title="Naproxen label (Aleve, Naprosyn)",
    section="8.1 Pregnancy",
    role=SectionRole.SPECIFIC_POPULATIONS,
    population=Population.PREGNANCY,
    drugs=NAPROXEN,
    chunk=1,
)
RELISTOR = make_hit(
    "The safety of RELISTOR was studied in pregnant women with opioid-induced constipation "
    "and the use of RELISTOR during pregnancy may precipitate opioid withdrawal in a fetus.",
    doc_id="label-partial-relistor",
    title="Relistor label (partial)",
    section="5 Warnings and Precautions",
    role=SectionRole.WARNINGS,
    population=Population.PREGNANCY,
    drugs=("Relistor",),
)
BUPROPION = make_hit(
    "Bupropion hydrochloride tablets are indicated for the treatment of major depressive "
    "disorder (MDD), as defined by the DSM.",
    doc_id="label-bupropion",
    title="Bupropion Hydrochloride label (Wellbutrin)",
    section="1 Indications and Usage",
    role=SectionRole.INDICATIONS,
    drugs=("Bupropion Hydrochloride", "Wellbutrin"),
)
MDD = make_hit(
    "- As first-line treatment for uncomplicated mild to moderate MDD, the Work Group "
    "recommends offering one of the following treatments based on patient preference:\n"
    "- Evidence-based pharmacotherapy:\n- Selective serotonin reuptake inhibitor (SSRIs)\n"
    "- Mirtazapine\n- Bupropion\n(Strong For; Reviewed, New-replaced)",
    kind=SourceKind.GUIDELINE,
    doc_id="ngc-10991",
    title="VA/DoD clinical practice guideline for the management of major depressive disorder",
    section="Major Recommendations",
    role=SectionRole.RECOMMENDATION,
    issuer="Department of Veterans Affairs",
    year=2016,
)
WOMEN = make_hit(
    "The USPSTF recommends screening for osteoporosis with bone measurement testing to prevent "
    "osteoporotic fractures in women 65 years or older.",
    kind=SourceKind.GUIDELINE,
    doc_id="uspstf-osteoporosis",
    title="Osteoporosis to Prevent Fractures: Screening (USPSTF recommendation)",
    section="Women 65 years or older (Grade B)",
    role=SectionRole.RECOMMENDATION,
    population=Population.WOMEN,
    grade="B",
    issuer="U.S. Preventive Services Task Force",
)
MEN = make_hit(
    "The USPSTF concludes that the current evidence is insufficient to assess the balance of "
    "benefits and harms of screening for osteoporosis to prevent osteoporotic fractures in men.",
    kind=SourceKind.GUIDELINE,
    doc_id="uspstf-osteoporosis",
    title="Osteoporosis to Prevent Fractures: Screening (USPSTF recommendation)",
    section="Men (Grade I)",
    role=SectionRole.RECOMMENDATION,
    population=Population.MEN,
    grade="I",
    issuer="U.S. Preventive Services Task Force",
    chunk=1,
)
DOCUMENTS = (
    label_document("label-naproxen", "naproxen", ("Aleve", "Naprosyn")),
    label_document("label-partial-relistor", "relistor"),
    label_document("label-bupropion", "bupropion hydrochloride", ("Wellbutrin",)),
)


def engine(*hits: object) -> AnswerEngine[FakeSource]:
    source = FakeSource(list(hits), DOCUMENTS)  # type: ignore[arg-type]
    return AnswerEngine(source, SETTINGS)


def label_quotes(answer: Answer) -> list[str]:
    return [
        s.quote for sec in answer.sections if sec.kind is SourceKind.LABEL for s in sec.statements
    ]


def test_only_the_asked_drugs_label_answers_and_the_boxed_warning_is_a_callout() -> None:
    answer = engine(BOXED, PREGNANCY, RELISTOR).ask(
        "22 weeks pregnant and taking Aleve: is that a problem?", kinds=(SourceKind.LABEL,)
    )
    quotes = label_quotes(answer)
    assert quotes and all("RELISTOR" not in q for q in quotes)  # never another drug's label
    assert all("WARNING" not in q for q in quotes)  # the boxed warning is not the answer ...
    assert answer.callouts and "CARDIOVASCULAR" in answer.callouts[0].text  # ... but is shown
    assert "20 and 30 weeks" in answer.summary  # the band that covers 22 weeks leads
    statement = next(s for sec in answer.sections for s in sec.statements)
    assert statement.population is not None and statement.population.kind is Population.PREGNANCY


def test_a_question_about_the_boxed_warning_is_answered_by_it() -> None:
    answer = engine(BOXED, PREGNANCY).ask("What is the boxed warning on Aleve?")
    assert not answer.callouts
    assert answer.summary.startswith("WARNING: RISK OF SERIOUS CARDIOVASCULAR")


def test_labels_of_drugs_the_guideline_recommends_are_shown_once_each() -> None:
    answer = engine(MDD, BUPROPION, PREGNANCY).ask(
        "What are the first-line drugs for treating major depression?"
    )
    guideline = next(s for s in answer.sections if s.kind is SourceKind.GUIDELINE)
    assert guideline.statements[0].items[-1] == "Bupropion"  # the list is quoted whole
    assert "(Strong For" in guideline.statements[0].quote
    labels = label_quotes(answer)
    assert len(labels) == 1 and labels[0].startswith("Bupropion hydrochloride tablets")


def test_no_other_label_stands_in_for_a_drug_the_index_lacks() -> None:
    answer = engine(BOXED, PREGNANCY, RELISTOR).ask("Is phenelzine safe in pregnancy?")
    assert "No FDA label for phenelzine is indexed." in answer.gaps
    assert not label_quotes(answer)


def test_split_evidence_by_population_is_in_the_bottom_line() -> None:
    answer = engine(WOMEN, MEN).ask("Who should be screened for osteoporosis?")
    assert "women 65 years or older" in answer.summary
    assert "in men" in answer.summary
    assert answer.sections[0].statements[0].text.startswith("USPSTF (grade B): ")


def test_abstention_names_what_was_searched_and_no_generic_word() -> None:
    answer = engine(BOXED, PREGNANCY, WOMEN).ask(
        "What are the first-line treatment options for mild scabies?"
    )
    assert answer.abstained and answer.summary.startswith("The indexed corpus holds no evidence")
    assert any("\u201cscabies\u201d" in gap for gap in answer.gaps)
    assert not any(w in gap for gap in answer.gaps for w in ("first-line", "options", "mild"))


def test_explanations_give_each_factor_and_why_others_were_not_used() -> None:
    answer = engine(BOXED, PREGNANCY, RELISTOR).ask(
        "22 weeks pregnant and taking Aleve: is that a problem?", explain=True
    )
    explanation = answer.explanation
    assert explanation is not None and explanation.chosen
    chosen = next(c for c in explanation.chosen if "20 and 30 weeks" in c.text)
    names = {f.name for f in chosen.score.factors}
    assert {"coverage", "numbers", "population_match", "section"} <= names
    logit = SETTINGS.relevance.bias + sum(f.value * f.weight for f in chosen.score.factors)
    assert abs(chosen.score.total - logit) < 0.01  # the breakdown adds up to the score
    reasons = [r.reason for r in explanation.rejected]
    assert any(r == "not about pregnancy" for r in reasons)  # the boxed warning, here
    assert "drug: naproxen" in explanation.concepts
