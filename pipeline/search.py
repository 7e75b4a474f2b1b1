"""Search: the one query façade over a built index.

`Index` composes a passage store (`pipeline.store`), the retrievers its settings name
(`pipeline.retrievers`), fusion (`pipeline.fusion`), an optional reranker (`pipeline.rerank`)
and the settings recorded in the index manifest (`pipeline.settings`). Everything that reads
an index — answers, the web app, the CLI, exports, evaluation — goes through it.

- Retrieval: each retriever ranks the allowed rows; the rankings are fused by weight.
- References: a question that names a provision ("§ 35", "sotjl § 32 annet ledd") puts the
  statute text that holds it first and lifts the passages that cite it.
- Filters: document kind, theme, year range and legal reference, resolved by the store
  before ranking. A theme filter counts a passage a coder has reviewed under the reviewed
  themes, not the model's, when the caller says where reviews are (`Index.reviewed_themes`).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import NotFoundError, SearchError, UnusableIndexError
from pipeline.fusion import fuse
from pipeline.index import INDEX_FORMAT, current_build, read_manifest
from pipeline.layout import BuildFiles
from pipeline.model import (
    NO_FILTERS,
    STATUTE_KINDS,
    Document,
    Filters,
    Hit,
    Kind,
    LegalRef,
    Passage,
    Source,
)
from pipeline.retrievers import (
    BM25Retriever,
    DocumentFrequencies,
    Ranking,
    Retriever,
    load_retriever,
)
from pipeline.settings import AnswerSettings, SearchSettings, Settings

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping

    import numpy as np

    from pipeline.answer_models import AnswerModels
    from pipeline.embed import Encoder
    from pipeline.rerank import Reranker
    from pipeline.store import PassageStore

DEFAULT_K = 10
MAX_K = 100

__all__ = ["NO_FILTERS", "Filters", "Index", "load_index"]


class Index:
    """A loaded index, ready to search; parts load on first use."""

    def __init__(
        self,
        index_dir: Path | str | None = None,
        *,
        encoder: Encoder | None = None,
        settings: SearchSettings | None = None,
        answer_settings: AnswerSettings | None = None,
        reranker: Reranker | None = None,
    ) -> None:
        from pipeline.paths import default_index
        from pipeline.store.postgres import is_database

        self.location: Path | str = (
            str(index_dir) if is_database(index_dir) else Path(index_dir or default_index())
        )
        self._encoder = encoder
        self._retrievers: dict[str, Retriever] = {}
        self._sentence_memo: dict[str, np.ndarray] = {}
        self._in_force: dict[str, dict[str, str]] = {}
        # Passage id → the themes coders gave it (`pipeline.review.reviewed_themes`); asked
        # anew by every theme-filtered search, since coders review while the index serves.
        self.reviewed_themes: Callable[[], Mapping[str, Collection[str]]] | None = None
        if isinstance(self.location, str):
            self.open_database(self.location)
        else:
            self.open_folder(self.location)
        recorded = Settings.from_dict(self.manifest["settings"])
        self.settings = settings or recorded.search
        self.answer_settings = answer_settings or recorded.answer
        self.reranker = reranker or self.trained_reranker()
        try:
            for name in self.settings.retrievers:  # opened now, so damage shows at once
                self.retriever(name)
        except UnusableIndexError:
            raise
        except Exception as err:  # a partly deleted or foreign folder
            raise UnusableIndexError.damaged(self.location, err) from err

    def open_folder(self, index_dir: Path) -> None:
        """The build a folder's ``current`` names: its files and its SQLite store."""
        from pipeline.store import open_store

        build = current_build(index_dir)  # once: a rebuild may switch `current` meanwhile
        self.manifest = read_manifest(index_dir, build)
        self.files: BuildFiles | None = BuildFiles.of(build)
        try:
            self.store: PassageStore = open_store(str(self.files.store))
        except Exception as err:
            raise UnusableIndexError.damaged(index_dir, err) from err

        def folder_retriever(name: str, encoder: Callable[[], Encoder]) -> Retriever:
            assert self.files is not None
            return load_retriever(name, self.files, encoder)

        self._load_retriever = folder_retriever

    def open_database(self, url: str) -> None:
        """The build that is current in a PostgreSQL store, pinned while this index lives."""
        from pipeline.store.postgres import PostgresStore

        store = PostgresStore(url)
        if store.manifest.get("settings", {}).get("format") != INDEX_FORMAT:
            store.close()
            raise UnusableIndexError.outdated(url)
        self.manifest = store.manifest
        self.files = None
        self.store = store
        self._load_retriever = store.retriever

    # What the index holds ----------------------------------------------------------------

    @cached_property
    def passages(self) -> list[Passage]:
        """Every passage in row order (the order of the vectors)."""
        return self.store.passages()

    @cached_property
    def documents(self) -> dict[str, Document]:
        return self.store.documents()

    def row_of(self, passage_id: str) -> int | None:
        return self.store.row_of(passage_id)

    def passage(self, passage_id: str) -> Passage:
        row = self.store.row_of(passage_id)
        if row is None:
            raise NotFoundError(f"no passage with id '{passage_id}'.")
        return self.store.passage(row)

    def document(self, doc_id: str) -> Document:
        document = self.store.document(doc_id)
        if document is None:
            raise NotFoundError(f"no document with id '{doc_id}'; GET /api/documents lists them.")
        return document

    def document_of(self, passage: Passage) -> Document:
        return self.documents[passage.doc_id]

    def source_of(self, passage: Passage) -> Source:
        return self.documents[passage.doc_id].source

    def provision(self, ref: LegalRef) -> list[Passage]:
        return self.store.provision(ref)

    def citing(self, ref: LegalRef) -> list[Passage]:
        return self.store.citing(ref)

    # Models ------------------------------------------------------------------------------

    @property
    def encoder(self) -> Encoder:
        from pipeline.embed import RememberedQueries, encoder_spec, load_encoder

        if self._encoder is None:
            # Search and the answer built on it ask for the same question's vector.
            self._encoder = RememberedQueries(load_encoder(encoder_spec(self.manifest["encoder"])))
        if self._encoder.name != self.manifest["encoder"]:
            raise UnusableIndexError.other_encoder(self.manifest["encoder"], self._encoder.name)
        return self._encoder

    def sentence_vectors(self, texts: list[str]) -> np.ndarray:
        """The encoder's vectors of answer sentences, remembered for this process and cached
        on disk: the same passages answer many questions."""
        import numpy as np

        encoder = self.encoder
        memo = self._sentence_memo
        missing = list(dict.fromkeys(t for t in texts if t not in memo))
        if missing:
            memo.update(zip(missing, cached_vectors(encoder, missing), strict=True))
        if not texts:
            return np.zeros((0, encoder.dim), dtype=np.float32)
        return np.vstack([memo[t] for t in texts])

    @cached_property
    def answer_models(self) -> AnswerModels:
        """The question, sentence relevance and abstention models (`kvp train-answers`)."""
        from pipeline.answer_models import AnswerModels

        return AnswerModels.load()

    @cached_property
    def statutes(self) -> list[Passage]:
        """Every passage of the acts and regulations in the index."""
        return [
            passage
            for doc_id, document in self.documents.items()
            if document.source.kind in STATUTE_KINDS
            for passage in self.store.passages_of_document(doc_id)
        ]

    def in_force(self, passage: Passage) -> str | None:
        """The date the latest amendment of a statute passage's § came into force, if noted."""
        from pipeline.legal import provision_of
        from pipeline.statutes import in_force_dates

        held = provision_of(passage)
        if held is None:
            return None
        if passage.doc_id not in self._in_force:
            self._in_force[passage.doc_id] = in_force_dates(self.document(passage.doc_id))
        return self._in_force[passage.doc_id].get(held[0])

    def retriever(self, name: str) -> Retriever:
        if name not in self._retrievers:
            self._retrievers[name] = self._load_retriever(name, lambda: self.encoder)
        return self._retrievers[name]

    def trained_reranker(self) -> Reranker | None:
        """The reranker the settings ask for (see `SearchSettings.reranker`)."""
        from pipeline.errors import RerankerError
        from pipeline.rerank import FeatureReranker, reranker_dir

        choice = self.settings.reranker
        if choice == "none" or (choice == "auto" and not reranker_dir().is_dir()):
            return None
        try:
            reranker = FeatureReranker.load(self)
        except RerankerError:
            if choice == "auto":
                return None
            raise
        if choice == "auto" and reranker.meta.get("encoder") != self.manifest["encoder"]:
            return None  # trained on another encoder's scores: they would mislead it
        return reranker

    def document_frequency(self, token: str) -> int:
        """In how many passages a normalised token occurs (from the BM25 index)."""
        bm25 = self.retriever(BM25Retriever.name)
        assert isinstance(bm25, DocumentFrequencies)
        return bm25.document_frequency(token)

    # Searching ---------------------------------------------------------------------------

    def search(self, query: str, *, k: int = DEFAULT_K, filters: Filters = NO_FILTERS) -> list[Hit]:
        """The k best passages for a question, best first."""
        text = check_query(query, self.settings.max_query_chars)
        if not 1 <= k <= MAX_K:
            raise SearchError(f"k must be between 1 and {MAX_K}, not {k}.")
        allowed = self.allowed_rows(check_filters(filters))
        if allowed is not None and not allowed:
            return []
        rankings = self.rankings(text, allowed)
        fused = fuse([(rankings[name], w) for name, w in self.settings.weighted], self.settings)
        fused, via_reference = self.reference_path(text, fused, allowed)
        depth = max(k, self.reranker.depth if self.reranker else 0)
        chosen = list(fused.items())[:depth]
        # One read for all candidates: a store on a server answers it in one round trip.
        found = self.store.passages(row for row, _ in chosen)
        hits = [
            Hit(
                passage,
                round(score, 6),
                tuple((name, ranking[row]) for name, ranking in rankings.items() if row in ranking),
                rank,
                row in via_reference,
            )
            for rank, ((row, score), passage) in enumerate(zip(chosen, found, strict=True), 1)
        ]
        return self.rerank(text, hits)[:k]

    def allowed_rows(self, filters: Filters) -> set[int] | None:
        """The rows the filters allow (None: all). Under a theme filter a reviewed passage
        counts under the themes its coders gave it, whatever the model said."""
        allowed = self.store.filter_rows(filters)
        reviewed = self.reviewed_themes() if filters.theme and self.reviewed_themes else {}
        if not reviewed:
            return allowed
        others = self.store.filter_rows(replace(filters, theme=None))  # the other filters
        rows = set(allowed or ())
        for passage_id, themes in reviewed.items():
            row = self.store.row_of(passage_id)
            if row is None:
                continue
            if filters.theme in themes and (others is None or row in others):
                rows.add(row)
            else:
                rows.discard(row)
        return rows

    def rankings(self, text: str, allowed: set[int] | None = None) -> dict[str, Ranking]:
        """Each retriever's own ranking of the allowed rows."""
        n = self.settings.candidates
        names = self.settings.retrievers
        return {name: self.retriever(name).rank(text, allowed, n) for name in names}

    def reference_path(
        self, text: str, fused: Ranking, allowed: set[int] | None
    ) -> tuple[Ranking, set[int]]:
        """Put the statute text of a named § first and lift the passages that cite it."""
        via_reference: set[int] = set()
        refs = question_refs(text)
        if not refs:
            return fused, via_reference
        top = max(fused.values(), default=1.0)
        boosted = dict(fused)
        for ref in refs:
            holding = self.store.provision(ref)
            citing = [p for p in self.store.citing(ref) if p not in holding]
            for n, passage in enumerate(holding):
                row = self.store.row_of(passage.passage_id)
                if row is not None and (allowed is None or row in allowed):
                    boosted[row] = 2 * top + 1 - n * 1e-3
                    via_reference.add(row)
            for passage in citing:
                row = self.store.row_of(passage.passage_id)
                if row is not None and (allowed is None or row in allowed):
                    boosted[row] = boosted.get(row, 0.0) + self.settings.citing_bonus * top
                    via_reference.add(row)
        return dict(sorted(boosted.items(), key=lambda item: -item[1])), via_reference

    def rerank(self, text: str, hits: list[Hit]) -> list[Hit]:
        """The reranker's order for its top candidates; the § path keeps its place."""
        if self.reranker is None or not hits:
            return hits
        depth = self.reranker.depth
        head = [h for h in hits[:depth] if not h.via_reference]
        fixed = [h for h in hits[:depth] if h.via_reference]
        scored = sorted(
            zip(self.reranker.rerank(text, head), head, strict=True), key=lambda pair: -pair[0]
        )
        together = [*fixed, *(replace(h, score=round(s, 6)) for s, h in scored), *hits[depth:]]
        return [replace(h, rank=rank) for rank, h in enumerate(together, start=1)]


def cached_vectors(encoder: Encoder, texts: list[str]) -> np.ndarray:
    """Vectors through the on-disk embedding cache (one connection per call, so web
    threads can share it); sentences embedded once are never embedded again."""
    from pipeline.embed import EmbeddingCache

    cache = EmbeddingCache()
    try:
        return cache.encode_passages(encoder, texts)
    finally:
        cache.close()


def check_query(query: str, max_chars: int = SearchSettings().max_query_chars) -> str:
    text = " ".join(query.split())
    if not text:
        raise SearchError("the question is empty; type what you want to find.")
    if not any(ch.isalnum() for ch in text):
        raise SearchError(f"the question '{text[:40]}' has no words or numbers to search for.")
    return text[:max_chars]


def check_filters(filters: Filters) -> Filters:
    """The filters, once every kind, theme and reference in them is valid."""
    from pipeline.legal import parse_ref
    from pipeline.themes import check_theme

    for kind in filters.kinds:
        check_kind(kind)
    if filters.theme:
        check_theme(filters.theme)
    if filters.ref:
        parse_ref(filters.ref)
    return filters


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


def load_index(index_dir: Path | str | None = None) -> Index:
    """Open an index (a folder, or a PostgreSQL URL); a missing, damaged or outdated one
    gives a message naming the fix."""
    return Index(index_dir)
