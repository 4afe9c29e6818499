"""Rank fusion: reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009) or a
min-max-normalised convex sum, plus an optional ranking of preferred sections."""

from __future__ import annotations

from guideqa.index.settings import Fusion, IndexSettings

Ranking = list[tuple[int, float]]


def fuse(
    dense: Ranking,
    lexical: Ranking,
    settings: IndexSettings,
    preferred: Ranking | None = None,
) -> Ranking:
    """Combine rankings. `preferred` (candidates from sections the query names, in fused order)
    votes like a third ranking, weighted by `settings.section_preference_weight`."""
    combined: dict[int, float] = {}
    if settings.fusion is Fusion.RRF:
        for ranking in (dense, lexical):
            for rank, (row, _) in enumerate(ranking):
                combined[row] = combined.get(row, 0.0) + 1.0 / (settings.rrf_k + rank + 1)
    else:
        alpha = settings.convex_alpha
        for weight, ranking in ((alpha, dense), (1.0 - alpha, lexical)):
            for row, value in _min_max(ranking):
                combined[row] = combined.get(row, 0.0) + weight * value
    ordered = sorted(combined.items(), key=lambda item: (-item[1], item[0]))
    if not preferred:
        return ordered
    wanted = {row for row, _ in preferred}
    bonus = settings.section_preference_weight * (ordered[0][1] if ordered else 0.0)
    boosted = [(row, score + (bonus if row in wanted else 0.0)) for row, score in ordered]
    return sorted(boosted, key=lambda item: (-item[1], item[0]))


def _min_max(ranking: Ranking) -> Ranking:
    if not ranking:
        return []
    values = [s for _, s in ranking]
    low, high = min(values), max(values)
    span = high - low or 1.0
    return [(row, (s - low) / span) for row, s in ranking]


def rank(
    dense: Ranking, lexical: Ranking, mode: str, preferred: Ranking, settings: IndexSettings
) -> Ranking:
    """The final ranking of a search: one list alone ("dense", "lexical"), or both fused with
    the preferred sections' passages boosted. Every backend ranks through this function, so
    that the same candidates give the same answer on each."""
    if mode == "dense":
        return dense
    if mode == "lexical":
        return lexical
    return fuse(dense, lexical, settings, preferred)
