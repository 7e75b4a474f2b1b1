"""What the app loads once and shares between requests: the index, the encoder, the theme model.

Loading is lazy (on the first request that needs it) and guarded by a lock, so concurrent
first requests load once. After that everything is read-only, with three exceptions that are
made safe elsewhere or here:

- The encoder, shared by request threads: see `pipeline.web.encoding`.
- The theme classifier's embedding cache is a SQLite connection, which belongs to the thread
  that opened it; all classifier work runs on one dedicated thread.
- The index is replaced when a rebuild moves the index's ``current`` link
  (`pipeline.layout`). At most once every `check_seconds`, a request looks at which build
  ``current`` names (a resolve and a stat); when it is another, that request loads the new
  build and swaps it in, while other requests go on with the old one. Each request keeps
  the build it started with until it ends (`Pinned`), so it never mixes two builds; the old
  build's store is closed when its last request is done. A new build that fails to load is
  logged and the old one keeps serving.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NamedTuple, TypeVar

from fastapi import Depends, Request

from pipeline.embed import encoder_spec
from pipeline.errors import PipelineError
from pipeline.layout import BuildFiles
from pipeline.model import Document, LegalRef, Passage
from pipeline.web.encoding import SharedEncoder, WarmUp
from pipeline.web.errors import WebNotFoundError

if TYPE_CHECKING:
    from pipeline.embed import Encoder
    from pipeline.labels import LabelStore
    from pipeline.review import Placed, Resolved
    from pipeline.search import Index
    from pipeline.themes import Retraining, ThemeClassifier

T = TypeVar("T")
log = logging.getLogger("pipeline.web")
# How often a request may look for a new build: a rebuild is served within this time. The
# look itself (a resolve and two stats) takes ~0.2 ms; once a second it is free.
CHECK_SECONDS = 1.0


class BuildStamp(NamedTuple):
    """Which build an index's ``current`` names: its folder and its manifest's identity
    (inode and modification time, in case a build is rewritten in place)."""

    folder: str
    inode: int
    mtime_ns: int


def build_stamp(build: Path) -> BuildStamp:
    """The stamp of a build folder; OSError when its manifest cannot be read."""
    status = BuildFiles.of(build).manifest.stat()
    return BuildStamp(str(build), status.st_ino, status.st_mtime_ns)


def current_stamp(location: Path | str) -> BuildStamp | None:
    """The stamp of the build ``current`` names now (in a folder, or a store's current
    build), or None when it names none."""
    from pipeline.index import current_build
    from pipeline.store.postgres import current_build_id

    try:
        if isinstance(location, str):
            build_id = current_build_id(location)
            return None if build_id is None else database_stamp(location, build_id)
        return build_stamp(current_build(location))
    except (OSError, PipelineError):
        return None


def database_stamp(url: str, build_id: int) -> BuildStamp:
    from pipeline.store.postgres import shown

    return BuildStamp(f"{shown(url)} build {build_id}", build_id, 0)


def stamp_of(index: Index) -> BuildStamp | None:
    """The stamp of the build an index opened."""
    from pipeline.store.postgres import PostgresStore

    if isinstance(index.store, PostgresStore):
        return database_stamp(index.store.url, index.store.build_id)
    assert index.files is not None
    try:
        return build_stamp(index.files.root)
    except OSError:  # replaced already while it loaded: the next check loads the newer
        return None


@dataclass
class Loaded:
    """The index and what the pages derive from it once."""

    index: Index
    by_doc: dict[str, list[Passage]] = field(default_factory=dict)  # in text order
    kinds: list[str] = field(default_factory=list)  # document kinds present
    years: list[int] = field(default_factory=list)  # publication years present
    stamp: BuildStamp | None = None  # the build it was loaded from
    # Requests using it now, and whether a newer build replaced it (under Resources' lock).
    users: int = 0
    retired: bool = False
    closing: bool = False  # set once, by whoever closes it
    closed: bool = False

    @classmethod
    def of(cls, index: Index) -> Loaded:
        by_doc = {doc_id: index.store.passages_of_document(doc_id) for doc_id in index.documents}
        sources = [d.source for d in index.documents.values()]
        kinds = sorted({s.kind.value for s in sources})
        years = sorted({s.year for s in sources if s.year is not None})
        return cls(index, by_doc, kinds, years, stamp_of(index))

    def close(self) -> None:
        """Close the store (its SQLite connection); the rest is memory, freed with it."""
        self.closed = True
        self.index.store.close()


def unknown_provision(index: Index, ref: LegalRef) -> WebNotFoundError:
    """A § that neither the corpus's statute text holds nor any passage cites."""
    from pipeline.legal import ACT_DOC_IDS, ACTS

    doc_id = ACT_DOC_IDS.get(ref.act, "")
    document = index.documents.get(doc_id)
    act = ACTS.get(ref.act)
    name = (document.source.short if document else "") or (act.aliases[0] if act else ref.act)
    where = f"pkt. {ref.point}" if ref.point else f"§ {ref.section}"
    if document is not None:
        message = (f"{where} finnes ikke i {name} i korpuset, og ingen kilder viser til den. "
                   "Sjekk nummeret, eller slå opp en annen paragraf.")  # fmt: skip
    else:
        message = (f"Ingen kilder i korpuset viser til {where} i {name}, og teksten til "
                   f"{name} er ikke med i korpuset. Sjekk nummeret, eller søk med vanlige "
                   "ord på Spør-siden.")  # fmt: skip
    return WebNotFoundError(message, heading="Fant ikke paragrafen")


class Resources:
    """The app's shared state, loaded on first use; a request uses it through `Pinned`."""

    def __init__(
        self,
        location: Path | str,
        *,
        cache_vectors: bool = True,
        encoder: Encoder | None = None,
        check_seconds: float = CHECK_SECONDS,
        labels: Path | None = None,
    ) -> None:
        # An index folder, or a PostgreSQL store's URL (`pipeline.store.postgres`).
        self.location = location if isinstance(location, str) else Path(location)
        self._given_encoder = encoder  # used instead of the index's own (tests)
        self._cache_vectors = cache_vectors
        self._check_seconds = check_seconds
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._next_check = 0.0  # time.monotonic() of the next look at `current`
        self._checking = False  # a request is looking at `current`, or loading a new build
        self._refused: BuildStamp | None = None  # a new build that failed to load
        self._encoders: dict[str, SharedEncoder] = {}
        self._classifier: ThemeClassifier | None = None
        self._themes_thread = ThreadPoolExecutor(1, thread_name_prefix="kvp-themes")
        self._labels_path = labels  # the coders' labels store; None: `paths.labels_file()`
        self._labels: LabelStore | None = None
        self._retraining: Future[Retraining] | None = None

    def encoder(self, name: str) -> SharedEncoder:
        spec = encoder_spec(name)
        with self._lock:
            if spec not in self._encoders:
                self._encoders[spec] = SharedEncoder(spec, cache=self._cache_vectors)
            return self._encoders[spec]

    @property
    def loaded(self) -> Loaded:
        """The build in use now (a missing index raises UnusableIndexError: 503).

        A request takes it through `pin` instead, so that it keeps one build throughout."""
        if self._loaded is None:
            self._load_first()
        elif time.monotonic() >= self._next_check:
            self._check_build()
        assert self._loaded is not None
        return self._loaded

    @property
    def index(self) -> Index:
        return self.loaded.index

    def pin(self) -> Pinned:
        """A request's view: the build in use when it first asks, until `Pinned.release`."""
        return Pinned(self)

    def acquire(self) -> Loaded:
        """The build in use now, counted as used until `release`."""
        current = self.loaded
        with self._lock:
            loaded = self._loaded or current  # a swap may have come in between
            loaded.users += 1
            return loaded

    def release(self, loaded: Loaded) -> None:
        with self._lock:
            loaded.users -= 1
            close = self._to_close(loaded)
        if close:
            self._close(loaded)

    @staticmethod
    def _to_close(loaded: Loaded) -> bool:
        """Whether a replaced build is unused and can be closed now (with the lock held);
        true once only."""
        if loaded.retired and loaded.users == 0 and not loaded.closing:
            loaded.closing = True
            return True
        return False

    def _encoder_of_index(self) -> Encoder:
        """The encoder the build in use names (this takes the lock: call it outside)."""
        from pipeline.index import manifest_at

        name = manifest_at(self.location)["encoder"]
        return self._given_encoder or self.encoder(name)

    def _open(self, encoder: Encoder) -> Loaded:
        from pipeline.search import Index

        index = Index(self.location, encoder=encoder)
        index.reviewed_themes = lambda: self.reviewed_themes(index)
        return Loaded.of(index)

    def _load_first(self) -> None:
        encoder = self._encoder_of_index()
        with self._lock:  # concurrent first requests wait here and load once
            if self._loaded is None:
                self._loaded = self._open(encoder)
                self._next_check = time.monotonic() + self._check_seconds

    def _check_build(self) -> None:
        """Swap in the build `current` names if it is not the one in use (one request
        looks at a time; the others go on meanwhile)."""
        with self._lock:
            if self._checking or time.monotonic() < self._next_check:
                return
            self._checking = True
            in_use = self._loaded
        assert in_use is not None
        try:
            stamp = current_stamp(self.location)
            if stamp is not None and stamp not in (in_use.stamp, self._refused):
                self._swap(in_use, stamp)
        finally:
            with self._lock:
                self._checking = False
                self._next_check = time.monotonic() + self._check_seconds

    def _swap(self, old: Loaded, stamp: BuildStamp) -> None:
        try:
            new = self._open(self._encoder_of_index())
        except Exception:
            self._refused = stamp  # logged once; a rewritten build gets a new stamp
            log.exception(
                "the new build %s cannot be loaded; still serving %s",
                stamp.folder,
                old.stamp.folder if old.stamp else self.location,
            )
            return
        with self._lock:
            self._loaded = new
            old.retired = True
            close = self._to_close(old)
        log.info("serving the new build %s", new.stamp.folder if new.stamp else self.location)
        if close:
            self._close(old)

    @staticmethod
    def _close(loaded: Loaded) -> None:
        try:
            loaded.close()
        except Exception:  # a connection that will not close is freed with the object
            log.exception("closing the replaced build failed")

    def with_classifier(self, work: Callable[[ThemeClassifier], T]) -> T:
        """Run `work` with the theme classifier, on the classifier's own thread."""
        return self._themes_thread.submit(lambda: work(self._load_classifier())).result()

    def _load_classifier(self) -> ThemeClassifier:  # only ever runs on the themes thread
        if self._classifier is None:
            from pipeline.embed import EmbeddingCache
            from pipeline.errors import ThemeError, UnavailableError
            from pipeline.themes import ThemeClassifier

            try:
                classifier = ThemeClassifier.load()
            except ThemeError as err:
                raise UnavailableError(str(err)) from err
            trained_with = classifier.meta.get("encoder")
            if trained_with and (shared := self.encoder(trained_with)).name == trained_with:
                classifier = ThemeClassifier(  # the same models, with the shared encoder
                    classifier.vectorizer,
                    classifier.models,
                    classifier.examples,
                    classifier.meta,
                    shared,
                )
            classifier.cache = EmbeddingCache()
            self._classifier = classifier
        return self._classifier

    @property
    def labels(self) -> LabelStore:
        """The coders' decisions (opened on first use; it outlives every build)."""
        from pipeline.labels import LabelStore

        with self._lock:
            if self._labels is None:
                self._labels = LabelStore(self._labels_path)
            return self._labels

    def reviewed_themes(self, index: Index) -> dict[str, tuple[str, ...]]:
        """The themes coders gave the passages of a build they reviewed, for its theme
        filter; none (and no store created) while nobody has coded."""
        from pipeline.paths import labels_file
        from pipeline.review import reviewed_themes

        if self._labels is None and not Path(self._labels_path or labels_file()).is_file():
            return {}
        return reviewed_themes(self.labels.reviews(), index.passages)

    def start_retraining(self) -> bool:
        """Retrain the theme model with every coder's current reviews, on the classifier's
        thread (its embedding cache lives there); False when a retraining is running."""
        from pipeline.review import ReviewStatus, place_all

        with self._lock:
            if self._retraining is not None and not self._retraining.done():
                return False
        placed = place_all(self.labels.reviews(), self.index.passages)
        reviews = [p.review for p in placed if p.status is ReviewStatus.CURRENT]

        def work() -> Retraining:
            from pipeline.themes import retrain

            classifier = self._load_classifier()
            result = retrain(reviews, encoder=classifier.encoder, cache=classifier.cache)
            self._classifier = None  # the next request loads the new model
            return result

        with self._lock:
            self._retraining = self._themes_thread.submit(work)
        return True

    @property
    def retraining(self) -> Future[Retraining] | None:
        """The last retraining started here, running or done."""
        return self._retraining

    def warm(self) -> None:
        """Load everything, embed one question, and start encoding the corpus sentences in
        the background, so the first users do not wait."""
        from pipeline.answer import ask

        index = self.index
        ask(index, "Hvem kan delta i kvalifiseringsprogrammet?")
        self.with_classifier(lambda c: c.predict(["kvalifiseringsprogram"]))
        encoder = index.encoder
        if isinstance(encoder, SharedEncoder):
            thread = threading.Thread(
                target=self._preload, args=(encoder, index), name="kvp-warm-up", daemon=True
            )
            thread.start()

    @staticmethod
    def _preload(encoder: SharedEncoder, index: Index) -> None:
        try:
            encoder.preload_sentences(index)
        except Exception:
            logging.getLogger("pipeline.web").exception("encoding the corpus sentences failed")

    def warm_up(self) -> WarmUp | None:
        """Progress of the background sentence encoding, when the index is loaded."""
        encoder = self._loaded.index.encoder if self._loaded is not None else None
        return encoder.warm_up if isinstance(encoder, SharedEncoder) else None

    def close(self) -> None:
        def close_cache() -> None:
            if self._classifier is not None and self._classifier.cache is not None:
                self._classifier.cache.close()

        self._themes_thread.submit(close_cache).result()
        self._themes_thread.shutdown(wait=True)
        if self._labels is not None:
            self._labels.close()
        with self._lock:
            loaded, self._loaded = self._loaded, None
            if loaded is None:
                return
            loaded.retired = True  # a request still running closes it when it ends
            close = self._to_close(loaded)
        if close:
            self._close(loaded)


class Pinned:
    """One request's view of the shared state: the build it first used, kept until the
    request ends (`release`), so that it never mixes two builds."""

    def __init__(self, shared: Resources) -> None:
        self.shared = shared
        self._loaded: Loaded | None = None

    @property
    def loaded(self) -> Loaded:
        if self._loaded is None:
            self._loaded = self.shared.acquire()
        return self._loaded

    @property
    def index(self) -> Index:
        return self.loaded.index

    def release(self) -> None:
        if self._loaded is not None:
            loaded, self._loaded = self._loaded, None
            self.shared.release(loaded)

    def document(self, doc_id: str) -> Document:
        return self.index.document(doc_id)

    def passage(self, passage_id: str) -> Passage:
        return self.index.passage(passage_id)

    def provision(self, ref: LegalRef) -> tuple[list[Passage], list[Passage]]:
        """The passages holding the § and the others citing it; neither raises a 404 that
        says the § is not in the corpus."""
        index = self.index
        holding = index.provision(ref)
        held = {p.passage_id for p in holding}
        citing = [p for p in index.citing(ref) if p.passage_id not in held]
        if not holding and not citing:
            raise unknown_provision(index, ref)
        return holding, citing

    def with_classifier(self, work: Callable[[ThemeClassifier], T]) -> T:
        return self.shared.with_classifier(work)

    @property
    def labels(self) -> LabelStore:
        return self.shared.labels

    def placed(self) -> list[Placed]:
        """The coders' reviews against this request's build."""
        from pipeline.review import place_all

        return place_all(self.labels.reviews(), self.index.passages)

    def resolved(self) -> dict[str, Resolved]:
        """Every passage's labels: reviewed where a coder has, the model's otherwise."""
        from pipeline.review import resolve

        return resolve(self.index.passages, self.placed())

    def warm_up(self) -> WarmUp | None:
        return self.shared.warm_up()


async def pinned(request: Request) -> AsyncIterator[Pinned]:
    """The dependency routes take the shared state by: pinned for the request's length."""
    shared: Resources = request.app.state.resources
    view = shared.pin()
    try:
        yield view
    finally:
        view.release()


Shared = Annotated[Pinned, Depends(pinned)]
