"""Resolve a follow-up ('what about in men?') against the conversation: a standalone question.

The rewrite replaces at most one pronoun, with a function (so the previous question's text is
never read as a regex template), and is capped in length, so a conversation cannot grow a
question without bound."""

from __future__ import annotations

import re
from collections.abc import Callable

from guideqa.qa.conversation import Turn

FindDrugs = Callable[[str], tuple[str, ...]]

_FOLLOW_UP_START = re.compile(
    r"^\s*(what about|how about|and|also|what if|same for|same question for|same dose|in|for|"
    r"but|what is the|what's the|is it|is that|does it|can it|should it|then|any)\b",
    re.IGNORECASE,
)
_PRONOUNS = re.compile(
    r"\b(it|its|this|that|these|those|they|them|the drug|this drug|"
    r"the same|this medication|the medication)\b",
    re.IGNORECASE,
)
_LEAD = re.compile(r"^\s*(what about|how about|and|also|but|then|same for)\s+", re.IGNORECASE)
_QUESTION_WORDS = re.compile(
    r"^(what|which|how|when|who|is|are|should|does|do|can)\b.*?\b(for|of|in|about|on)\s+",
    re.IGNORECASE,
)
_LEADING_QUESTION = re.compile(
    r"^(what|which|how|when|who)\s+(is|are|was|were|does|do|should)\s+", re.IGNORECASE
)
_WORD = re.compile(r"[a-z0-9][a-z0-9-]*")


def content_words(text: str, generic: frozenset[str]) -> tuple[str, ...]:
    """Lowercased words that carry meaning (no question words or generic words)."""
    words = _WORD.findall(text.lower())
    return tuple(dict.fromkeys(w for w in words if w not in generic and len(w) > 1))


def needs_context(question: str, find_drugs: FindDrugs, generic: frozenset[str]) -> bool:
    """Whether a question leans on the previous turn to make sense."""
    words = content_words(question, generic)
    names_drug = bool(find_drugs(question))
    starts_like_follow_up = bool(_FOLLOW_UP_START.match(question))
    refers_back = bool(_PRONOUNS.search(question)) and not names_drug
    short = len(words) <= 4 and not names_drug
    return (starts_like_follow_up and short) or refers_back or len(words) <= 2


def topic_of(question: str) -> str:
    """The subject of a standalone question, without its question words."""
    core = _QUESTION_WORDS.sub("", question.strip().rstrip("?")).strip()
    return core or question.strip().rstrip("?")


def focus_of(question: str) -> str:
    """What a question asks about, with its aspect ('usual dose of Eliquis')."""
    core = _LEADING_QUESTION.sub("", question.strip().rstrip("?")).strip()
    return core or question.strip().rstrip("?")


def resolve(
    question: str, previous: Turn, find_drugs: FindDrugs, has_aspect: bool, max_chars: int
) -> str:
    """A standalone question: the follow-up's own words, anchored to the previous topic.

    A pronoun is replaced once: by the previous question's focus ('the usual dose of
    apixaban') when the follow-up names no aspect of its own, else by its drugs or topic."""
    core = _LEAD.sub("", question.strip().rstrip("?")).strip()[:max_chars]
    subject = " and ".join(previous.drugs) or previous.topic
    if not has_aspect and previous.focus:
        subject = _with_drug_names(previous.focus, previous.drugs, find_drugs)
    core = _PRONOUNS.sub(lambda _: subject, core, count=1).strip()
    anchor = (
        " and ".join(previous.drugs) if previous.drugs and not find_drugs(core) else previous.topic
    )
    if anchor.lower() in core.lower():
        resolved = core[0].upper() + core[1:] if core else anchor
    else:
        resolved = f"{anchor}: {core}" if core else anchor
    return resolved[:max_chars]


def _with_drug_names(focus: str, drugs: tuple[str, ...], find_drugs: FindDrugs) -> str:
    """The focus phrase, naming the drug as the conversation resolved it."""
    if drugs and not find_drugs(focus):
        return f"{focus} of {' and '.join(drugs)}"
    return focus
