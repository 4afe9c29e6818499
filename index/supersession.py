"""Which indexed documents replace which: named in `supersedes`, or newer in the same series."""

from __future__ import annotations

import datetime as dt

from guideqa.ingest.models import Document


def supersession(documents: tuple[Document, ...]) -> dict[str, tuple[str, ...]]:
    """For each document, the indexed documents it replaces: those named in its `supersedes`,
    and older members of its series (same series_id, earlier date or year)."""
    present = {d.doc_id for d in documents}
    older: dict[str, list[str]] = {
        d.doc_id: [s for s in d.supersedes if s in present] for d in documents
    }
    series: dict[str, list[Document]] = {}
    for doc in documents:
        if doc.series_id:
            series.setdefault(doc.series_id, []).append(doc)
    for members in series.values():
        newest = max(members, key=lambda d: (d.date or dt.date(d.year or 1, 1, 1), d.doc_id))
        older[newest.doc_id] += [d.doc_id for d in members if d is not newest]
    return {k: tuple(dict.fromkeys(v)) for k, v in older.items() if v}


def superseded_ids(documents: tuple[Document, ...]) -> set[str]:
    """Every indexed document that another indexed document replaces."""
    return {old for olds in supersession(documents).values() for old in olds}


def supersession_notes(documents: tuple[Document, ...]) -> dict[str, str]:
    """A note for each document that supersedes others still indexed, naming them."""
    by_id = {d.doc_id: d for d in documents}
    notes: dict[str, str] = {}
    for newer, olds in supersession(documents).items():
        described = "; ".join(
            f"{by_id[o].title} ({by_id[o].year})" if by_id[o].year else by_id[o].title for o in olds
        )
        notes[newer] = f"supersedes {described}, also indexed"
    return notes
