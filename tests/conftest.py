"""Shared fixtures: the sample corpus, extracted once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.corpus import load_corpus
from pipeline.extract import extract_all
from pipeline.model import Document

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


@pytest.fixture(scope="session")
def corpus_documents() -> dict[str, Document]:
    scan = load_corpus(CORPUS)
    batch = extract_all(scan.sources)
    assert not batch.failures, batch.failures
    return {d.doc_id: d for d in batch.documents}
