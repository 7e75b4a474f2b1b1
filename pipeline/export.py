"""Exports of coded passages for researchers' own tools: JSONL and CSV.

One row per passage: the passage, its document's metadata, section, pages, offsets into
the document's clean text, legal references and every theme's probability, and the reviewed
labels where a coder has reviewed it. The corpus views that count them are in
`pipeline.corpus_views`; both write CSV with `write_view_csv`.

A CSV starts with a UTF-8 byte-order mark: without it Excel reads the file as Windows-1252
and shows "Ã¸" for "ø". Norwegian Excel also splits columns on ";", not ",", so the
separator is a choice (`DELIMITERS`); "," stays the default, which every other tool reads.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import IO, TYPE_CHECKING, Any, Literal

from pipeline.errors import SettingsError
from pipeline.model import THEMES
from pipeline.serialize import passage_row

if TYPE_CHECKING:
    from pipeline.review import Resolved
    from pipeline.search import Index

ExportFormat = Literal["jsonl", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("jsonl", "csv")
# utf-8-sig writes the byte-order mark Excel needs; JSONL readers expect none.
ENCODINGS: dict[ExportFormat, str] = {"jsonl": "utf-8", "csv": "utf-8-sig"}
Delimiter = Literal[",", ";", "tab"]
DELIMITERS: dict[Delimiter, str] = {",": ",", ";": ";", "tab": "\t"}  # ";": Norwegian Excel
CSV_COLUMNS = (
    "passage_id", "doc_id", "title", "kind", "year", "publisher", "official_id", "section",
    "locator", "page_start", "page_end", "char_start", "char_end", "legal_refs",
    *(f"theme_{theme}" for theme in THEMES), "labels", "label_source", "coder",
    "review_status", "text",
)  # fmt: skip


def check_format(fmt: str) -> ExportFormat:
    """The export format, or SettingsError naming the valid ones."""
    for known in FORMATS:
        if fmt == known:
            return known
    raise SettingsError(f"unknown format '{fmt}'; valid formats are {', '.join(FORMATS)}.")


def check_delimiter(delimiter: str) -> Delimiter:
    """The CSV delimiter by name, or SettingsError naming the valid ones."""
    for known in DELIMITERS:
        if delimiter == known:
            return known
    valid = ", ".join(f"'{d}'" for d in DELIMITERS)
    raise SettingsError(f"unknown delimiter '{delimiter}'; valid delimiters are {valid}.")


def export_rows(
    index: Index, *, theme: str | None = None, resolved: Mapping[str, Resolved] | None = None
) -> Iterator[dict[str, Any]]:
    """Rows for every passage of an index, or only those labelled with one theme.

    With `resolved` (`pipeline.review.resolve`) a row's labels are the reviewed ones where a
    coder reviewed the passage, and the row says so: `label_source` "reviewed" or "model",
    the `coder`, and `review_status` ("changed": reviewed before its text changed). The theme
    filter uses the same labels.
    """
    from pipeline.themes import check_theme

    if theme is not None:
        check_theme(theme)  # before any output: an unknown theme is an error, not an empty file
    if resolved is None:
        passages = index.passages if theme is None else index.store.passages_of_theme(theme)
        for passage in passages:
            yield passage_row(passage, index.document_of(passage))
        return
    for passage in index.passages:
        chosen = resolved.get(passage.passage_id)
        labels = chosen.labels if chosen else passage.labels
        if theme is not None and theme not in labels:
            continue
        row = passage_row(passage, index.document_of(passage))
        row["labels"] = list(labels)
        row["label_source"] = chosen.source if chosen else "model"
        row["coder"] = chosen.coder if chosen else ""
        row["review_status"] = chosen.status if chosen else "model"
        yield row


def write_jsonl(rows: Iterable[dict[str, Any]], handle: IO[str]) -> int:
    count = 0
    for row in rows:
        handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        count += 1
    return count


def write_csv(rows: Iterable[dict[str, Any]], handle: IO[str], delimiter: Delimiter = ",") -> int:
    """Passage rows flattened to `CSV_COLUMNS` (section path, references and labels joined)."""
    return write_view_csv(CSV_COLUMNS, (flat_row(row) for row in rows), handle, delimiter)


def flat_row(row: Mapping[str, Any]) -> dict[str, Any]:
    flat = dict(row)
    flat["section"] = " › ".join(row["section"])
    flat["legal_refs"] = "; ".join(ref["raw"] + " = " + ref["key"] for ref in row["legal_refs"])
    flat["labels"] = "; ".join(row["labels"])
    for name in THEMES:
        flat[f"theme_{name}"] = row["themes"].get(name, "")
    return flat


def cell(value: object, separator: str) -> object:
    """A CSV value; a decimal in a ";" file gets a decimal comma."""
    # Excel set to Norwegian, the one that wants ";", reads "0.83" as text or a date.
    if separator == ";" and isinstance(value, float):
        return str(value).replace(".", ",")
    return value


def save_export(
    rows: Iterable[dict[str, Any]],
    handle: IO[bytes],
    fmt: ExportFormat,
    *,
    delimiter: Delimiter = ",",
) -> int:
    """Write rows to a binary file in a format and its encoding (`ENCODINGS`); the count.

    `delimiter` separates the columns of a CSV and is not used for JSONL.
    """
    fmt = check_format(fmt)
    text = io.TextIOWrapper(handle, encoding=ENCODINGS[fmt], newline="", write_through=True)
    try:
        if fmt == "csv":
            return write_csv(rows, text, delimiter)
        return write_jsonl(rows, text)
    finally:
        text.flush()
        text.detach()  # the handle stays open: it is the caller's

def write_view_csv(
    columns: Sequence[str],
    rows: Iterable[Mapping[str, Any]],
    handle: IO[str],
    delimiter: Delimiter = ",",
) -> int:
    """Rows under a header of `columns`, decimals with a comma in a ";" file; the count."""
    separator = DELIMITERS[check_delimiter(delimiter)]
    writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore",
                            delimiter=separator)  # fmt: skip
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow({name: cell(row.get(name, ""), separator) for name in columns})
        count += 1
    return count
