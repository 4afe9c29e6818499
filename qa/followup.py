"""Resolve a follow-up ('what about in men?') against the conversation: a standalone question."""

from __future__ import annotations

import re

from qa.conversation import Turn
from qa.understanding import DrugLexicon, content_terms

_FOLLOW_UP_START = re.compile(
    r"^\s*(what about|how about|and|also|what if|same for|same question for|in|for|but|"
    r"what is the|what's the|is it|is that|does it|can it|should it|then)\b",
    re.IGNORECASE,
)
_PRONOUNS = re.compile(
    r"\b(it|its|this|that|these|those|they|them|the drug|this drug|"
    r"the same|this medication|the medication)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^\s*(what about|how about|and|also|but|then|same for)\s+", re.IGNORECASE)
_QUESTION_WORDS = re.compile(
    r"^(what|which|how|when|who|is|are|should|does|do|can)\b.*?\b"
    r"(for|of|in|about|on)\s+",
    re.IGNORECASE,
)


def needs_context(question: str, drugs: DrugLexicon) -> bool:
    """Whether a question leans on the previous turn to make sense."""
    words = content_terms(question)
    names_drug = bool(drugs.find(question))
    starts_like_follow_up = bool(_FOLLOW_UP_START.match(question))
    refers_back = bool(_PRONOUNS.search(question)) and not names_drug
    short = len(words) <= 4 and not names_drug
    return (starts_like_follow_up and short) or refers_back or len(words) <= 2


def topic_of(question: str) -> str:
    """The subject of a standalone question, without its question words."""
    core = _QUESTION_WORDS.sub("", question.strip().rstrip("?")).strip()
    return core or question.strip().rstrip("?")


def resolve(question: str, previous: Turn, drugs: DrugLexicon) -> str:
    """A standalone question: the follow-up's own words, anchored to the previous topic."""
    core = _LEAD.sub("", question.strip().rstrip("?")).strip()
    core = _PRONOUNS.sub(" ".join(previous.drugs) or previous.topic, core).strip()
    if previous.drugs and not drugs.find(core):
        anchor = " and ".join(previous.drugs)
    else:
        anchor = previous.topic
    if anchor.lower() in core.lower():
        return core[0].upper() + core[1:] if core else anchor
    return f"{anchor}: {core}" if core else anchor
