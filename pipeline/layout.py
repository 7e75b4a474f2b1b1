"""The names of an index's files, in one place.

    <index>/
      current -> builds/<id>       the build in use (an atomic symlink swap)
      builds/<id>/manifest.json    versions, settings, encoder, per-document content hashes
                  store.sqlite     documents and passages (`pipeline.store.sqlite`)
                  vectors.faiss    passage vectors (`pipeline.retrievers.DenseRetriever`)
                  bm25/            BM25 over normalised tokens (`BM25Retriever`)
                  charngram.npz    character n-gram TF-IDF (`CharNgramRetriever`),
                  charngram-idf.npy   and its idf weights
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CURRENT = "current"
BUILDS = "builds"


@dataclass(frozen=True, slots=True)
class BuildFiles:
    """The files of one build folder."""

    root: Path

    @property
    def manifest(self) -> Path:
        return self.root / "manifest.json"

    @property
    def store(self) -> Path:
        return self.root / "store.sqlite"

    @property
    def vectors(self) -> Path:
        return self.root / "vectors.faiss"

    @property
    def bm25(self) -> Path:
        return self.root / "bm25"

    @property
    def charngram(self) -> Path:
        return self.root / "charngram.npz"

    @property
    def charngram_idf(self) -> Path:
        return self.root / "charngram-idf.npy"
