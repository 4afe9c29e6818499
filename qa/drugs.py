"""Drug names and classes: the indexed labels' generic and brand names, the classes openFDA
assigns them, and the class lexicon for drugs that are only named (qa/data/drug_classes.yaml)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from guideqa.ingest.models import Document, SourceKind
from guideqa.ingest.sections import cue_pattern
from guideqa.qa.knowledge import ClinicalKnowledge, DrugClass


@dataclass(frozen=True)
class DrugLexicon:
    """Drug names of the indexed labels (generic and brand -> canonical generic), and drug
    classes from the labels' openFDA classes and the class lexicon."""

    canonical: dict[str, str]
    label_docs: dict[str, tuple[str, ...]]
    classes: tuple[DrugClass, ...] = ()
    class_patterns: tuple[re.Pattern[str], ...] = ()
    any_drug: re.Pattern[str] | None = None
    indexed: re.Pattern[str] | None = None  # every indexed drug name, whole words

    @classmethod
    def build(cls, documents: Iterable[Document], knowledge: ClinicalKnowledge) -> DrugLexicon:
        """Every labelled drug's names, and the class lexicon plus the labels' own classes."""
        canonical: dict[str, str] = {}
        docs: dict[str, list[str]] = {}
        label_classes: dict[str, set[str]] = {}
        for doc in documents:
            if doc.kind is not SourceKind.LABEL or not doc.drug_names:
                continue
            generic = short_generic(doc.drug_names[0], knowledge.salts)
            docs.setdefault(generic, []).append(doc.doc_id)
            for name in (*doc.drug_names, generic):
                canonical.setdefault(name.lower(), generic)
            for drug_class in doc.drug_classes:
                label_classes.setdefault(drug_class.lower(), set()).add(generic)
        classes = _merge_classes(knowledge.drug_classes, label_classes)
        patterns = tuple(cue_pattern([*c.aliases, *c.members]) for c in classes)
        names = [n for n in canonical if len(n) >= 4] + [m for c in classes for m in c.members]
        return cls(
            canonical,
            {k: tuple(v) for k, v in docs.items()},
            classes,
            patterns,
            cue_pattern(names),
            cue_pattern([n for n in canonical if len(n) >= 4]),
        )

    def first_drug(self, text: str) -> str | None:
        """The first drug a text names (canonical for indexed drugs, else as written)."""
        match = self.any_drug.search(text) if self.any_drug else None
        if match is None:
            return None
        name = match.group(0).lower()
        return self.canonical.get(name, name)

    def find(self, text: str) -> tuple[str, ...]:
        """Canonical names of the indexed drugs mentioned in the text, in order of mention."""
        if self.indexed is None:
            return ()
        found = (self.canonical[m.group(0).lower()] for m in self.indexed.finditer(text))
        return tuple(dict.fromkeys(found))

    def classes_named(self, text: str) -> tuple[tuple[DrugClass, str], ...]:
        """Classes the text names by an alias or by a member, with the words used."""
        found: list[tuple[int, DrugClass, str]] = []
        for drug_class, pattern in zip(self.classes, self.class_patterns, strict=True):
            match = pattern.search(text)
            if match:
                found.append((match.start(), drug_class, match.group(0)))
        return tuple((c, words) for _, c, words in sorted(found, key=lambda f: f[0]))

    def named(self, text: str, knowledge: ClinicalKnowledge) -> frozenset[str]:
        """The drugs a text names (indexed drugs, canonical; words with a drug-name stem) and
        the classes it names by a name or alias of that class alone ("diuretics" is an alias of
        both thiazide and loop diuretics, so it names neither)."""
        stems = (
            w
            for w in re.findall(r"[a-z]{5,}", text.lower())
            if w.endswith(knowledge.drug_suffixes)
            and w not in knowledge.not_drugs
            and w not in knowledge.drug_suffixes  # 'thiazide' is a class word, not a drug
        )
        sole = self._sole_names
        classes = (
            c.name.lower()
            for c, words in self.classes_named(text)
            if sole.get(words.lower()) == c.name.lower()
        )
        return frozenset((*self.find(text), *classes, *(self.canonical.get(w, w) for w in stems)))

    @cached_property
    def _sole_names(self) -> dict[str, str]:
        """Each class name or alias that belongs to one class only -> that class's name
        (built once: the verifier asks for every generated sentence)."""
        owners = Counter(a.lower() for c in self.classes for a in {*c.aliases, c.name})
        return {
            a.lower(): c.name.lower()
            for c in self.classes
            for a in {*c.aliases, c.name}
            if owners[a.lower()] == 1
        }

    def covered(self, text: str, knowledge: ClinicalKnowledge) -> frozenset[str]:
        """What a passage names: its drugs, and every class it names or has a member of."""
        drugs = self.named(text, knowledge)
        classes = {c.name.lower() for c, _ in self.classes_named(text)}
        classes |= {c.name.lower() for c in self.classes if drugs & set(c.members)}
        return drugs | classes

    def members_indexed(self, drug_class: DrugClass) -> tuple[str, ...]:
        """The class members that have an indexed label."""
        return tuple(
            dict.fromkeys(self.canonical[m] for m in drug_class.members if m in self.canonical)
        )


@dataclass(frozen=True)
class DrugNamer:
    """The lexicon's drug names with the clinical knowledge bound: what the verifier of
    generated sentences asks of a sentence and of its passages."""

    lexicon: DrugLexicon
    knowledge: ClinicalKnowledge

    def named(self, text: str) -> frozenset[str]:
        """What a sentence names: drugs, and classes by their own names."""
        return self.lexicon.named(text, self.knowledge)

    def covered(self, text: str) -> frozenset[str]:
        """What a passage names: drugs, and classes by name or by a member."""
        return self.lexicon.covered(text, self.knowledge)


def _merge_classes(
    lexicon: tuple[DrugClass, ...], label_classes: dict[str, set[str]]
) -> tuple[DrugClass, ...]:
    """The lexicon's classes with members added from openFDA classes of indexed labels."""
    merged: list[DrugClass] = []
    used: set[str] = set()
    for drug_class in lexicon:
        names = {drug_class.name.lower(), *(a.lower() for a in drug_class.aliases)}
        extra = {m for key in names & label_classes.keys() for m in label_classes[key]}
        used |= names & label_classes.keys()
        members = tuple(dict.fromkeys([*drug_class.members, *sorted(extra)]))
        merged.append(drug_class.model_copy(update={"members": members}))
    for name, drugs in sorted(label_classes.items()):
        if name not in used:
            merged.append(DrugClass(name=name, aliases=(name,), members=tuple(sorted(drugs))))
    return tuple(merged)


def short_generic(name: str, salts: frozenset[str]) -> str:
    """'Metformin Hydrochloride' -> 'metformin': the active moiety as people say it."""
    words = [w for w in name.lower().split() if w not in salts]
    return " ".join(words) or name.lower()


def unindexed_drugs(
    question: str, drugs: DrugLexicon, knowledge: ClinicalKnowledge
) -> tuple[str, ...]:
    """Words of the question that name a drug (class member or INN stem) with no indexed label."""
    members = {m for c in drugs.classes for m in c.members}
    words = re.findall(r"[a-z][a-z-]{4,}", question.lower())
    return tuple(
        w
        for w in dict.fromkeys(words)
        if (w in members or w.endswith(knowledge.drug_suffixes))
        and w not in knowledge.not_drugs
        and w not in drugs.canonical
    )
