"""The index's SQLite store: documents and passages as plain rows, read back as records.

Rows hold the records as JSON; kind, year, themes and references are also columns and
tables of their own, so researchers can query the store with plain SQL.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pipeline.model import (
    Block,
    Document,
    ExtractionReport,
    Furniture,
    Kind,
    LegalRef,
    Passage,
    Repair,
    Role,
    Source,
    to_jsonable,
)

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
    record TEXT NOT NULL
);
CREATE TABLE passage_refs (
    row INTEGER NOT NULL REFERENCES passages(row),
    key TEXT NOT NULL                 -- "sotjl § 35": the provision a passage refers to
);
CREATE TABLE passage_themes (
    row INTEGER NOT NULL REFERENCES passages(row),
    theme TEXT NOT NULL,
    probability REAL NOT NULL
);
CREATE INDEX passage_refs_key ON passage_refs(key);
CREATE INDEX passage_themes_theme ON passage_themes(theme, probability);
"""


def write_store(path: Path, documents: Sequence[Document], passages: Sequence[Passage]) -> None:
    """Write a new store; passage rows follow the order of the vector and BM25 indexes."""
    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO documents VALUES (?, ?, ?, ?, ?, ?)",
            [
                (
                    d.doc_id,
                    d.source.kind.value,
                    d.source.year,
                    d.source.title,
                    d.content_hash,
                    json.dumps(to_jsonable(d), ensure_ascii=False),
                )
                for d in documents
            ],
        )
        db.executemany(
            "INSERT INTO passages VALUES (?, ?, ?, ?)",
            [
                (row, p.passage_id, p.doc_id, json.dumps(to_jsonable(p), ensure_ascii=False))
                for row, p in enumerate(passages)
            ],
        )
        db.executemany(
            "INSERT INTO passage_refs VALUES (?, ?)",
            [(row, key) for row, p in enumerate(passages) for key in {r.key for r in p.legal_refs}],
        )
        db.executemany(
            "INSERT INTO passage_themes VALUES (?, ?, ?)",
            [(row, theme, prob) for row, p in enumerate(passages) for theme, prob in p.themes],
        )
        db.commit()
    finally:
        db.close()


class Store:
    """Read access to a built store."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def documents(self) -> list[Document]:
        rows = self.db.execute("SELECT record FROM documents ORDER BY doc_id")
        return [document_from_json(json.loads(r[0])) for r in rows]

    def passages(self) -> list[Passage]:
        """Every passage, in index order (the order of the vectors and BM25)."""
        found = self.db.execute("SELECT record FROM passages ORDER BY row").fetchall()
        return [passage_from_json(json.loads(r[0])) for r in found]

    def close(self) -> None:
        self.db.close()


# Decoding records --------------------------------------------------------------------------


def source_from_json(data: dict[str, Any]) -> Source:
    return Source(**{**data, "path": Path(data["path"]), "kind": Kind(data["kind"])})


def block_from_json(data: dict[str, Any]) -> Block:
    return Block(
        **{
            **data,
            "role": Role(data["role"]),
            "section": tuple(data["section"]),
            "rows": tuple(tuple(r) for r in data["rows"]),
        }
    )


def report_from_json(data: dict[str, Any]) -> ExtractionReport:
    return ExtractionReport(
        removed=tuple(Furniture(**f) for f in data["removed"]),
        repairs=tuple(Repair(**r) for r in data["repairs"]),
        warnings=tuple(data["warnings"]),
        page_count=data["page_count"],
        pages_without_text=tuple(data["pages_without_text"]),
    )


def document_from_json(data: dict[str, Any]) -> Document:
    return Document(
        source=source_from_json(data["source"]),
        text=data["text"],
        blocks=tuple(block_from_json(b) for b in data["blocks"]),
        content_hash=data["content_hash"],
        report=report_from_json(data["report"]),
    )


def passage_from_json(data: dict[str, Any]) -> Passage:
    return Passage(
        **{
            **data,
            "section": tuple(data["section"]),
            "role": Role(data["role"]),
            "legal_refs": tuple(LegalRef(**r) for r in data["legal_refs"]),
            "themes": tuple((t, float(p)) for t, p in data["themes"]),
            "sentences": tuple((int(a), int(b)) for a, b in data["sentences"]),
        }
    )
