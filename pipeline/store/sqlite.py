"""The embedded passage store: one SQLite file per build.

Rows hold the records as JSON; kind, year, the § a statute passage holds, themes and
references are also columns and tables of their own, with indexes, so filters and § lookups
run in SQL and researchers can query the store with plain SQL. The passages themselves are
read into memory once (the vectors and BM25 of the same build are too), which keeps answers
to the hot path — a passage by row — free of queries.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pipeline.model import THEME_THRESHOLD, Document, Filters, LegalRef, Passage
from pipeline.serialize import document_from_dict, passage_from_dict, to_dict

SCHEMA = """
CREATE TABLE documents (
    doc_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    year INTEGER,
    title TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE TABLE passages (
    row INTEGER PRIMARY KEY,          -- position in the vector and BM25 indexes
    passage_id TEXT UNIQUE NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    provision TEXT,                   -- "sotjl § 35": the § a statute passage holds
    ledd INTEGER,                     -- its ledd, when the § is cited ledd by ledd
    record TEXT NOT NULL
);
CREATE TABLE passage_refs (
    row INTEGER NOT NULL REFERENCES passages(row),
    act TEXT NOT NULL,
    key TEXT NOT NULL                 -- "sotjl § 35": the provision a passage refers to
);
CREATE TABLE passage_themes (
    row INTEGER NOT NULL REFERENCES passages(row),
    theme TEXT NOT NULL,
    probability REAL NOT NULL
);
CREATE INDEX passages_doc ON passages(doc_id);
CREATE INDEX passages_provision ON passages(provision);
CREATE INDEX passage_refs_act ON passage_refs(act, key);
CREATE INDEX passage_themes_theme ON passage_themes(theme, probability);
"""


def write_store(path: Path, documents: Sequence[Document], passages: Sequence[Passage]) -> None:
    """Write a new store; passage rows follow the order of the vector and BM25 indexes."""
    from pipeline.legal import provision_of

    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
            [
                (d.doc_id, d.source.kind.value, d.source.year, d.source.title, d.content_hash,
                 json.dumps(to_dict(d), ensure_ascii=False))
                for d in documents
            ],
        )  # fmt: skip
        rows = []
        for row, p in enumerate(passages):
            provision, ledd = provision_of(p) or (None, None)
            record = json.dumps(to_dict(p), ensure_ascii=False)
            rows.append((row, p.passage_id, p.doc_id, provision, ledd, record))
        db.executemany("INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?)", rows)
        db.executemany(
            "INSERT INTO passage_refs VALUES (?, ?, ?)",
            [(row, act, key) for row, p in enumerate(passages)
             for act, key in dict.fromkeys((r.act, r.key) for r in p.legal_refs)],
        )  # fmt: skip
        db.executemany(
            "INSERT INTO passage_themes VALUES (?, ?, ?)",
            [(row, theme, prob) for row, p in enumerate(passages) for theme, prob in p.themes],
        )
        db.commit()
    finally:
        db.close()


class SQLiteStore:
    """The `PassageStore` over a build's ``store.sqlite``, opened read-only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # Request threads share the connection; the lock keeps one query at a time on it.
        self._db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        found = self._query("SELECT record FROM passages ORDER BY row")
        self._passages = [passage_from_dict(json.loads(r[0])) for r in found]
        self._rows = {p.passage_id: row for row, p in enumerate(self._passages)}
        found = self._query("SELECT record FROM documents ORDER BY doc_id")
        documents = [document_from_dict(json.loads(r[0])) for r in found]
        self._documents = {d.doc_id: d for d in documents}

    def _query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, parameters).fetchall()

    def _rows_of(self, sql: str, parameters: Sequence[object] = ()) -> list[int]:
        return [int(r[0]) for r in self._query(sql, parameters)]

    def __len__(self) -> int:
        return len(self._passages)

    def passage(self, row: int) -> Passage:
        return self._passages[row]

    def passages(self, rows: Iterable[int] | None = None) -> list[Passage]:
        if rows is None:
            return list(self._passages)
        return [self._passages[row] for row in rows]

    def row_of(self, passage_id: str) -> int | None:
        return self._rows.get(passage_id)

    def documents(self) -> dict[str, Document]:
        return dict(self._documents)

    def document(self, doc_id: str) -> Document | None:
        return self._documents.get(doc_id)

    def passages_of_document(self, doc_id: str) -> list[Passage]:
        rows = self._rows_of("SELECT row FROM passages WHERE doc_id = ?", (doc_id,))
        return sorted(self.passages(rows), key=lambda p: p.char_start)

    def filter_rows(self, filters: Filters) -> set[int] | None:
        if filters == Filters():
            return None
        where: list[str] = ["1"]
        parameters: list[object] = []
        if filters.kinds:
            where.append(f"d.kind IN ({','.join('?' * len(filters.kinds))})")
            parameters += list(filters.kinds)
        if filters.theme:
            where.append(
                "p.row IN (SELECT row FROM passage_themes WHERE theme = ? AND probability >= ?)"
            )
            parameters += [filters.theme, THEME_THRESHOLD]
        if filters.years:
            where.append("d.year BETWEEN ? AND ?")
            parameters += list(filters.years)
        joined = "SELECT p.row FROM passages p JOIN documents d USING (doc_id) WHERE "
        rows = set(self._rows_of(joined + " AND ".join(where), parameters))
        if filters.ref:
            from pipeline.legal import parse_ref

            rows &= {self._rows[p.passage_id] for p in self.citing(parse_ref(filters.ref))}
        return rows

    def provision(self, ref: LegalRef) -> list[Passage]:
        from pipeline.legal import ledd_rows, provision_key

        key = provision_key(ref)
        if key is None:
            return []
        found = self._query(
            "SELECT row, ledd FROM passages WHERE provision = ? ORDER BY row", (key,)
        )
        return self.passages(ledd_rows([(int(row), ledd) for row, ledd in found], ref))

    def citing(self, ref: LegalRef) -> list[Passage]:
        from pipeline.legal import citing_after

        rows = self._rows_of(
            "SELECT DISTINCT row FROM passage_refs WHERE act = ? ORDER BY row", (ref.act,)
        )
        return citing_after(self.provision(ref), self.passages(rows), ref)

    def passages_of_theme(self, theme: str) -> list[Passage]:
        rows = self._rows_of(
            "SELECT row FROM passage_themes WHERE theme = ? AND probability >= ? ORDER BY row",
            (theme, THEME_THRESHOLD),
        )
        return self.passages(rows)

    def close(self) -> None:
        self._db.close()
