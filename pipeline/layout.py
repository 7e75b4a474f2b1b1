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

from pathlib import Path
from typing import NamedTuple

CURRENT = "current"
BUILDS = "builds"


class BuildFiles(NamedTuple):
    """The files of one build folder: `BuildFiles.of(folder)`."""

    root: Path
    manifest: Path
    store: Path
    vectors: Path
    bm25: Path
    charngram: Path
    charngram_idf: Path

    @classmethod
    def of(cls, root: Path) -> BuildFiles:
        names = ("manifest.json", "store.sqlite", "vectors.faiss", "bm25", "charngram.npz",
                 "charngram-idf.npy")  # fmt: skip
        return cls(root, *(root / name for name in names))
