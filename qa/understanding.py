"""Question understanding: drugs (generic and brand), abbreviations and intent."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ingest.models import Document, SourceKind
from qa.models import Intent

DATA_DIR = Path(__file__).parent / "data"
# Keyword cues per intent, checked in this order (more specific first).
_INTENT_CUES: tuple[tuple[Intent, tuple[str, ...]], ...] = (
    (
        Intent.INTERACTIONS,
        (
            "interact",
            "together with",
            "combined with",
            "coadminist",
            "concomitant",
            "taking with",
            " with warfarin",
            "and alcohol",
        ),
    ),
    (
        Intent.CONTRAINDICATIONS,
        (
            "contraindicat",
            "should not be used",
            "must not",
            "avoid in",
            "who should not",
            "not be given",
        ),
    ),
    (Intent.RENAL, ("renal", "kidney", "egfr", "creatinine clearance", "dialysis", "ckd")),
    (Intent.PREGNANCY, ("pregnan", "lactat", "breastfeed", "breast-feed", "nursing")),
    (Intent.PEDIATRIC, ("child", "pediatric", "paediatric", "infant", "adolescent", "kids")),
    (
        Intent.DOSING,
        (
            "dose",
            "dosing",
            "dosage",
            "how much",
            "mg",
            "titrat",
            "maximum daily",
            "how often",
            "starting",
        ),
    ),
    (
        Intent.ADVERSE_EFFECTS,
        (
            "side effect",
            "adverse",
            "boxed warning",
            "black box",
            "risk of",
            "toxicity",
            "harm",
            "safe",
            "warning",
        ),
    ),
    (Intent.MONITORING, ("monitor", "follow-up", "follow up", "check", "lab test", "how often")),
    (Intent.SCREENING, ("screen", "diagnos", "test for", "detect", "who should be tested")),
    (
        Intent.TREATMENT,
        (
            "treat",
            "manag",
            "therapy",
            "first-line",
            "first line",
            "prescrib",
            "prevent",
            "recommend",
            "plan",
            "initiat",
        ),
    ),
)

# Label section numbers that answer each intent best (SPL numbering).
INTENT_LABEL_SECTIONS: dict[Intent, tuple[str, ...]] = {
    Intent.DOSING: ("2",),
    Intent.RENAL: ("2", "8.6", "8", "4", "5"),
    Intent.CONTRAINDICATIONS: ("4",),
    Intent.ADVERSE_EFFECTS: ("boxed", "5", "6"),
    Intent.INTERACTIONS: ("7",),
    Intent.PREGNANCY: ("8.1", "8.2", "8.3"),
    Intent.PEDIATRIC: ("8.4", "2"),
    Intent.MONITORING: ("5", "2"),
    Intent.TREATMENT: ("1", "2"),
    Intent.SCREENING: ("1",),
    Intent.GENERAL: ("boxed", "1", "2"),
}
_STOP = frozenset(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "do",
        "does",
        "did",
        "the",
        "a",
        "an",
        "of",
        "for",
        "in",
        "on",
        "to",
        "and",
        "or",
        "with",
        "without",
        "about",
        "patient",
        "patients",
        "should",
        "can",
        "could",
        "would",
        "i",
        "we",
        "you",
        "my",
        "me",
        "there",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "any",
        "recommended",
        "recommendation",
        "recommendations",
        "plan",
        "management",
        "manage",
        "managed",
        "possible",
        "possibly",
        "usual",
        "best",
        "approach",
        "person",
        "people",
        "tell",
        "know",
        "according",
        "current",
        "currently",
        "evidence",
    ]
)


@dataclass(frozen=True)
class DrugLexicon:
    """Every drug name in the indexed labels, mapped to its canonical (generic) name."""

    canonical: dict[str, str]
    label_docs: dict[str, tuple[str, ...]]

    @classmethod
    def from_documents(cls, documents: Iterable[Document]) -> DrugLexicon:
        canonical: dict[str, str] = {}
        docs: dict[str, list[str]] = {}
        for doc in documents:
            if doc.kind is not SourceKind.LABEL or not doc.drug_names:
                continue
            generic = _short_generic(doc.drug_names[0])
            docs.setdefault(generic, []).append(doc.doc_id)
            for name in (*doc.drug_names, generic):
                canonical.setdefault(name.lower(), generic)
        return cls(canonical, {k: tuple(v) for k, v in docs.items()})

    def find(self, text: str) -> tuple[str, ...]:
        """Canonical names of the drugs mentioned in the text, in order of mention."""
        lowered = text.lower()
        found: list[tuple[int, str]] = []
        for name, generic in self.canonical.items():
            if len(name) < 4:
                continue
            match = re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", lowered)
            if match:
                found.append((match.start(), generic))
        return tuple(dict.fromkeys(g for _, g in sorted(found)))


def _short_generic(name: str) -> str:
    """'Metformin Hydrochloride' -> 'metformin': the active moiety as people say it."""
    salts = {
        "hydrochloride",
        "hcl",
        "sodium",
        "potassium",
        "calcium",
        "besylate",
        "bisulfate",
        "tartrate",
        "succinate",
        "hyclate",
        "dihydrate",
        "sulfate",
        "citrate",
        "trihydrate",
        "maleate",
        "mesylate",
    }
    words = [w for w in name.lower().split() if w not in salts]
    return " ".join(words) or name.lower()


@dataclass(frozen=True)
class Abbreviations:
    """Curated abbreviation expansions, loaded from qa/data/abbreviations.yaml."""

    plain: dict[str, str]
    contextual: dict[str, dict[str, tuple[str, ...]]]

    @classmethod
    def load(cls) -> Abbreviations:
        text = (DATA_DIR / "abbreviations.yaml").read_text("utf-8")
        data = yaml.safe_load(text)
        plain = {k: v for k, v in data.items() if isinstance(v, str)}
        contextual = {
            k: {m: tuple(c) for m, c in v["contexts"].items()}
            for k, v in data.items()
            if isinstance(v, dict)
        }
        return cls(plain, contextual)

    def expand(self, question: str) -> tuple[str, ...]:
        """Expansions of the abbreviations used in the question (ambiguous ones by context)."""
        lowered = question.lower()
        found: list[str] = []
        for token in re.findall(r"[A-Za-z][A-Za-z0-9/]*", question):
            if token in self.plain or (token.upper() == token and token.upper() in self.plain):
                found.append(self.plain.get(token) or self.plain[token.upper()])
            elif token in self.contextual:
                meanings = self.contextual[token]
                chosen = [m for m, cues in meanings.items() if any(c in lowered for c in cues)]
                if len(chosen) == 1:
                    found.append(chosen[0])
        return tuple(dict.fromkeys(found))


@dataclass(frozen=True)
class Synonyms:
    """Related terms searched alongside lay or variant wording (qa/data/synonyms.yaml)."""

    related: dict[str, str]

    @classmethod
    def load(cls) -> Synonyms:
        data = yaml.safe_load((DATA_DIR / "synonyms.yaml").read_text("utf-8"))
        return cls({str(k).lower(): str(v) for k, v in data.items()})

    def expand(self, question: str) -> tuple[str, ...]:
        """Related terms for every key phrase found in the question."""
        lowered = question.lower()
        return tuple(
            dict.fromkeys(
                terms
                for phrase, terms in self.related.items()
                if re.search(rf"\b{re.escape(phrase)}\b", lowered)
            )
        )


@dataclass(frozen=True)
class QuestionAnalysis:
    """What was understood from a question, and the query retrieval will use."""

    question: str
    drugs: tuple[str, ...]
    expansions: tuple[str, ...]
    intent: Intent
    content_terms: tuple[str, ...] = field(default=())

    @property
    def search_query(self) -> str:
        """The question plus abbreviation expansions (drugs are already named in it)."""
        return " ".join([self.question, *self.expansions])


def classify_intent(question: str) -> Intent:
    """The first intent whose cue words appear in the question."""
    lowered = f" {question.lower()} "
    for intent, cues in _INTENT_CUES:
        if any(cue in lowered for cue in cues):
            return intent
    return Intent.GENERAL


GENERIC_WORDS = _STOP


def content_terms(text: str) -> tuple[str, ...]:
    """Lowercased words that carry meaning (no question words or stopwords)."""
    words = re.findall(r"[a-z0-9][a-z0-9-]*", text.lower())
    return tuple(dict.fromkeys(w for w in words if w not in _STOP and len(w) > 1))


def analyse(
    question: str,
    drugs: DrugLexicon,
    abbreviations: Abbreviations,
    synonyms: Synonyms | None = None,
) -> QuestionAnalysis:
    """Understand a standalone question."""
    expansions = abbreviations.expand(question) + (synonyms.expand(question) if synonyms else ())
    intent = classify_intent(" ".join([question, *expansions]))
    return QuestionAnalysis(
        question=question,
        drugs=drugs.find(question),
        expansions=expansions,
        intent=intent,
        content_terms=content_terms(" ".join([question, *expansions])),
    )
