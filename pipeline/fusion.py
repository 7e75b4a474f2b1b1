"""Fusion: many rankings (row → score, best first) into one, by weights.

- ``rrf``: weighted reciprocal-rank fusion, Σ wᵢ / (k + rankᵢ). Needs no calibration of the
  scores, only their order; ``k`` dampens the head of each ranking.
- ``convex``: Σ wᵢ · normᵢ(score), each ranking's scores min–max normalised over its own
  candidates, so a retriever that is sure (a wide gap at the top) counts for more.

A row missing from a ranking contributes nothing from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pipeline.retrievers import Ranking
from pipeline.settings import SearchSettings

Weighted = Sequence[tuple[Ranking, float]]


def reciprocal_rank(rankings: Weighted, settings: SearchSettings) -> Ranking:
    fused: Ranking = {}
    for ranking, weight in rankings:
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (settings.rrf_k + rank)
    return fused


def convex(rankings: Weighted, settings: SearchSettings) -> Ranking:
    del settings  # the normalisation has no parameters
    fused: Ranking = {}
    for ranking, weight in rankings:
        if not ranking:
            continue
        low, high = min(ranking.values()), max(ranking.values())
        spread = high - low
        for row, score in ranking.items():
            normalised = (score - low) / spread if spread > 0 else 1.0
            fused[row] = fused.get(row, 0.0) + weight * normalised
    return fused


FUSERS: dict[str, Callable[[Weighted, SearchSettings], Ranking]] = {
    "rrf": reciprocal_rank,
    "convex": convex,
}


def fuse(rankings: Weighted, settings: SearchSettings) -> Ranking:
    """The rankings fused by the settings' method, best first."""
    fused = FUSERS[settings.fusion](rankings, settings)
    return dict(sorted(fused.items(), key=lambda item: -item[1]))
