"""Passage stores: where an index keeps its documents and passages, behind one protocol.

Search, answers, the web app, the CLI and the exports ask the store; none of them reads its
tables. A store answers the queries the callers need — a passage by row or id, the rows that
pass a filter, the statute text of a §, the passages citing it, the passages of a theme — so a
second backend (PostgreSQL) is a second class, not a change in the callers.

Rows are positions in the index's vector and BM25 files: row ``i`` of the store is vector
``i``. Implementations:

- `pipeline.store.sqlite.SQLiteStore`: the build's ``store.sqlite`` (the default, embedded).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from pipeline.model import Document, Filters, LegalRef, Passage
from pipeline.store.sqlite import SQLiteStore, write_store


class PassageStore(Protocol):
    """What every passage store offers."""

    def __len__(self) -> int: ...

    def passage(self, row: int) -> Passage: ...

    def passages(self, rows: Iterable[int] | None = None) -> list[Passage]:
        """The passages at these rows, in that order; every passage in row order for None."""
        ...

    def row_of(self, passage_id: str) -> int | None: ...

    def documents(self) -> dict[str, Document]:
        """Every document by id, ordered by id."""
        ...

    def document(self, doc_id: str) -> Document | None: ...

    def passages_of_document(self, doc_id: str) -> list[Passage]:
        """A document's passages in text order."""
        ...

    def filter_rows(self, filters: Filters) -> set[int] | None:
        """Rows passing every filter (valid values assumed); None when nothing filters."""
        ...

    def provision(self, ref: LegalRef) -> list[Passage]:
        """The statute passages holding the § (just its ledd, when split by ledd and asked)."""
        ...

    def citing(self, ref: LegalRef) -> list[Passage]:
        """The statute passages holding the § first, then every passage that cites it."""
        ...

    def passages_of_theme(self, theme: str) -> list[Passage]:
        """Passages that have the theme (probability ≥ the threshold), in row order."""
        ...

    def close(self) -> None: ...


def open_store(location: str) -> PassageStore:
    """A store by location: a path to a ``store.sqlite`` file."""
    from pathlib import Path

    return SQLiteStore(Path(location))


__all__ = ["PassageStore", "SQLiteStore", "open_store", "write_store"]
