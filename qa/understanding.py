"""Question understanding: drugs and drug classes, populations, intent, question type, and the
concepts every statement of the answer must be about."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from guideqa.ingest.models import Document, Population, SectionRole
from guideqa.ingest.sections import cue_pattern
from guideqa.qa.drugs import DrugLexicon, unindexed_drugs
from guideqa.qa.knowledge import ClinicalKnowledge, DrugClass, QuestionType
from guideqa.qa.models import Intent

Tokenize = Callable[[str], list[str]]
TermWeight = Callable[[list[str]], float]
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'-]*")


# Label sections a question can name outright ("What is the boxed warning for Zoloft?").
_NAMEABLE_ROLES = frozenset(
    {SectionRole.BOXED_WARNING, SectionRole.CONTRAINDICATIONS, SectionRole.INTERACTIONS}
)


class ConceptKind(StrEnum):
    """What a concept of the question is."""

    DRUG = "drug"
    DRUG_CLASS = "drug_class"
    POPULATION = "population"
    TERM = "term"


@dataclass(frozen=True)
class Concept:
    """Something the question is about. A text mentions it when it contains one of its stems
    or matches its phrase pattern (synonyms, expansions, class aliases and members)."""

    label: str
    kind: ConceptKind
    stems: frozenset[str]
    pattern: re.Pattern[str] | None = None
    drug: str | None = None
    population: Population | None = None
    clinical: bool = True  # a word of the corpus's clinical vocabulary (titles, headings, MeSH)

    def mentioned(self, stems: frozenset[str], text: str) -> bool:
        """Whether a text (given with its lexical stems) mentions this concept."""
        if self.stems & stems:
            return True
        return bool(self.pattern and self.pattern.search(text))


@dataclass(frozen=True)
class QuestionAnalysis:
    """What was understood from a question, and the query retrieval will use."""

    question: str
    drugs: tuple[str, ...]
    expansions: tuple[str, ...]
    intent: Intent
    question_type: QuestionType = QuestionType.GENERAL
    populations: tuple[Population, ...] = ()
    classes: tuple[str, ...] = ()
    unindexed_drugs: tuple[str, ...] = ()
    concepts: tuple[Concept, ...] = field(default=())
    wanted_roles: tuple[SectionRole, ...] = ()
    named_roles: tuple[SectionRole, ...] = ()
    wants_recommendation: bool = False
    label_first: bool = False

    @property
    def search_query(self) -> str:
        """The question plus expansions (abbreviations, synonyms, class names)."""
        return " ".join([self.question, *self.expansions])

    def concept_labels(self) -> tuple[str, ...]:
        """The concepts' labels, for explanations and gap lines."""
        return tuple(c.label for c in self.concepts)


def classify_intent(text: str, knowledge: ClinicalKnowledge) -> Intent:
    """The first intent whose cue words appear in the text (whole words)."""
    for rule, pattern in knowledge.intent_patterns:
        if pattern.search(text):
            return rule.intent
    return Intent.GENERAL


def classify_type(text: str, knowledge: ClinicalKnowledge) -> QuestionType:
    """The first question type whose cue words appear in the text."""
    for question_type, pattern in knowledge.type_patterns:
        if pattern.search(text):
            return question_type
    return QuestionType.GENERAL


def expansions(question: str, knowledge: ClinicalKnowledge) -> dict[str, tuple[str, ...]]:
    """Abbreviation and synonym expansions (related phrases), keyed by the question's words
    that they expand."""
    found: dict[str, tuple[str, ...]] = {}
    lowered = question.lower()
    for token in re.findall(r"[A-Za-z][A-Za-z0-9/]*", question):
        meaning = knowledge.abbreviations.get(token) or knowledge.abbreviations.get(token.upper())
        if isinstance(meaning, str) and (token in knowledge.abbreviations or token.isupper()):
            found[token] = (meaning,)
        elif isinstance(meaning, dict):
            chosen = [
                m for m, cues in meaning["contexts"].items() if any(c in lowered for c in cues)
            ]
            if len(chosen) == 1:
                found[token] = (chosen[0],)
    for phrase, related in knowledge.synonyms.items():
        if re.search(rf"\b{re.escape(phrase)}\b", lowered):
            found[phrase] = related
    return found


def analyse(
    question: str,
    drugs: DrugLexicon,
    knowledge: ClinicalKnowledge,
    tokenize: Tokenize,
    term_weight: TermWeight | None = None,
    min_term_weight: float = 0.0,
    vocabulary: frozenset[str] | None = None,
) -> QuestionAnalysis:
    """Understand a standalone question. Words whose corpus weight (IDF, from `term_weight`) is
    below `min_term_weight` are too common to be concepts; words outside the corpus's clinical
    `vocabulary` (stems of titles, headings and MeSH terms) are concepts of less weight."""
    expanded = expansions(question, knowledge)
    classes = drugs.classes_named(question)
    named_drugs = drugs.find(question)
    class_words = tuple(dict.fromkeys(a for c, _ in classes for a in c.aliases[:2]))
    text = " ".join([question, *(p for phrases in expanded.values() for p in phrases)])
    intent = classify_intent(text, knowledge)
    rule = knowledge.intent_rule(intent)
    populations = knowledge.sections.populations_named(question)
    builder = _ConceptBuilder(
        question, knowledge, tokenize, term_weight or (lambda _: 1.0), min_term_weight, vocabulary
    )
    concepts = builder.build(named_drugs, drugs, classes, populations, expanded)
    return QuestionAnalysis(
        question=question,
        drugs=named_drugs,
        expansions=tuple(
            dict.fromkeys([*(p for phrases in expanded.values() for p in phrases), *class_words])
        ),
        intent=intent,
        question_type=classify_type(question, knowledge),
        populations=populations,
        classes=tuple(c.name for c, words in classes if words.lower() not in drugs.canonical),
        unindexed_drugs=unindexed_drugs(question, drugs, knowledge),
        concepts=concepts,
        wanted_roles=rule.roles if rule else (),
        named_roles=tuple(
            r for r in knowledge.sections.roles_named(question) if r in _NAMEABLE_ROLES
        ),
        wants_recommendation=bool(rule and rule.recommendation),
        label_first=bool(rule and rule.label_first),
    )


def _longest_run(stems: list[frozenset[str]], wanted: frozenset[str]) -> tuple[int, int] | None:
    """The longest run of consecutive question words whose stems are all in `wanted`."""
    best: tuple[int, int] | None = None
    start = None
    for i, word_stems in enumerate([*stems, frozenset({"\0"})]):
        inside = bool(word_stems) and word_stems <= wanted
        if inside and start is None:
            start = i
        elif not inside and start is not None:
            if best is None or i - start > best[1] - best[0]:
                best = (start, i)
            start = None
    return best


class _ConceptBuilder:
    """Groups the question's words into concepts; generic words never become concepts."""

    def __init__(
        self,
        question: str,
        knowledge: ClinicalKnowledge,
        tokenize: Tokenize,
        term_weight: TermWeight,
        min_term_weight: float,
        vocabulary: frozenset[str] | None,
    ) -> None:
        self.question = question
        self.knowledge = knowledge
        self.tokenize = tokenize
        self.term_weight = term_weight
        self.min_term_weight = min_term_weight
        self.vocabulary = vocabulary
        self.covered: list[tuple[int, int]] = []

    def _claim(self, words: str) -> None:
        match = re.search(rf"(?<![\w-]){re.escape(words)}(?![\w-])", self.question, re.IGNORECASE)
        if match:
            self.covered.append(match.span())

    def _stems(self, text: str) -> frozenset[str]:
        return frozenset(self.tokenize(text))

    def build(
        self,
        named_drugs: tuple[str, ...],
        drugs: DrugLexicon,
        classes: tuple[tuple[DrugClass, str], ...],
        populations: tuple[Population, ...],
        expanded: dict[str, tuple[str, ...]],
    ) -> tuple[Concept, ...]:
        concepts = self._drug_concepts(named_drugs, drugs)
        for drug_class, words in classes:
            if words.lower() in drugs.canonical:
                continue  # an indexed drug is its own concept
            self._claim(words)
            names = [*drug_class.aliases, *drug_class.members]
            concepts.append(Concept(words, ConceptKind.DRUG_CLASS, frozenset(), cue_pattern(names)))
        for population in populations:
            pattern = self.knowledge.sections.population_cue(population)
            for match in pattern.finditer(self.question):
                self.covered.append(match.span())
            label = population.value.replace("_", " ")
            concepts.append(
                Concept(label, ConceptKind.POPULATION, frozenset(), pattern, population=population)
            )
        for words, phrases in expanded.items():
            if self._is_covered(words):
                continue
            self._claim(words)
            pattern = cue_pattern([words, *phrases])
            concepts.append(Concept(words, ConceptKind.TERM, self._stems(words), pattern))
        concepts += self._spelled_out_abbreviations()
        concepts += self._term_concepts()
        return tuple(concepts)

    def _spelled_out_abbreviations(self) -> list[Concept]:
        """'major depression' in a question, 'MDD' in the guideline: a question phrase that
        spells out (most of) an abbreviation's expansion also matches the abbreviation."""
        out: list[Concept] = []
        words = [(m.group(0), m.span()) for m in _WORD.finditer(self.question)]
        stems = [self._stems(w) for w, _ in words]
        for abbreviation, meaning in self.knowledge.abbreviations.items():
            if not isinstance(meaning, str):
                continue
            wanted = self._stems(meaning)
            if len(wanted) < 2:
                continue
            run = _longest_run(stems, wanted)
            if run is None or (run[1] - run[0]) < max(2, len(wanted) - 1):
                continue
            start, end = words[run[0]][1][0], words[run[1] - 1][1][1]
            if any(a <= start < b for a, b in self.covered):
                continue
            phrase = self.question[start:end]
            self.covered.append((start, end))
            pattern = cue_pattern([phrase, meaning, abbreviation])
            out.append(Concept(phrase, ConceptKind.TERM, frozenset(), pattern))
        return out

    def _drug_concepts(self, named: tuple[str, ...], drugs: DrugLexicon) -> list[Concept]:
        out = []
        for generic in named:
            names = [n for n, g in drugs.canonical.items() if g == generic]
            for name in names:
                self._claim(name)
            # a guideline names the drug by its class as often as by name ("ACE inhibitors")
            classes = [a for c in drugs.classes if generic in c.members for a in c.aliases]
            pattern = cue_pattern([*names, *classes])
            out.append(Concept(generic, ConceptKind.DRUG, frozenset(), pattern, drug=generic))
        return out

    def _is_covered(self, words: str) -> bool:
        match = re.search(rf"(?<![\w-]){re.escape(words)}(?![\w-])", self.question, re.IGNORECASE)
        return match is not None and any(a <= match.start() < b for a, b in self.covered)

    def _term_concepts(self) -> list[Concept]:
        out: list[Concept] = []
        generic = self.knowledge.generic_words
        for match in _WORD.finditer(self.question):
            word = match.group(0).lower().strip("'")
            if any(a <= match.start() < b for a, b in self.covered):
                continue
            if (
                word in generic
                or len(word) < 3
                or word.isdigit()
                or not any(c.isalpha() for c in word)
            ):
                continue
            stems = self._stems(word)
            if not stems or any(c.stems == stems for c in out):
                continue
            if self.term_weight(list(stems)) < self.min_term_weight:
                continue  # so common in the corpus that it says nothing ("from", "use")
            clinical = self.vocabulary is None or bool(stems & self.vocabulary)
            out.append(Concept(word, ConceptKind.TERM, stems, clinical=clinical))
        return out


def clinical_vocabulary(documents: Iterable[Document], tokenize: Tokenize) -> frozenset[str]:
    """Stems of every document title, section heading, MeSH term and drug name: the words the
    corpus itself uses to say what a passage is about."""
    words: set[str] = set()
    for doc in documents:
        text = " ".join(
            [
                doc.title,
                *doc.mesh_terms,
                *doc.drug_names,
                *(h for s in doc.sections for h in s.path),
            ]
        )
        words.update(tokenize(text))
    return frozenset(words)
