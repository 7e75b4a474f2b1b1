"""Verifying an index: its files are there, their counts agree, its vectors belong to its passages.

`check_build` is what `kvp build` runs before it calls an index up to date (a damaged build
is rebuilt, not trusted) and what `kvp check` reports. The vector check compares each
passage's stored vector with the one the embedding cache holds for its text, which costs
no model; ``reembed`` also encodes a spread sample of passages again, for an index whose
cache is gone or was built elsewhere.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.layout import BuildFiles

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder

MIN_COSINE = 0.99  # cosine: the 4-bit encoder reproduces its own vectors to ~0.999


@dataclass(frozen=True, slots=True)
class IndexCheck:
    """What `check_index` found: the build, its counts, and every problem in words."""

    index_dir: Path
    build: Path | None
    counts: dict[str, int] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    vectors_checked: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def check_index(
    index_dir: Path, *, reembed: int = 0, encoder: Encoder | None = None
) -> IndexCheck:
    """Verify the build `current` points at; every problem found is listed, none raised."""
    from pipeline.errors import PipelineError
    from pipeline.index import current_build, read_manifest

    try:
        build = current_build(index_dir)
        manifest = read_manifest(index_dir, build)  # the same build, should a rebuild switch
    except PipelineError as err:
        return IndexCheck(index_dir, None, problems=(str(err),))
    counts: dict[str, int] = {}
    problems = check_build(build, manifest, counts)
    checked = 0
    if not problems:
        vectors = stored_vectors(BuildFiles.of(build))
        texts = passage_texts(BuildFiles.of(build).store)
        cached, mismatched = compare_with_cache(manifest["encoder"], texts, vectors)
        checked += cached
        problems += mismatched
        if reembed:
            problems += compare_reembedded(manifest["encoder"], texts, vectors, reembed, encoder)
            checked += min(reembed, len(texts))
    return IndexCheck(index_dir, build, counts, tuple(problems), checked)


def check_build(
    build: Path, manifest: dict[str, Any], counts: dict[str, int] | None = None
) -> list[str]:
    """Problems of one build: missing files, unreadable parts, counts that disagree."""
    files = BuildFiles.of(build)
    counts = {} if counts is None else counts
    missing = [p.name for p in files[2:] if not p.exists()]
    if missing:
        return [f"{build}: missing {', '.join(missing)}"]
    readers: tuple[tuple[str, Callable[[], dict[str, int]]], ...] = (
        ("store", lambda: store_counts(files.store, manifest)),
        ("vectors", lambda: vector_counts(files)),
        ("bm25", lambda: {"bm25": bm25_count(files.bm25)}),
        ("charngram", lambda: charngram_counts(files)),
    )
    problems: list[str] = []
    for part, read in readers:
        try:
            counts.update(read())
        except Exception as err:  # any library's way of failing on a damaged file
            problems.append(f"{part}: unreadable ({type(err).__name__}: {err})")
    passages = manifest["passages"]
    expected = {
        "documents": len(manifest.get("documents", {})),
        "passages": passages,
        "vectors": passages,
        "bm25": passages,
        "charngram": passages,
        "dim": manifest["dim"],
        "idf": counts.get("charngram_features"),
    }
    for name, want in expected.items():
        if name in counts and counts[name] != want:
            problems.append(f"{name}: {counts[name]}, the manifest says {want}")
    if counts.pop("integrity", 1) != 1:
        problems.append("store: SQLite's integrity check failed")
    if counts.pop("same_documents", 1) != 1:
        problems.append("store: its documents or their content hashes differ from the manifest")
    return problems


def store_counts(path: Path, manifest: dict[str, Any]) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        integrity = db.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        documents = dict(db.execute("SELECT doc_id, content_hash FROM documents").fetchall())
        passages = db.execute("SELECT count(*) FROM passages").fetchone()[0]
    finally:
        db.close()
    return {
        "documents": len(documents),
        "passages": passages,
        "integrity": int(integrity),
        "same_documents": int(documents == manifest.get("documents", {})),
    }


def vector_counts(files: BuildFiles) -> dict[str, int]:
    import faiss

    index = faiss.read_index(str(files.vectors))
    return {"vectors": int(index.ntotal), "dim": int(index.d)}


def bm25_count(folder: Path) -> int:
    params = json.loads((folder / "params.index.json").read_text(encoding="utf-8"))
    import numpy as np

    indptr = np.load(folder / "indptr.csc.index.npy")
    if len(indptr) < 1 or int(indptr[-1]) != len(np.load(folder / "data.csc.index.npy")):
        raise ValueError("its score matrix is truncated")
    return int(params["num_docs"])


def charngram_counts(files: BuildFiles) -> dict[str, int]:
    import numpy as np
    from scipy import sparse

    matrix = sparse.load_npz(files.charngram)
    idf = np.load(files.charngram_idf)
    return {
        "charngram": int(matrix.shape[0]),
        "charngram_features": int(matrix.shape[1]),
        "idf": int(idf.shape[0]),
    }


def stored_vectors(files: BuildFiles) -> np.ndarray:
    import faiss

    index = faiss.read_index(str(files.vectors))
    vectors: np.ndarray = index.reconstruct_n(0, index.ntotal)
    return vectors


def passage_texts(store: Path) -> list[str]:
    from pipeline.store import SQLiteStore

    opened = SQLiteStore(store)
    try:
        return [p.text for p in opened.passages()]
    finally:
        opened.close()


def compare_with_cache(
    encoder_name: str, texts: list[str], vectors: np.ndarray
) -> tuple[int, list[str]]:
    """How many passages the cache could vouch for, and the ones whose vector differs."""
    import numpy as np

    from pipeline.embed import EmbeddingCache
    from pipeline.paths import embedding_cache

    if not embedding_cache().is_file():
        return 0, []
    cache = EmbeddingCache()
    try:
        keys = [EmbeddingCache.key(encoder_name, t) for t in texts]
        found = cache.lookup(keys)
    finally:
        cache.close()
    wrong = [
        row
        for row, key in enumerate(keys)
        if key in found and cosine(np.frombuffer(found[key], np.float32), vectors[row]) < MIN_COSINE
    ]
    return sum(k in found for k in keys), [mismatch(wrong, len(texts))] if wrong else []


def compare_reembedded(
    encoder_name: str, texts: list[str], vectors: np.ndarray, n: int, encoder: Encoder | None
) -> list[str]:
    from pipeline.embed import load_encoder

    encoder = encoder or load_encoder(encoder_name)
    rows = sorted({round(i * (len(texts) - 1) / max(n - 1, 1)) for i in range(min(n, len(texts)))})
    fresh = encoder.encode_passages([texts[r] for r in rows])
    wrong = [r for r, v in zip(rows, fresh, strict=True) if cosine(v, vectors[r]) < MIN_COSINE]
    return [mismatch(wrong, len(texts))] if wrong else []


def mismatch(rows: list[int], total: int) -> str:
    shown = ", ".join(str(r) for r in rows[:5]) + (" …" if len(rows) > 5 else "")
    return (
        f"vectors: {len(rows)} of {total} passages have a vector that is not their text's "
        f"(rows {shown}); run `kvp build` to rebuild the index"
    )


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    scale = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / scale if scale else 0.0

