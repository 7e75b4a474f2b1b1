"""Hybrid retrieval over a built index: BM25 and dense vectors, fused, with a § path.

- Lexical: BM25 (bm25s) over stemmed tokens with compound parts and the shared abbreviation
  table, so "stønad" finds "kvalifiseringsstønaden" and "AAP" finds
  "arbeidsavklaringspenger".
- Dense: the index's encoder (multilingual-e5 by default), exact inner product in faiss.
- Fusion: weighted reciprocal-rank fusion of the two rankings; the weights were chosen on
  the dev half of the evaluation set (`kvp eval retrieval`), never on its test half.
- References: a question that names a provision ("§ 35", "sotjl § 32 annet ledd") puts the
  statute text that holds it first and lifts the passages that cite it.
- Filters: document kind, theme, year range and legal reference, applied before ranking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError
from pipeline.index import DEFAULT_INDEX, IndexError_, current_build, read_manifest
from pipeline.model import Document, Hit, Kind, LegalRef, Passage

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder

DEFAULT_K = 10
MAX_K = 100
CANDIDATES = 100  # taken from each ranking before fusion
RRF_K = 60  # the usual reciprocal-rank constant: dampens the head of each ranking
DENSE_WEIGHT = 1.0
LEXICAL_WEIGHT = 1.0
CITING_BONUS = 0.5  # share of the top score added to passages citing a § the question names
MAX_QUERY_CHARS = 2000  # the encoder reads ~512 tokens; a longer question is cut here
THEME_THRESHOLD = 0.5


class SearchError(PipelineError):
    """A question or filter that cannot be searched; the message says what to change."""


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on what may be returned; empty means no restriction."""

    kinds: tuple[str, ...] = ()
    theme: str | None = None
    years: tuple[int, int] | None = None
    ref: str | None = None


NO_FILTERS = Filters()


class Index:
    """A loaded index: passages, documents, vectors and BM25, ready to search."""

    def __init__(self, index_dir: Path | str = DEFAULT_INDEX, *, encoder: Encoder | None = None):
        import bm25s
        import faiss

        from pipeline.store import Store

        self.index_dir = Path(index_dir)
        self.manifest = read_manifest(self.index_dir)
        build = current_build(self.index_dir)
        try:
            self.store = Store(build / "store.sqlite")
            self.passages: list[Passage] = self.store.passages()
            self.documents: dict[str, Document] = {d.doc_id: d for d in self.store.documents()}
            self.vectors = faiss.read_index(str(build / "vectors.faiss"))
            self.bm25 = bm25s.BM25.load(str(build / "bm25"), show_progress=False)
        except Exception as err:  # a partly deleted or foreign folder
            raise IndexError_(
                f"the index at {self.index_dir} is damaged ({type(err).__name__}: {err}); "
                "run `kvp build` to rebuild it."
            ) from err
        self.row_of = {p.passage_id: row for row, p in enumerate(self.passages)}
        self._encoder = encoder
        self._frequencies: dict[str, int] | None = None

    @property
    def encoder(self) -> Encoder:
        from pipeline.embed import encoder_spec, load_encoder

        if self._encoder is None:
            self._encoder = load_encoder(encoder_spec(self.manifest["encoder"]))
        if self._encoder.name != self.manifest["encoder"]:
            raise IndexError_(
                f"the index was built with encoder '{self.manifest['encoder']}', but "
                f"'{self._encoder.name}' is loaded; rebuild with `kvp build` or use that encoder."
            )
        return self._encoder

    def document_of(self, passage: Passage) -> Document:
        return self.documents[passage.doc_id]

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

    def search(self, query: str, *, k: int = DEFAULT_K, filters: Filters = NO_FILTERS) -> list[Hit]:
        """The k best passages for a question, best first."""
        text = check_query(query)
        if not 1 <= k <= MAX_K:
            raise SearchError(f"k must be between 1 and {MAX_K}, not {k}.")
        allowed = self.allowed_rows(filters)
        if allowed is not None and not allowed:
            return []
        dense = self.dense_ranking(text, allowed)
        lexical = self.lexical_ranking(text, allowed)
        fused, via_reference = self.reference_path(text, fuse(dense, lexical), allowed)
        ranked = sorted(fused.items(), key=lambda item: -item[1])[:k]
        return [
            Hit(
                self.passages[row],
                round(score, 6),
                round(lexical.get(row, 0.0), 4),
                round(dense.get(row, 0.0), 4),
                rank,
                row in via_reference,
            )
            for rank, (row, score) in enumerate(ranked, start=1)
        ]

    # Rankings --------------------------------------------------------------------------

    def dense_ranking(self, text: str, allowed: set[int] | None) -> dict[int, float]:
        """Cosine similarity of the top candidates (row → similarity), best first."""
        import faiss
        import numpy as np

        query = np.ascontiguousarray(self.encoder.encode_queries([text]), dtype=np.float32)
        n = min(CANDIDATES, self.vectors.ntotal)
        if n == 0:
            return {}
        params = None
        if allowed is not None:
            params = faiss.SearchParameters()
            params.sel = faiss.IDSelectorBatch(np.fromiter(allowed, dtype=np.int64))
        scores, rows = self.vectors.search(query, n, params=params)
        return {int(r): float(s) for r, s in zip(rows[0], scores[0], strict=True) if r >= 0}

    def lexical_ranking(self, text: str, allowed: set[int] | None) -> dict[int, float]:
        """BM25 scores of the top candidates (row → score), best first."""
        import numpy as np

        from pipeline.language import normalize_tokens

        vocabulary = self.bm25.vocab_dict
        tokens = [t for t in normalize_tokens(text) if t in vocabulary]
        if not tokens or not self.passages:
            return {}
        scores: np.ndarray = self.bm25.get_scores(tokens)
        if allowed is not None:
            mask = np.zeros(len(scores), dtype=bool)
            mask[list(allowed)] = True
            scores = np.where(mask, scores, 0.0)
        top = np.argsort(-scores)[:CANDIDATES]
        return {int(r): float(scores[r]) for r in top if scores[r] > 0}

    def reference_path(
        self, text: str, fused: dict[int, float], allowed: set[int] | None
    ) -> tuple[dict[int, float], set[int]]:
        """Put the statute text of a named § first and lift the passages that cite it."""
        from pipeline.legal import find_citing, statute_passages

        via_reference: set[int] = set()
        refs = question_refs(text)
        if not refs:
            return fused, via_reference
        top = max(fused.values(), default=1.0)
        boosted = dict(fused)
        for ref in refs:
            holding = statute_passages(self.passages, ref)
            citing = [p for p in find_citing(self.passages, ref) if p not in holding]
            for n, passage in enumerate(holding):
                row = self.row_of[passage.passage_id]
                if allowed is None or row in allowed:
                    boosted[row] = 2 * top + 1 - n * 1e-3
                    via_reference.add(row)
            for passage in citing:
                row = self.row_of[passage.passage_id]
                if allowed is None or row in allowed:
                    boosted[row] = boosted.get(row, 0.0) + CITING_BONUS * top
                    via_reference.add(row)
        return boosted, via_reference

    # Filters ---------------------------------------------------------------------------

    def allowed_rows(self, filters: Filters) -> set[int] | None:
        """Rows that pass every filter, or None when there are no filters."""
        if filters == NO_FILTERS:
            return None
        from pipeline.legal import find_citing, parse_ref
        from pipeline.themes import check_theme

        checks: list[Callable[[Passage], bool]] = []
        if filters.kinds:
            kinds = {check_kind(kind) for kind in filters.kinds}
            checks.append(lambda p: self.document_of(p).source.kind.value in kinds)
        if filters.theme:
            theme = check_theme(filters.theme)
            checks.append(lambda p: dict(p.themes).get(theme, 0.0) >= THEME_THRESHOLD)
        if filters.years:
            low, high = filters.years
            checks.append(lambda p: low <= (self.document_of(p).source.year or -1) <= high)
        if filters.ref:
            wanted = {p.passage_id for p in find_citing(self.passages, parse_ref(filters.ref))}
            checks.append(lambda p: p.passage_id in wanted)
        return {row for row, p in enumerate(self.passages) if all(check(p) for check in checks)}


def check_query(query: str) -> str:
    text = " ".join(query.split())
    if not text:
        raise SearchError("the question is empty; type what you want to find.")
    if not any(ch.isalnum() for ch in text):
        raise SearchError(f"the question '{text[:40]}' has no words or numbers to search for.")
    return text[:MAX_QUERY_CHARS]


def check_kind(kind: str) -> str:
    valid = [k.value for k in Kind]
    if kind not in valid:
        raise SearchError(f"unknown document kind '{kind}'; valid kinds are {', '.join(valid)}.")
    return kind


def question_refs(text: str) -> list[LegalRef]:
    """Provisions a question names; a bare "§ 35" is read as sosialtjenesteloven's."""
    from pipeline.legal import find_refs

    if "§" not in text and "paragraf" not in text.lower():
        return []
    return [r for r in find_refs(text, default_act="sotjl") if r.section]


def fuse(dense: dict[int, float], lexical: dict[int, float]) -> dict[int, float]:
    """Weighted reciprocal-rank fusion of two rankings (each given best first)."""
    fused: dict[int, float] = {}
    for weight, ranking in ((DENSE_WEIGHT, dense), (LEXICAL_WEIGHT, lexical)):
        for rank, row in enumerate(ranking, start=1):
            fused[row] = fused.get(row, 0.0) + weight / (RRF_K + rank)
    return fused


def hit_json(hit: Hit, index: Index) -> dict[str, Any]:
    """A hit as the JSON the CLI and the API print."""
    passage = hit.passage
    source = index.document_of(passage).source
    return {
        "passage_id": passage.passage_id,
        "doc_id": passage.doc_id,
        "title": source.title,
        "kind": source.kind.value,
        "year": source.year,
        "section": " › ".join(passage.section),
        "locator": passage.locator,
        "page": passage.page_start,
        "score": hit.score,
        "lexical": hit.lexical,
        "dense": hit.dense,
        "legal_refs": [r.key for r in passage.legal_refs],
        "themes": dict(passage.themes),
        "text": passage.text,
    }


def load_index(index_dir: Path | str = DEFAULT_INDEX) -> Index:
    """Open an index; a missing, damaged or outdated one gives a message naming the fix."""
    return Index(index_dir)
