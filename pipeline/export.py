"""Exports of coded passages for researchers' own tools: JSONL and CSV.

One row per passage: the passage, its document's metadata, section, pages, offsets into
the document's clean text, legal references and every theme's probability.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING, Any, Literal

from pipeline.model import THEMES
from pipeline.serialize import passage_row

if TYPE_CHECKING:
    from pipeline.search import Index

ExportFormat = Literal["jsonl", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv")
CSV_COLUMNS = (
    "passage_id", "doc_id", "title", "kind", "year", "publisher", "official_id", "section",
    "locator", "page_start", "page_end", "char_start", "char_end", "legal_refs",
    *(f"theme_{theme}" for theme in THEMES), "labels", "text",
)  # fmt: skip


def export_rows(index: Index, *, theme: str | None = None) -> Iterator[dict[str, Any]]:
    """Rows for every passage of an index, or only those labelled with one theme."""
    from pipeline.themes import check_theme

    if theme is not None:
        check_theme(theme)  # before any output: an unknown theme is an error, not an empty file
    passages = index.passages if theme is None else index.store.passages_of_theme(theme)
    for passage in passages:
        yield passage_row(passage, index.document_of(passage))


def write_jsonl(rows: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    count = 0
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    count = 0
    for row in rows:
        flat = dict(row)
        flat["section"] = " › ".join(row["section"])
        flat["legal_refs"] = "; ".join(ref["raw"] + " = " + ref["key"] for ref in row["legal_refs"])
        flat["labels"] = "; ".join(row["labels"])
        for name in THEMES:
            flat[f"theme_{name}"] = row["themes"].get(name, "")
        writer.writerow(flat)
        count += 1
    return count


WRITERS = {"jsonl": write_jsonl, "csv": write_csv}
