"""The shared passage store: PostgreSQL with pgvector, for many readers and weekly updates.

The same `PassageStore` as SQLite, and the same three retrievers, in one database:

- ``dense``: the passage vectors in a pgvector column with an HNSW index (cosine).
- ``bm25``: BM25 from stored statistics. Each passage keeps its term-frequency part
  tf/(tf+k1·(1−b+b·len/avglen)) (bm25s's "lucene" form) per term as a pgvector
  ``sparsevec``; each build keeps its document frequencies, so the query side carries the
  idf of the build being read. The
  terms are the project's own normalised tokens (`pipeline.language.normalize_tokens`:
  stems, compound parts, abbreviations), so a search finds what the local index finds.
- ``charngram``: the character n-gram TF-IDF rows of `pipeline.retrievers`, as ``sparsevec``.

Builds are versions. A document version (its id, bytes, metadata and every setting that
decides its passages) is written once, with its passages, in one transaction; a build is the
set of versions it holds, and becomes visible when ``kvp_current`` is switched to it, in one
transaction. A reader pins the build it opened, so it never sees a half-written one, and a
build that fails leaves the previous one in use. Unchanged documents are never rewritten:
changing one document writes one version. The previous build is kept one round for readers
that pinned it; older builds and the versions only they held are deleted.

A version written by a later build keeps the passage weights computed with the statistics of
the build that wrote it (the idf of n-grams inside their norms, and BM25's average length);
one document's change in 10^5 moves those by ~10^-5. A build from an empty database computes
every weight from its own statistics, exactly as the local index does.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pipeline.errors import IndexBusyError, StoreError, UnusableIndexError, error_text
from pipeline.model import THEME_THRESHOLD, Document, Filters, LegalRef, Passage, Source
from pipeline.serialize import document_from_dict, passage_from_dict, to_dict

if TYPE_CHECKING:
    from collections.abc import Callable

    import numpy as np
    import psycopg

    from pipeline.embed import Encoder
    from pipeline.retrievers import Ranking, Retriever

SCHEMA_VERSION = 1  # bump when a table changes; an older schema is rebuilt by `kvp build`
TERM_DIMENSIONS = 1_000_000_000  # pgvector's largest sparsevec: room for any vocabulary
K1, B = 1.5, 0.75  # bm25s's defaults, which the local BM25 uses
HNSW_M, HNSW_EF_CONSTRUCTION = 16, 64  # pgvector's defaults; see benchmarks/bench_scale.py
EF_SEARCH = 100  # at least the candidates a retriever asks for (SearchSettings.candidates)
# Up to this many passages the n-gram retriever scans them all, exactly as the folder index
# ranks; above it, the passages sharing one of the query's RARE_NGRAMS rarest n-grams
# (recall against the exact scan in benchmarks/bench_store_scale.py).
EXACT_NGRAM_PASSAGES = 20_000
RARE_NGRAMS = 24
POOL_SIZE = 4  # connections per reader process: two cores, plus room for waiting requests
LOCK_KEY = 0x6B7670  # "kvp": the advisory lock that lets one build write at a time
URL_PREFIXES = ("postgresql://", "postgres://")


def is_database(location: object) -> bool:
    """Whether an index location names a PostgreSQL database rather than a folder."""
    return isinstance(location, str) and location.startswith(URL_PREFIXES)


def shown(url: str) -> str:
    """A URL fit for messages: without its password."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(url)
    except Exception:
        return url
    host = parts.get("host", "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{parts.get('user', '')}@{host}{port}/{parts.get('dbname', '')}"


def schema(dim: int) -> str:
    return f"""
CREATE TABLE kvp_schema (version integer NOT NULL, dim integer NOT NULL);
CREATE TABLE kvp_builds (
    build_id bigserial PRIMARY KEY,
    created timestamptz NOT NULL DEFAULT now(),
    manifest jsonb NOT NULL,
    passages integer NOT NULL,
    total_length bigint NOT NULL,     -- tokens in all passages: BM25's average length
    term_df bytea NOT NULL,           -- int32 per term id: passages holding it
    ngram_df bytea NOT NULL           -- int32 per hashed n-gram
);
CREATE TABLE kvp_current (
    only_one boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    build_id bigint NOT NULL REFERENCES kvp_builds
);
CREATE TABLE documents (
    version text PRIMARY KEY,         -- id, bytes, metadata and passage settings, hashed
    doc_id text NOT NULL,
    kind text NOT NULL,
    year integer,
    title text NOT NULL,
    content_hash text NOT NULL,
    record jsonb NOT NULL
);
CREATE TABLE build_documents (
    build_id bigint NOT NULL REFERENCES kvp_builds ON DELETE CASCADE,
    version text NOT NULL REFERENCES documents ON DELETE CASCADE,
    PRIMARY KEY (build_id, version)
);
CREATE INDEX build_documents_version ON build_documents (version);
CREATE SEQUENCE passage_rows;
CREATE TABLE passages (
    row bigint PRIMARY KEY,           -- what retrievers rank
    version text NOT NULL REFERENCES documents ON DELETE CASCADE,
    passage_id text NOT NULL,
    provision text,                   -- "sotjl § 35": the § a statute passage holds
    ledd integer,
    length integer NOT NULL,          -- normalised tokens, for BM25
    record jsonb NOT NULL,
    embedding vector({dim}) NOT NULL
);
-- The lexical rows apart, narrow, so their scans read ~0.5 KB a passage instead of its record.
CREATE TABLE passage_bm25 (
    row bigint PRIMARY KEY REFERENCES passages ON DELETE CASCADE,
    version text NOT NULL,
    bm25 sparsevec NOT NULL
);
CREATE TABLE passage_ngrams (
    row bigint PRIMARY KEY REFERENCES passages ON DELETE CASCADE,
    version text NOT NULL,
    ngrams sparsevec NOT NULL,
    features integer[] NOT NULL       -- the n-grams it has: candidates by rare n-grams
);
CREATE INDEX passage_ngrams_features ON passage_ngrams USING gin (features);
CREATE INDEX passage_bm25_version ON passage_bm25 (version);
CREATE INDEX passage_ngrams_version ON passage_ngrams (version);
CREATE INDEX passages_version ON passages (version);
CREATE INDEX passages_id ON passages (passage_id);
CREATE INDEX passages_provision ON passages (provision);
CREATE INDEX passages_embedding ON passages USING hnsw (embedding vector_cosine_ops)
    WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION});
CREATE TABLE passage_refs (
    row bigint NOT NULL REFERENCES passages ON DELETE CASCADE,
    act text NOT NULL,
    key text NOT NULL
);
CREATE INDEX passage_refs_act ON passage_refs (act, key);
CREATE INDEX passage_refs_row ON passage_refs (row);
CREATE TABLE passage_themes (
    row bigint NOT NULL REFERENCES passages ON DELETE CASCADE,
    theme text NOT NULL,
    probability real NOT NULL
);
CREATE INDEX passage_themes_theme ON passage_themes (theme, probability);
CREATE INDEX passage_themes_row ON passage_themes (row);
CREATE TABLE terms (token text PRIMARY KEY, id integer NOT NULL UNIQUE);
INSERT INTO kvp_schema VALUES ({SCHEMA_VERSION}, {dim});
"""


KVP_TABLES = ("passage_themes", "passage_refs", "passage_bm25", "passage_ngrams", "passages",
              "build_documents", "kvp_current", "kvp_builds", "documents", "terms",
              "kvp_schema")  # fmt: skip


# Connections ------------------------------------------------------------------------------


def connect(url: str, *, types: bool = True) -> psycopg.Connection[Any]:
    """One connection, with pgvector's types unless ``types`` is false (before the extension
    exists); a clear message when the server is not there."""
    import psycopg

    try:
        connection = psycopg.connect(url, connect_timeout=5, autocommit=True)
    except psycopg.OperationalError as err:
        raise StoreError.unreachable(shown(url), err) from err
    if not types:
        return connection
    try:
        register_types(connection)
    except Exception:
        connection.close()
        raise
    return connection


def register_types(connection: psycopg.Connection[Any]) -> None:
    """pgvector's types on a connection, and `SparseRow` as a binary sparsevec."""
    from pgvector.psycopg import register_vector
    from psycopg.types import TypeInfo

    try:
        register_vector(connection)
        info = TypeInfo.fetch(connection, "sparsevec")
    except Exception as err:  # the type is unknown: no pgvector in this database
        raise UnusableIndexError(
            f"the database {shown(connection.info.dsn)} has no kvp store; "
            f"run `kvp build --store URL` first.",
            cause="missing",
        ) from err
    assert info is not None
    connection.adapters.register_dumper(SparseRow, sparse_dumper(info.oid))


def sparse_dumper(oid: int) -> type:
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    class SparseRowDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: Any) -> bytes:
            return bytes(obj.binary())

    SparseRowDumper.oid = oid
    return SparseRowDumper


def schema_state(connection: psycopg.Connection[Any]) -> tuple[int, int] | None:
    """The store's (schema version, vector dimension), None when there is no store; (0, 0)
    for kvp tables without a version (an older or half-removed store)."""
    found = connection.execute(
        "SELECT to_regclass('kvp_schema') IS NOT NULL, to_regclass('kvp_builds') IS NOT NULL"
    ).fetchone()
    if not found or not any(found):
        return None
    if not found[0]:
        return (0, 0)
    row = connection.execute("SELECT version, dim FROM kvp_schema").fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


def ensure_schema(connection: psycopg.Connection[Any], url: str, dim: int) -> str | None:
    """Create the tables, or replace those of an older kvp; a notice when it replaced them."""
    import psycopg

    try:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except (psycopg.errors.FeatureNotSupported, psycopg.errors.UndefinedFile) as err:
        raise StoreError.no_pgvector(shown(url), err) from err
    except psycopg.errors.InsufficientPrivilege as err:
        raise StoreError(
            f"the database {shown(url)} has no pgvector extension and this user may not "
            f"create it ({error_text(err)}); ask its owner to run `CREATE EXTENSION vector`."
        ) from err
    register_types(connection)
    state = schema_state(connection)
    notice = None
    if state is not None and state != (SCHEMA_VERSION, dim):
        version, had = state
        notice = (
            f"the store at {shown(url)} held kvp schema {version} with {had}-dimensional "
            f"vectors; replaced it with schema {SCHEMA_VERSION} ({dim} dimensions) and "
            "processed every document again."
        )
        with connection.transaction():
            for table in KVP_TABLES:
                connection.execute(f"DROP TABLE IF EXISTS {table} CASCADE")
            connection.execute("DROP SEQUENCE IF EXISTS passage_rows")
        state = None
    if state is None:
        with connection.transaction():
            connection.execute(schema(dim))
    return notice


# Reading ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BuildStats:
    """What a build's BM25 and n-gram idf are computed from."""

    passages: int
    total_length: int
    term_df: np.ndarray
    ngram_df: np.ndarray

    @property
    def average_length(self) -> float:
        return self.total_length / self.passages if self.passages else 0.0

    def term_idf(self, df: np.ndarray) -> np.ndarray:
        """bm25s's "lucene" idf."""
        import numpy as np

        n = self.passages
        return np.log(1.0 + (n - df + 0.5) / (df + 0.5)).astype(np.float32)

    def ngram_idf(self) -> np.ndarray:
        """scikit-learn's smoothed idf, as `pipeline.retrievers.CharNgramRetriever` uses."""
        import numpy as np

        return (np.log((1 + self.passages) / (1 + self.ngram_df)) + 1.0).astype(np.float32)


def stats_of(row: Sequence[Any]) -> BuildStats:
    import numpy as np

    return BuildStats(
        int(row[0]), int(row[1]),
        np.frombuffer(row[2], dtype=np.int32), np.frombuffer(row[3], dtype=np.int32),
    )  # fmt: skip


def check_readable(connection: psycopg.Connection[Any], url: str) -> None:
    """UnusableIndexError naming the fix when the database holds no store of this kvp."""
    state = schema_state(connection)
    if state is None:
        raise UnusableIndexError(
            f"no kvp store in the database {shown(url)}; run "
            f"`kvp build --store {shown(url)}` first.",
            cause="missing",
        )
    if state[0] != SCHEMA_VERSION:
        raise UnusableIndexError(
            f"the store at {shown(url)} was built by an older version of kvp (schema "
            f"{state[0]}, this kvp reads {SCHEMA_VERSION}); run "
            f"`kvp build --store {shown(url)}` to rebuild it.",
            cause="outdated",
        )


def current_build(
    connection: psycopg.Connection[Any],
) -> tuple[int, dict[str, Any], BuildStats] | None:
    """The current build's id, manifest and statistics; None before the first build ends."""
    found = connection.execute(
        "SELECT b.build_id, b.manifest, b.passages, b.total_length, b.term_df, b.ngram_df "
        "FROM kvp_current c JOIN kvp_builds b USING (build_id)"
    ).fetchone()
    return (int(found[0]), found[1], stats_of(found[2:])) if found else None


MEMBERS = "version IN (SELECT version FROM build_documents WHERE build_id = %(build)s)"


class PostgresStore:
    """The `PassageStore` of the build that is current when it opens, pinned until closed."""

    def __init__(self, url: str) -> None:
        from psycopg_pool import ConnectionPool

        self.url = url
        with connect(url, types=False) as connection:  # clear messages before the pool's
            check_readable(connection, url)
            found = current_build(connection)
        if found is None:
            raise UnusableIndexError(
                f"the store at {shown(url)} has no finished build yet; run "
                f"`kvp build --store {shown(url)}`.",
                cause="missing",
            )
        self.build_id, self.manifest, self.stats = found
        self._pool = ConnectionPool(
            url, min_size=1, max_size=POOL_SIZE, configure=register_types, open=True,
            kwargs={"connect_timeout": 5, "autocommit": True},
        )  # fmt: skip
        self._passages: dict[int, Passage] = {}
        self._rows: dict[str, int] = {}
        self._documents: dict[str, Document] | None = None
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        with self._pool.connection() as connection:
            yield connection

    def query(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        values = {"build": self.build_id, **(parameters or {})}
        with self.connection() as connection:
            return connection.execute(sql, values).fetchall()

    def _rows_of(self, sql: str, parameters: dict[str, Any] | None = None) -> list[int]:
        return [int(r[0]) for r in self.query(sql, parameters)]

    def _remember(self, found: Iterable[tuple[Any, ...]]) -> None:
        with self._lock:
            for row, record in found:
                passage = passage_from_dict(record)
                self._passages[int(row)] = passage
                self._rows[passage.passage_id] = int(row)

    def __len__(self) -> int:
        return self.stats.passages

    def passage(self, row: int) -> Passage:
        return self.passages([row])[0]

    def passages(self, rows: Iterable[int] | None = None) -> list[Passage]:
        if rows is None:
            found = self.query(f"SELECT row, record FROM passages WHERE {MEMBERS} ORDER BY row")
            self._remember(found)
            return [self._passages[int(row)] for row, _ in found]
        wanted = [int(r) for r in rows]
        missing = [r for r in dict.fromkeys(wanted) if r not in self._passages]
        if missing:
            self._remember(self.query(
                f"SELECT row, record FROM passages WHERE row = ANY(%(rows)s) AND {MEMBERS}",
                {"rows": missing},
            ))  # fmt: skip
        unknown = [r for r in wanted if r not in self._passages]
        if unknown:
            raise KeyError(f"no passage at row {unknown[0]} in build {self.build_id}")
        return [self._passages[r] for r in wanted]

    def row_of(self, passage_id: str) -> int | None:
        if passage_id not in self._rows:
            self._remember(self.query(
                f"SELECT row, record FROM passages WHERE passage_id = %(id)s AND {MEMBERS}",
                {"id": passage_id},
            ))  # fmt: skip
        return self._rows.get(passage_id)

    def documents(self) -> dict[str, Document]:
        if self._documents is None:
            found = self.query(f"SELECT record FROM documents WHERE {MEMBERS} ORDER BY doc_id")
            documents = [document_from_dict(r[0]) for r in found]
            self._documents = {d.doc_id: d for d in documents}
        return dict(self._documents)

    def document(self, doc_id: str) -> Document | None:
        return self.documents().get(doc_id)

    def passages_of_document(self, doc_id: str) -> list[Passage]:
        rows = self._rows_of(
            f"SELECT row FROM passages WHERE {MEMBERS} AND version IN "
            "(SELECT version FROM documents WHERE doc_id = %(doc)s)",
            {"doc": doc_id},
        )
        return sorted(self.passages(rows), key=lambda p: p.char_start)

    def filter_rows(self, filters: Filters) -> set[int] | None:
        if filters == Filters():
            return None
        where = [f"p.{MEMBERS}"]
        parameters: dict[str, Any] = {}
        if filters.kinds:
            where.append("d.kind = ANY(%(kinds)s)")
            parameters["kinds"] = list(filters.kinds)
        if filters.theme:
            where.append(
                "p.row IN (SELECT row FROM passage_themes "
                "WHERE theme = %(theme)s AND probability >= %(threshold)s)"
            )
            parameters |= {"theme": filters.theme, "threshold": THEME_THRESHOLD}
        if filters.years:
            where.append("d.year BETWEEN %(first)s AND %(last)s")
            parameters |= {"first": filters.years[0], "last": filters.years[1]}
        joined = "SELECT p.row FROM passages p JOIN documents d USING (version) WHERE "
        rows = set(self._rows_of(joined + " AND ".join(where), parameters))
        if filters.ref:
            from pipeline.legal import parse_ref

            citing = self.citing(parse_ref(filters.ref))
            rows &= {row for p in citing if (row := self.row_of(p.passage_id)) is not None}
        return rows

    def provision(self, ref: LegalRef) -> list[Passage]:
        from pipeline.legal import ledd_rows, provision_key

        key = provision_key(ref)
        if key is None:
            return []
        found = self.query(
            f"SELECT row, ledd FROM passages WHERE provision = %(key)s AND {MEMBERS} ORDER BY row",
            {"key": key},
        )
        return self.passages(ledd_rows([(int(row), ledd) for row, ledd in found], ref))

    def citing(self, ref: LegalRef) -> list[Passage]:
        from pipeline.legal import citing_after

        rows = self._rows_of(
            "SELECT DISTINCT r.row FROM passage_refs r JOIN passages p USING (row) "
            f"WHERE r.act = %(act)s AND p.{MEMBERS} ORDER BY r.row",
            {"act": ref.act},
        )
        return citing_after(self.provision(ref), self.passages(rows), ref)

    def passages_of_theme(self, theme: str) -> list[Passage]:
        rows = self._rows_of(
            "SELECT t.row FROM passage_themes t JOIN passages p USING (row) "
            f"WHERE t.theme = %(theme)s AND t.probability >= %(threshold)s AND p.{MEMBERS} "
            "ORDER BY t.row",
            {"theme": theme, "threshold": THEME_THRESHOLD},
        )
        return self.passages(rows)

    def retriever(self, name: str, encoder: Callable[[], Encoder]) -> Retriever:
        """The store's own retriever of that name (`pipeline.retrievers` names)."""
        if name == DatabaseDense.name:
            return DatabaseDense(self, encoder)
        if name == DatabaseBM25.name:
            return DatabaseBM25(self)
        return DatabaseCharNgram(self)

    def close(self) -> None:
        self._pool.close()


def current_manifest(url: str) -> dict[str, Any]:
    """The manifest of the store's current build (its encoder, before the store opens)."""
    with connect(url, types=False) as connection:
        check_readable(connection, url)
        found = current_build(connection)
    if found is None:
        raise UnusableIndexError(
            f"no finished kvp build in the database {shown(url)}; run "
            f"`kvp build --store {shown(url)}` first.",
            cause="missing",
        )
    return found[1]


def current_build_id(url: str) -> int | None:
    """The build readers of the store would open now (None when there is none): what
    `kvp serve` polls to notice a new build."""
    with connect(url, types=False) as connection:
        if schema_state(connection) is None:
            return None
        found = connection.execute("SELECT build_id FROM kvp_current").fetchone()
    return int(found[0]) if found else None


# Retrieval in the database ----------------------------------------------------------------


def ranked(store: PostgresStore, sql: str, parameters: dict[str, Any], allowed: set[int] | None,
           n: int) -> Ranking:  # fmt: skip
    """Rows and scores of a ranking query, best first, among the allowed rows."""
    where = " AND row = ANY(%(allowed)s)" if allowed is not None else ""
    parameters = {**parameters, "n": n, "allowed": sorted(allowed or ())}
    return {int(row): float(score) for row, score in store.query(sql.format(where=where),
                                                                 parameters)}  # fmt: skip


class DatabaseDense:
    """Cosine similarity by the HNSW index; iterative scans keep filtered searches full."""

    name: ClassVar[str] = "dense"

    def __init__(self, store: PostgresStore, encoder: Callable[[], Encoder]) -> None:
        self.store = store
        self._encoder = encoder

    def rank(self, query: str, allowed: set[int] | None, n: int) -> Ranking:
        import numpy as np

        from pipeline.retrievers import tie_ordered

        if n <= 0 or (allowed is not None and not allowed):
            return {}
        vector = np.asarray(self._encoder().encode_queries([query])[0], dtype=np.float32)
        where = " AND row = ANY(%(allowed)s)" if allowed is not None else ""
        with self.store.connection() as connection, connection.transaction():
            connection.execute(f"SET LOCAL hnsw.ef_search = {max(EF_SEARCH, n)}")
            connection.execute("SET LOCAL hnsw.iterative_scan = strict_order")
            found = connection.execute(
                f"SELECT row, 1 - (embedding <=> %(q)s) FROM passages WHERE {MEMBERS}{where} "
                "ORDER BY embedding <=> %(q)s LIMIT %(n)s",
                {"q": vector, "n": n, "build": self.store.build_id,
                 "allowed": sorted(allowed or ())},
            ).fetchall()  # fmt: skip
        return tie_ordered((int(row), float(score)) for row, score in found)


SPARSE_RANKING = (
    "SELECT row, score FROM (SELECT row, -({column} <#> %(q)s) AS score FROM passage_{column} "
    "WHERE " + MEMBERS + "{{where}}) s WHERE score > 0 ORDER BY score DESC, row LIMIT %(n)s"
)


class DatabaseBM25:
    """BM25 as an inner product: the query's idf-weighted terms · the passages' tf parts."""

    name: ClassVar[str] = "bm25"

    def __init__(self, store: PostgresStore) -> None:
        self.store = store

    def term_ids(self, tokens: Iterable[str]) -> dict[str, int]:
        found = self.store.query(
            "SELECT token, id FROM terms WHERE token = ANY(%(tokens)s)",
            {"tokens": list(set(tokens))},
        )
        return {str(token): int(i) for token, i in found}

    def rank(self, query: str, allowed: set[int] | None, n: int) -> Ranking:
        from collections import Counter

        import numpy as np

        from pipeline.language import normalize_tokens

        tokens = normalize_tokens(query)
        ids = self.term_ids(tokens)
        df = self.store.stats.term_df
        counts = Counter(ids[t] for t in tokens if t in ids and ids[t] < len(df) and df[ids[t]])
        if not counts:
            return {}
        chosen = np.array(sorted(counts), dtype=np.int64)
        idf = self.store.stats.term_idf(df[chosen].astype(np.float64))
        values = idf * np.array([counts[int(i)] for i in chosen], dtype=np.float32)
        sql = SPARSE_RANKING.format(column="bm25")
        query_row = SparseRow(chosen, values, TERM_DIMENSIONS)
        return ranked(self.store, sql, {"q": query_row}, allowed, n)

    def document_frequency(self, token: str) -> int:
        found = self.term_ids([token]).get(token)
        df = self.store.stats.term_df
        return int(df[found]) if found is not None and found < len(df) else 0


class DatabaseCharNgram:
    """The n-gram TF-IDF cosine: exact over every passage of a small store; in a large one,
    over the passages that share one of the query's rarest n-grams (a GIN index on each
    passage's n-grams), since an exact scan reads every passage's row (1.6 s at 10^5)."""

    name: ClassVar[str] = "charngram"

    def __init__(self, store: PostgresStore) -> None:
        self.store = store
        self._idf: np.ndarray | None = None

    def rank(self, query: str, allowed: set[int] | None, n: int) -> Ranking:
        import numpy as np

        from pipeline.retrievers import CharNgramRetriever

        if self._idf is None:
            self._idf = self.store.stats.ngram_idf()
        vector = CharNgramRetriever.weigh(CharNgramRetriever.hashing().transform([query]),
                                          self._idf).tocsr()  # fmt: skip
        if vector.nnz == 0:
            return {}
        vector.sort_indices()
        query_row = SparseRow(vector.indices, vector.data, CharNgramRetriever.FEATURES)
        sql = SPARSE_RANKING.format(column="ngrams")
        parameters: dict[str, Any] = {"q": query_row}
        if self.store.stats.passages > EXACT_NGRAM_PASSAGES:
            df = self.store.stats.ngram_df[vector.indices]
            present = vector.indices[df > 0]
            rare = present[np.argsort(df[df > 0], kind="stable")[:RARE_NGRAMS]]
            sql = sql.replace(" WHERE ", " WHERE features && %(rare)s AND ", 1)
            parameters["rare"] = rare.tolist()
        return ranked(self.store, sql, parameters, allowed, n)


# Writing ---------------------------------------------------------------------------------


def version_of(source: Source, digest: str, decides: str) -> str:
    """A document version: its id, bytes, manifest entry and what decides its passages
    (settings, encoder, theme model), known before the document is extracted."""
    key = json.dumps([source.doc_id, digest, to_dict(source), decides], sort_keys=True,
                     ensure_ascii=False, default=str)  # fmt: skip
    return hashlib.sha1(key.encode("utf-8")).hexdigest()


@dataclass
class Counts:
    """The terms and n-grams of a build's new passages, counted once for its statistics and
    for their weights."""

    terms: list[dict[int, int]]  # per passage: term id → count
    lengths: list[int]  # per passage: normalised tokens
    ngrams: Any  # passages × hashed n-grams, counts (scipy CSR)

    def __len__(self) -> int:
        return len(self.terms)


class SparseRow(NamedTuple):
    """A sparsevec written in PostgreSQL's binary format straight from arrays: pgvector's own
    class formats element by element, which took half of a build's writing time."""

    indices: np.ndarray  # sorted, 0-based
    values: np.ndarray
    dimensions: int

    def binary(self) -> bytes:
        import numpy as np

        head = np.array([self.dimensions, len(self.indices), 0], dtype=">i4").tobytes()
        return head + self.indices.astype(">i4").tobytes() + self.values.astype(">f4").tobytes()


def weights(counts: Counts, stats: BuildStats) -> tuple[list[SparseRow], list[SparseRow]]:
    """The passages' BM25 tf parts and n-gram TF-IDF rows, by the build's statistics."""
    import numpy as np

    from pipeline.retrievers import CharNgramRetriever

    if not len(counts):
        return [], []
    average = stats.average_length or 1.0
    bm25 = []
    for terms, length in zip(counts.terms, counts.lengths, strict=True):
        ids = np.array(sorted(terms), dtype=np.int64)
        tf = np.array([terms[int(i)] for i in ids], dtype=np.float64)
        tf_part = tf / (tf + K1 * (1 - B + B * length / average))
        bm25.append(SparseRow(ids, tf_part, TERM_DIMENSIONS))
    matrix = CharNgramRetriever.weigh(counts.ngrams, stats.ngram_idf()).tocsr()
    matrix.sort_indices()
    ngrams = [
        SparseRow(matrix.indices[a:b], matrix.data[a:b], CharNgramRetriever.FEATURES)
        for a, b in zip(matrix.indptr[:-1], matrix.indptr[1:], strict=True)
    ]
    return bm25, ngrams


class StoreWriter:
    """One build into the store, under the store's build lock (a session advisory lock)."""

    def __init__(self, url: str, dim: int, wait: float = 0.0) -> None:
        import time

        self.url = url
        self.connection = connect(url, types=False)
        deadline = time.monotonic() + wait
        while True:
            got = self.connection.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            if (row := got.fetchone()) and row[0]:
                break
            if time.monotonic() >= deadline:
                self.connection.close()
                raise IndexBusyError(
                    f"another build of the store at {shown(url)} is running; wait for it to "
                    "finish, or pass --wait SECONDS."
                )
            time.sleep(0.5)
        try:
            self.notice = ensure_schema(self.connection, url, dim)
        except Exception:
            self.connection.close()
            raise

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()  # the advisory lock ends with the session

    def current(self) -> tuple[int, dict[str, Any], BuildStats] | None:
        return current_build(self.connection)

    def present(self, versions: Iterable[str]) -> set[str]:
        found = self.connection.execute(
            "SELECT version FROM documents WHERE version = ANY(%s)", (list(versions),)
        ).fetchall()
        return {str(r[0]) for r in found}

    def members(self, build_id: int) -> set[str]:
        found = self.connection.execute(
            "SELECT version FROM build_documents WHERE build_id = %s", (build_id,)
        ).fetchall()
        return {str(r[0]) for r in found}

    def count(self, passages: Sequence[Passage]) -> Counts:
        """Term ids (new terms get ids) and n-gram counts of the passages."""
        from collections import Counter

        from scipy import sparse

        from pipeline.language import normalize_tokens
        from pipeline.retrievers import CharNgramRetriever

        if not passages:  # a build that only removes documents
            return Counts([], [], sparse.csr_matrix((0, CharNgramRetriever.FEATURES)))
        tokens = [normalize_tokens(p.text) or [""] for p in passages]
        ids = self.term_ids({t for ts in tokens for t in ts})
        ngrams = CharNgramRetriever.hashing().transform([p.text for p in passages])
        terms = [dict(Counter(ids[t] for t in ts)) for ts in tokens]
        return Counts(terms, [len(ts) for ts in tokens], ngrams.tocsr())

    def term_ids(self, tokens: set[str]) -> dict[str, int]:
        """Ids of the tokens, new ones appended to the vocabulary."""
        with self.connection.transaction():
            self.connection.execute("LOCK TABLE terms IN EXCLUSIVE MODE")
            found = dict(self.connection.execute(
                "SELECT token, id FROM terms WHERE token = ANY(%s)", (list(tokens),)
            ).fetchall())  # fmt: skip
            new = sorted(tokens - found.keys())
            if new:
                start = self.connection.execute(
                    "SELECT coalesce(max(id) + 1, 0) FROM terms").fetchone()  # fmt: skip
                first = int(start[0]) if start else 0
                added = {token: first + i for i, token in enumerate(new)}
                with self.connection.cursor().copy("COPY terms (token, id) FROM STDIN") as copy:
                    for token, i in added.items():
                        copy.write_row((token, i))
                found |= added
        return {str(k): int(v) for k, v in found.items()}

    def stored_counts(self, versions: Iterable[str]) -> tuple[list[list[int]], list[list[int]],
                                                              int]:  # fmt: skip
        """The term ids and n-gram features of the stored passages of these versions, and
        their total length: what leaves the statistics when the versions leave the build."""
        found = self.connection.execute(
            "SELECT b.bm25, n.ngrams, p.length FROM passages p JOIN passage_bm25 b USING (row) "
            "JOIN passage_ngrams n USING (row) WHERE p.version = ANY(%s)",
            (list(versions),),
        ).fetchall()
        terms = [v.indices() for v, _, _ in found]
        ngrams = [v.indices() for _, v, _ in found]
        return terms, ngrams, sum(int(length) for _, _, length in found)

    def write_version(
        self,
        version: str,
        document: Document,
        passages: Sequence[Passage],
        vectors: np.ndarray,
        lengths: Sequence[int],
        weighted: tuple[Sequence[SparseRow], Sequence[SparseRow]],
    ) -> None:
        """A document version and its passages in one transaction: a build that stops
        halfway leaves whole versions, which a rerun keeps."""
        from psycopg.types.json import Jsonb

        from pipeline.legal import provision_of

        source = document.source
        with self.connection.transaction():
            self.connection.execute(
                "INSERT INTO documents VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (version, document.doc_id, source.kind.value, source.year, source.title,
                 document.content_hash, Jsonb(to_dict(document))),
            )  # fmt: skip
            rows = [int(r[0]) for r in self.connection.execute(
                "SELECT nextval('passage_rows') FROM generate_series(1, %s)", (len(passages),)
            ).fetchall()]  # fmt: skip
            copy_sql = (
                "COPY passages (row, version, passage_id, provision, ledd, length, record, "
                "embedding) FROM STDIN (FORMAT BINARY)"
            )
            with self.connection.cursor().copy(copy_sql) as copy:
                copy.set_types(["bigint", "text", "text", "text", "integer", "integer", "jsonb",
                                "vector"])  # fmt: skip
                for row, passage, vector, length in zip(rows, passages, vectors, lengths,
                                                        strict=True):  # fmt: skip
                    provision, ledd = provision_of(passage) or (None, None)
                    copy.write_row((row, version, passage.passage_id, provision, ledd, length,
                                    Jsonb(to_dict(passage)), vector))  # fmt: skip
            bm25, ngrams = weighted
            with self.connection.cursor().copy(
                "COPY passage_bm25 FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["bigint", "text", "sparsevec"])
                for row, sparse_row in zip(rows, bm25, strict=True):
                    copy.write_row((row, version, sparse_row))
            with self.connection.cursor().copy(
                "COPY passage_ngrams FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["bigint", "text", "sparsevec", "integer[]"])
                for row, sparse_row in zip(rows, ngrams, strict=True):
                    copy.write_row((row, version, sparse_row, sparse_row.indices.tolist()))
            pairs = list(zip(rows, passages, strict=True))
            with self.connection.cursor().copy("COPY passage_refs FROM STDIN") as copy:
                for row, p in pairs:
                    for act, key in dict.fromkeys((r.act, r.key) for r in p.legal_refs):
                        copy.write_row((row, act, key))
            with self.connection.cursor().copy("COPY passage_themes FROM STDIN") as copy:
                for row, p in pairs:
                    for theme, probability in p.themes:
                        copy.write_row((row, theme, probability))

    def publish(self, manifest: dict[str, Any], versions: Sequence[str], stats: BuildStats,
                previous: int | None) -> int:  # fmt: skip
        """Make the build current in one transaction, then drop what no build holds."""
        from psycopg.types.json import Jsonb

        with self.connection.transaction():
            found = self.connection.execute(
                "INSERT INTO kvp_builds (manifest, passages, total_length, term_df, ngram_df) "
                "VALUES (%s, %s, %s, %s, %s) RETURNING build_id",
                (Jsonb(manifest), stats.passages, stats.total_length,
                 stats.term_df.astype("<i4").tobytes(), stats.ngram_df.astype("<i4").tobytes()),
            ).fetchone()  # fmt: skip
            assert found is not None
            build_id = int(found[0])
            with self.connection.cursor().copy("COPY build_documents FROM STDIN") as copy:
                for version in versions:
                    copy.write_row((build_id, version))
            self.connection.execute(
                "INSERT INTO kvp_current (build_id) VALUES (%s) ON CONFLICT (only_one) "
                "DO UPDATE SET build_id = excluded.build_id",
                (build_id,),
            )
        self.collect(build_id, previous)
        return build_id

    def collect(self, current: int, previous: int | None) -> None:
        """Delete builds older than the previous one, and versions no build holds (also those
        of builds that never finished)."""
        keep = [b for b in (current, previous) if b is not None]
        with self.connection.transaction():
            self.connection.execute("DELETE FROM kvp_builds WHERE build_id <> ALL(%s)", (keep,))
            self.connection.execute(
                "DELETE FROM documents d WHERE NOT EXISTS "
                "(SELECT 1 FROM build_documents b WHERE b.version = d.version)"
            )


def statistics(
    before: BuildStats | None,
    added: Counts,
    removed: tuple[list[list[int]], list[list[int]], int],
    features: int,
) -> BuildStats:
    """The new build's statistics: the previous ones, less what left, plus what came."""
    import numpy as np

    gone_terms, gone_ngrams, gone_length = removed
    came = np.fromiter((i for terms in added.terms for i in terms), dtype=np.int64)
    left = np.fromiter((i for ids in gone_terms for i in ids), dtype=np.int64)
    size = max(len(before.term_df) if before else 0, int(came.max(initial=-1)) + 1)
    term_df = np.bincount(came, minlength=size) - np.bincount(left, minlength=size)
    ngram_df = np.bincount(added.ngrams.indices, minlength=features) - np.bincount(
        np.fromiter((i for ids in gone_ngrams for i in ids), dtype=np.int64), minlength=features
    )
    passages = len(added) - len(gone_terms)
    total = sum(added.lengths) - gone_length
    if before is not None:
        term_df[: len(before.term_df)] += before.term_df
        ngram_df += before.ngram_df
        passages, total = passages + before.passages, total + before.total_length
    return BuildStats(passages, total, term_df.astype(np.int32), ngram_df.astype(np.int32))
