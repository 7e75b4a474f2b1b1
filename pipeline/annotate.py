"""Annotation: passages get their legal references and theme probabilities.

`prepare_corpus` runs the whole front half of the pipeline (extract → segment → annotate)
on a corpus folder; the index build and the export both start from it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from pipeline.corpus import load_corpus
from pipeline.extract import extract_all
from pipeline.legal import annotate_refs
from pipeline.model import Document, Failure, Passage
from pipeline.segment import segment_all
from pipeline.themes import ThemeClassifier


@dataclass(frozen=True, slots=True)
class PreparedCorpus:
    """Documents, their annotated passages, and what could not be read."""

    documents: tuple[Document, ...]
    passages: tuple[Passage, ...]
    failures: tuple[Failure, ...]
    notices: tuple[str, ...] = ()


def annotate_themes(passages: Sequence[Passage], classifier: ThemeClassifier) -> list[Passage]:
    """Every passage with its probability for every theme."""
    predictions = classifier.predict([p.text for p in passages])
    return [replace(p, themes=pr.scores) for p, pr in zip(passages, predictions, strict=True)]


def annotate(
    documents: Sequence[Document],
    passages: Sequence[Passage],
    classifier: ThemeClassifier | None = None,
) -> list[Passage]:
    """Legal references always; themes when a classifier is given."""
    annotated = annotate_refs(documents, passages)
    return annotate_themes(annotated, classifier) if classifier else annotated


def prepare_corpus(folder: Path | str, classifier: ThemeClassifier | None = None) -> PreparedCorpus:
    """Extract, segment and annotate a corpus folder; failures are collected, not raised."""
    scan = load_corpus(folder)
    batch = extract_all(scan.sources)
    passages = segment_all(batch.documents)
    annotated = annotate(batch.documents, passages, classifier)
    return PreparedCorpus(
        batch.documents, tuple(annotated), (*scan.failures, *batch.failures), scan.notices
    )


def passages_with_documents(
    prepared: PreparedCorpus,
) -> Iterator[tuple[Passage, Document]]:
    by_id = {d.doc_id: d for d in prepared.documents}
    for passage in prepared.passages:
        yield passage, by_id[passage.doc_id]
