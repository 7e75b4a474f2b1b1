"""Shared fixtures: the sample corpus, extracted once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pipeline.corpus import load_corpus
from pipeline.extract import extract_all
from pipeline.model import Document

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session", autouse=True)
def embedding_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One embedding cache for the whole run, outside the repository."""
    path = tmp_path_factory.mktemp("cache") / "embeddings.sqlite"
    os.environ["KVP_EMBEDDING_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def corpus_documents() -> dict[str, Document]:
    scan = load_corpus(CORPUS)
    batch = extract_all(scan.sources)
    assert not batch.failures, batch.failures
    return {d.doc_id: d for d in batch.documents}


class HashingEncoder:
    """A small deterministic stand-in for the e5 encoder: hashed character n-grams."""

    name = "test/hashing-64"
    dim = 64

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self._hashing = HashingVectorizer(
            n_features=self.dim, analyzer="char_wb", ngram_range=(3, 4)
        )
        self.calls = 0

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return self._hashing.transform(texts).toarray().astype(np.float32)

    encode_queries = encode_passages
