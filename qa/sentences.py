"""Sentence splitting that keeps clinical text whole (doses, 'e.g.', '1.73 m2', bullets)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = (
    "e.g",
    "i.e",
    "etc",
    "vs",
    "approx",
    "dr",
    "mr",
    "ms",
    "no",
    "fig",
    "et al",
    "mg",
    "ml",
    "min",
    "max",
    "incl",
    "u.s",
    "st",
    "jr",
    "ref",
    "refs",
)
_BOUNDARY = re.compile(
    r"(?<=[.!?])[\"”’)]*\s+(?=[\"“(\[]?[A-Z0-9•])|\n+|\s+(?=•\s)|(?<=\S)\s+(?=- [A-Z])"
)


@dataclass(frozen=True)
class SentenceSpan:
    """A sentence as a [start, end) slice of its passage."""

    start: int
    end: int


def _ends_with_abbreviation(text: str) -> bool:
    tail = text.rstrip().lower()
    return any(tail.endswith(a + ".") for a in _ABBREVIATIONS) or bool(
        re.search(r"(?:^|\s)[a-z]\.$", tail)
    )


def split_sentences(text: str) -> list[SentenceSpan]:
    """Sentence spans in reading order; an abbreviation's full stop does not end a sentence."""
    spans: list[SentenceSpan] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        piece = text[start : match.start()]
        if (
            match.group().strip() == ""
            and "\n" not in match.group()
            and _ends_with_abbreviation(piece)
        ):
            continue
        if piece.strip():
            spans.append(_trimmed(text, start, match.start()))
        start = match.end()
    if text[start:].strip():
        spans.append(_trimmed(text, start, len(text)))
    return spans


def _trimmed(text: str, start: int, end: int) -> SentenceSpan:
    while start < end and text[start] in " \t•-":
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return SentenceSpan(start, end)
