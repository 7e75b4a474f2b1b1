"""Exports of coded passages for researchers' own tools: JSONL and CSV.

One row per passage: the passage, its document's metadata, section, pages, offsets into
the document's clean text, legal references and every theme's probability.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Iterator
from typing import IO, Any, Literal

from pipeline.model import Document, Passage
from pipeline.themes import THEMES, THRESHOLD, check_theme

ExportFormat = Literal["jsonl", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv")
CSV_COLUMNS = (
    "passage_id", "doc_id", "title", "kind", "year", "publisher", "official_id", "section",
    "locator", "page_start", "page_end", "char_start", "char_end", "legal_refs",
    *(f"theme_{theme}" for theme in THEMES), "labels", "text",
)  # fmt: skip


def passage_row(passage: Passage, document: Document) -> dict[str, Any]:
    """A passage as a flat JSON-ready record."""
    source = document.source
    themes = dict(passage.themes)
    return {
        "passage_id": passage.passage_id,
        "doc_id": passage.doc_id,
        "title": source.title,
        "kind": source.kind.value,
        "year": source.year,
        "publisher": source.publisher,
        "official_id": source.official_id,
        "section": list(passage.section),
        "locator": passage.locator,
        "page_start": passage.page_start,
        "page_end": passage.page_end,
        "char_start": passage.char_start,
        "char_end": passage.char_end,
        "legal_refs": [
            {
                "key": r.key,
                "act": r.act,
                "section": r.section,
                "ledd": r.ledd,
                "bokstav": r.bokstav,
                "punktum": r.punktum,
                "point": r.point,
                "raw": r.raw,
            }
            for r in passage.legal_refs
        ],
        "themes": themes,
        "labels": [theme for theme in THEMES if themes.get(theme, 0.0) >= THRESHOLD],
        "text": passage.text,
    }


def export_rows(
    pairs: Iterable[tuple[Passage, Document]], *, theme: str | None = None
) -> Iterator[dict[str, Any]]:
    """Rows for every passage, or only those labelled with one theme."""
    if theme is not None:
        check_theme(theme)
    for passage, document in pairs:
        row = passage_row(passage, document)
        if theme is None or theme in row["labels"]:
            yield row


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
