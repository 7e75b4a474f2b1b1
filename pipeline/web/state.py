"""What the app loads once and shares between requests: the index, the encoder, the theme model.

Loading is lazy (on the first request that needs it) and guarded by a lock, so concurrent
first requests load once. After that everything is read-only, with two exceptions that are
made safe elsewhere or here:

- The encoder, shared by request threads: see `pipeline.web.encoding`.
- The theme classifier's embedding cache is a SQLite connection, which belongs to the thread
  that opened it; all classifier work runs on one dedicated thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pipeline.embed import encoder_spec
from pipeline.model import Document, LegalRef, Passage
from pipeline.web.encoding import SharedEncoder, WarmUp
from pipeline.web.errors import WebNotFoundError

if TYPE_CHECKING:
    from pipeline.embed import Encoder
    from pipeline.search import Index
    from pipeline.themes import ThemeClassifier

T = TypeVar("T")


@dataclass
class Loaded:
    """The index and what the pages derive from it once."""

    index: Index
    by_doc: dict[str, list[Passage]] = field(default_factory=dict)  # in text order
    kinds: list[str] = field(default_factory=list)  # document kinds present
    years: list[int] = field(default_factory=list)  # publication years present

    @classmethod
    def of(cls, index: Index) -> Loaded:
        by_doc = {doc_id: index.store.passages_of_document(doc_id) for doc_id in index.documents}
        sources = [d.source for d in index.documents.values()]
        kinds = sorted({s.kind.value for s in sources})
        years = sorted({s.year for s in sources if s.year is not None})
        return cls(index, by_doc, kinds, years)


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
    """The app's shared state, loaded on first use."""

    def __init__(
        self, index_dir: Path, *, cache_vectors: bool = True, encoder: Encoder | None = None
    ) -> None:
        self.index_dir = Path(index_dir)
        self._given_encoder = encoder  # used instead of the index's own (tests)
        self._cache_vectors = cache_vectors
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._encoders: dict[str, SharedEncoder] = {}
        self._classifier: ThemeClassifier | None = None
        self._themes_thread = ThreadPoolExecutor(1, thread_name_prefix="kvp-themes")

    def encoder(self, name: str) -> SharedEncoder:
        spec = encoder_spec(name)
        with self._lock:
            if spec not in self._encoders:
                self._encoders[spec] = SharedEncoder(spec, cache=self._cache_vectors)
            return self._encoders[spec]

    @property
    def loaded(self) -> Loaded:
        """The index (a missing one raises UnusableIndexError, which the app turns into 503)."""
        if self._loaded is None:
            from pipeline.index import read_manifest
            from pipeline.search import Index

            name = read_manifest(self.index_dir)["encoder"]
            encoder = self._given_encoder or self.encoder(name)
            with self._lock:
                if self._loaded is None:
                    index = Index(self.index_dir, encoder=encoder)
                    self._loaded = Loaded.of(index)
        return self._loaded

    @property
    def index(self) -> Index:
        return self.loaded.index

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
