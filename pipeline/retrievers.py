"""Retrievers: each ranks the passages of one build for a query, by its own kind of evidence.

A retriever is written by `build` from the build's passages (and vectors) into the build
folder, opened again by `load`, and answers `rank(query, allowed, n)` with the best ``n`` rows
(row → score, best first) among the ``allowed`` ones (all for None). Search fuses the
rankings of the retrievers its settings name (`pipeline.fusion`). Implementations:

- ``bm25``: BM25 (bm25s) over stemmed tokens with compound parts and the shared abbreviation
  and lay-to-legal tables, so "stønad" finds "kvalifiseringsstønaden" and "AAP" finds
  "arbeidsavklaringspenger".
- ``dense``: the index's encoder (multilingual-e5 by default), exact inner product in faiss.
- ``charngram``: TF-IDF over character 3–5-grams within words (scikit-learn): robust to
  compounds, inflection and the hyphenation damage of extracted PDFs.

To add one: a class with ``name``, ``build``, ``load`` and ``rank``, registered in
`RETRIEVERS`, and its file name in `pipeline.layout.BuildFiles`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from pipeline.layout import BuildFiles

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder
    from pipeline.model import Passage

Ranking = dict[int, float]  # row → score, best first


class Retriever(Protocol):
    name: ClassVar[str]

    def rank(self, query: str, allowed: set[int] | None, n: int) -> Ranking: ...


@runtime_checkable
class DocumentFrequencies(Protocol):
    """A lexical retriever that knows its corpus statistics (the BM25 ones do)."""

    def document_frequency(self, token: str) -> int: ...


def tie_ordered(found: Iterable[tuple[int, float]]) -> Ranking:
    """A ranking with equal scores (to 6 digits) in row order: two backends that compute the
    same scores, in float32 or float64, then rank alike (the sample corpus holds passages of
    identical text, whose every score is equal)."""
    return dict(sorted(found, key=lambda item: (-round(item[1], 6), item[0])))


def top_rows(scores: np.ndarray, allowed: set[int] | None, n: int) -> Ranking:
    """The n best rows with a positive score, among the allowed ones; ties in row order."""
    import numpy as np

    if allowed is not None:
        mask = np.zeros(len(scores), dtype=bool)
        mask[list(allowed)] = True
        scores = np.where(mask, scores, 0.0)
    top = np.argsort(-scores, kind="stable")[:n]
    return {int(r): float(scores[r]) for r in top if scores[r] > 0}


class BM25Retriever:
    name: ClassVar[str] = "bm25"

    def __init__(self, bm25: Any) -> None:
        self.bm25 = bm25
        self._frequencies: dict[str, int] | None = None

    @staticmethod
    def build(passages: Sequence[Passage], files: BuildFiles) -> None:
        import bm25s

        from pipeline.language import normalize_tokens

        bm25 = bm25s.BM25()
        bm25.index([normalize_tokens(p.text) or [""] for p in passages], show_progress=False)
        bm25.save(str(files.bm25), show_progress=False)

    @classmethod
    def load(cls, files: BuildFiles) -> BM25Retriever:
        import bm25s

        return cls(bm25s.BM25.load(str(files.bm25), show_progress=False))

    def rank(self, query: str, allowed: set[int] | None, n: int) -> Ranking:
        from pipeline.language import normalize_tokens

        vocabulary = self.bm25.vocab_dict
        tokens = [t for t in normalize_tokens(query) if t in vocabulary]
        if not tokens:
            return {}
        return top_rows(self.bm25.get_scores(tokens), allowed, n)

    def document_frequency(self, token: str) -> int:
        """In how many passages a (normalised) token occurs; 0 when the corpus never has it."""
        if self._frequencies is None:
            import numpy as np

            starts = np.asarray(self.bm25.scores["indptr"])
            self._frequencies = {
                tok: int(starts[i + 1] - starts[i])
                for tok, i in self.bm25.vocab_dict.items()
                if i + 1 < len(starts)
            }
        return self._frequencies.get(token, 0)


class DenseRetriever:
    name: ClassVar[str] = "dense"

    def __init__(self, vectors: Any, encoder: Callable[[], Encoder]) -> None:
        self.vectors = vectors
        self._encoder = encoder  # resolved on first use: loading a model costs a second

    @staticmethod
    def build(vectors: np.ndarray, dim: int, files: BuildFiles) -> None:
        import faiss

        index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(vectors)
        faiss.write_index(index, str(files.vectors))

    @classmethod
    def load(cls, files: BuildFiles, encoder: Callable[[], Encoder]) -> DenseRetriever:
        import faiss

        return cls(faiss.read_index(str(files.vectors)), encoder)

    def rank(self, query: str, allowed: set[int] | None, n: int) -> Ranking:
        """Cosine similarity of the top candidates."""
        import faiss
        import numpy as np

        vector = np.ascontiguousarray(self._encoder().encode_queries([query]), dtype=np.float32)
        n = min(n, self.vectors.ntotal)
        if n == 0:
            return {}
        params = None
        if allowed is not None:
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBatch(np.fromiter(allowed, dtype=np.int64))
        scores, rows = self.vectors.search(vector, n, params=params)
        return tie_ordered(
            (int(r), float(s)) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0
        )


class CharNgramRetriever:
    """Hashed n-grams, so the index stores numbers only: a pickled n-gram vocabulary of the
    sample corpus took 2 s to load, the arrays take milliseconds."""

    name: ClassVar[str] = "charngram"
    FEATURES: ClassVar[int] = 2**20  # collisions among ~10^5 distinct n-grams are negligible

    def __init__(self, matrix: Any, idf: np.ndarray) -> None:
        self.matrix = matrix  # passages × hashed n-grams, TF-IDF rows L2-normalised
        self.idf = idf

    @classmethod
    def hashing(cls) -> Any:
        from sklearn.feature_extraction.text import HashingVectorizer

        return HashingVectorizer(
            analyzer="char_wb", ngram_range=(3, 5), n_features=cls.FEATURES,
            alternate_sign=False, norm=None, lowercase=True,
        )  # fmt: skip

    @classmethod
    def weigh(cls, counts: Any, idf: np.ndarray) -> Any:
        """Sublinear term frequency × idf, each row L2-normalised."""
        import numpy as np
        from sklearn.preprocessing import normalize

        weighted = counts.astype(np.float32)
        weighted.data = 1.0 + np.log(weighted.data)
        weighted = weighted.multiply(idf).tocsr()
        return normalize(weighted)

    @classmethod
    def build(cls, passages: Sequence[Passage], files: BuildFiles) -> None:
        import numpy as np
        from scipy import sparse

        counts = cls.hashing().transform([p.text for p in passages] or [""])
        frequency = np.bincount(counts.indices, minlength=cls.FEATURES)
        idf = (np.log((1 + counts.shape[0]) / (1 + frequency)) + 1.0).astype(np.float32)
        matrix = cls.weigh(counts, idf)
        sparse.save_npz(files.charngram, matrix.astype(np.float32))
        np.save(files.charngram_idf, idf)

    @classmethod
    def load(cls, files: BuildFiles) -> CharNgramRetriever:
        import numpy as np
        from scipy import sparse

        return cls(sparse.load_npz(files.charngram), np.load(files.charngram_idf))

    def rank(self, query: str, allowed: set[int] | None, n: int) -> Ranking:
        import numpy as np

        vector = self.weigh(self.hashing().transform([query]), self.idf)
        scores = np.asarray((self.matrix @ vector.T).todense()).ravel()
        return top_rows(scores, allowed, n)


RETRIEVERS: dict[str, type[BM25Retriever] | type[DenseRetriever] | type[CharNgramRetriever]] = {
    cls.name: cls for cls in (BM25Retriever, DenseRetriever, CharNgramRetriever)
}


def build_retrievers(
    passages: Sequence[Passage], vectors: np.ndarray, dim: int, files: BuildFiles
) -> None:
    """Write every retriever's files, so settings can switch retrievers without a rebuild."""
    BM25Retriever.build(passages, files)
    DenseRetriever.build(vectors, dim, files)
    CharNgramRetriever.build(passages, files)


def load_retriever(name: str, files: BuildFiles, encoder: Callable[[], Encoder]) -> Retriever:
    if name == DenseRetriever.name:
        return DenseRetriever.load(files, encoder)
    if name == BM25Retriever.name:
        return BM25Retriever.load(files)
    return CharNgramRetriever.load(files)
