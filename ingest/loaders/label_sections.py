"""Recover SPL subsection numbers ("2.3 Renal Impairment") from flattened label text."""

from __future__ import annotations

import itertools
import re

from guideqa.ingest.loaders.base import TITLE_FUNCTION_WORDS
from guideqa.ingest.models import Section

_MAX_TITLE_WORDS = 12


def strip_heading_prefix(text: str, number: str | None, heading: str) -> str:
    """Remove the '2 DOSAGE AND ADMINISTRATION' prefix openFDA keeps in section text."""
    words = [re.escape(w) for w in re.split(r"\W+", heading) if w]
    pattern = r"^\s*(?:" + re.escape(number) + r"\s+)?" if number else r"^\s*"
    pattern += r"\W*".join(words) + r"\b\W*"
    return re.sub(pattern, "", text, count=1, flags=re.IGNORECASE)


_ABBREVIATION = re.compile(r"^\([A-Z0-9][A-Za-z0-9-]*\)$")  # "(MAOIs)" inside a title


def _is_title_word(word: str) -> bool:
    return (
        word[:1].isupper()
        or word[:1].isdigit()
        or word.lower() in TITLE_FUNCTION_WORDS
        or bool(_ABBREVIATION.match(word))
    )


def subsection_title(words: list[str]) -> str:
    """The title words at the start of a subsection, up to where its first sentence begins."""
    title: list[str] = []
    for i, word in enumerate(words[:_MAX_TITLE_WORDS]):
        following = words[i + 1] if i + 1 < len(words) else ""
        starts_sentence = (
            word[:1].isupper()
            and following[:1].islower()
            and following.lower() not in TITLE_FUNCTION_WORDS
        )
        if starts_sentence or not _is_title_word(word):
            break
        title.append(word)
    while title and title[-1].lower() in TITLE_FUNCTION_WORDS:
        title.pop()
    return " ".join(title)


def _subsection_starts(text: str, number: str) -> list[tuple[int, str]]:
    """Offsets of 'N.k Title' subsection starts, in increasing k, skipping cross-references."""
    pattern = re.compile(rf"(?<![\w(.\[])({re.escape(number)}\.(\d{{1,2}}))\s+(?=[A-Z])")
    starts: list[tuple[int, str]] = []
    last = 0
    for match in pattern.finditer(text):
        sub = int(match.group(2))
        before = text[max(0, match.start() - 5) : match.start()].lower()
        if sub <= last or "see" in before or "and" in before:
            continue
        starts.append((match.start(), match.group(1)))
        last = sub
    return starts


def split_numbered_subsections(text: str, heading: str, number: str | None) -> list[Section]:
    """One Section for the top-level text and one per numbered subsection found in it."""
    if number and not re.match(rf"\s*{re.escape(number)}\b", text):
        number = None  # OTC "Drug Facts" labels are not numbered
    body = strip_heading_prefix(text, number, heading).strip()
    parent = f"{number} {heading}" if number else heading
    if not body:
        return []
    starts = _subsection_starts(body, number) if number and "." not in number else []
    if not starts:
        return [Section(heading=heading, text=body, path=(parent,), number=number)]
    sections: list[Section] = []
    intro = body[: starts[0][0]].strip()
    if intro:
        sections.append(Section(heading=heading, text=intro, path=(parent,), number=number))
    bounds = [*starts, (len(body), "")]
    for (start, sub_number), (end, _) in itertools.pairwise(bounds):
        chunk = body[start + len(sub_number) : end].strip()
        words = chunk.split()
        title = subsection_title(words) or heading
        sub_text = chunk[len(title) :].strip() if chunk.startswith(title) else chunk
        sections.append(
            Section(
                heading=title,
                text=sub_text or chunk,
                path=(parent, f"{sub_number} {title}"),
                number=sub_number,
            )
        )
    return sections
