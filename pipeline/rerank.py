"""Rerankers: an optional stage after fusion that re-scores the top candidates.

A reranker sees the question and the fused candidates (passages with every retriever's
score) and returns a new score for each; search re-orders the candidates by it and keeps
the rest of the ranking below them. None ships yet: `Index(reranker=…)` takes any object
with this shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from pipeline.model import Hit


class Reranker(Protocol):
    name: str
    depth: int  # how many fused candidates it re-scores

    def rerank(self, question: str, candidates: Sequence[Hit]) -> list[float]:
        """One score per candidate, higher is better."""
        ...
