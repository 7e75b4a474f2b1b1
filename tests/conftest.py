"""Shared fixtures: the sample corpus, extracted once per test session."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

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


STATUTE_MANIFEST = """
[[document]]
id = "sotjl"
file = "sosialtjenesteloven.md"
kind = "law"
title = "Lov om sosiale tjenester i arbeids- og velferdsforvaltningen (sosialtjenesteloven)"
official_id = "LOV-2009-12-18-131"

[[document]]
id = "kvp-forskrift"
file = "forskrift-kvalifiseringsprogram.md"
kind = "regulation"
title = "Forskrift om kvalifiseringsprogram og kvalifiseringsstønad"
official_id = "FOR-2011-12-21-1471"
"""


@pytest.fixture(scope="session")
def statute_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real corpus: the act and the regulation."""
    folder = tmp_path_factory.mktemp("statutes")
    for name in ("sosialtjenesteloven.md", "forskrift-kvalifiseringsprogram.md"):
        shutil.copy(CORPUS / "law" / name, folder / name)
    (folder / "MANIFEST.toml").write_text(STATUTE_MANIFEST, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def statute_index(statute_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the statute corpus, built with the real encoder and theme model."""
    from pipeline.embed import EmbeddingCache
    from pipeline.index import build_index
    from pipeline.themes import ThemeClassifier

    classifier = ThemeClassifier.load()
    classifier.cache = EmbeddingCache()
    folder = tmp_path_factory.mktemp("index") / "statutes"
    build_index(statute_corpus, folder, classifier=classifier)
    return folder


@pytest.fixture(scope="session")
def statute_documents(statute_corpus: Path) -> dict[str, Document]:
    """The act and the regulation, extracted once per test session."""
    batch = extract_all(load_corpus(statute_corpus).sources)
    assert not batch.failures, batch.failures
    return {d.doc_id: d for d in batch.documents}


@pytest.fixture(scope="session")
def corpus_documents() -> dict[str, Document]:
    scan = load_corpus(CORPUS)
    batch = extract_all(scan.sources)
    assert not batch.failures, batch.failures
    return {d.doc_id: d for d in batch.documents}
