"""Extraction: one file in, one Document out.

Each format has its own module or package (pdf, text, markdown, html, docx) exposing one
function ``read(path, settings) -> RawDocument`` (`ExtractSettings`: limits, OCR). This
module picks the reader by extension (the table is `pipeline.formats.READERS`) and assembles
the Document: clean text, block offsets into it, and section paths from the headings.

`extract` reads one file in this process. `iter_extract` and `extract_all`, which a build
uses, extract each file in a worker process within an `ExtractionBudget` of time and memory
(`pipeline.extract.budget`), so that one hostile file is reported and the rest still read;
``budget=None`` reads them in this process instead.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import replace
from pathlib import Path

from pipeline.corpus import content_hash, source_for_file, unsupported_reason
from pipeline.errors import EmptyDocumentError, ExtractionError, UnsupportedFormatError
from pipeline.extract.budget import ExtractionBudget, extract_budgeted
from pipeline.formats import READERS as READERS  # re-exported: callers use extract.READERS
from pipeline.model import (
    Block,
    Document,
    ExtractionBatch,
    Failure,
    RawBlock,
    RawDocument,
    Role,
    Source,
)
from pipeline.settings import ExtractSettings

BLOCK_SEPARATOR = "\n\n"
NUMBERED_HEADING_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s")
DEFAULT_SETTINGS = ExtractSettings()
DEFAULT_BUDGET = ExtractionBudget()


def reader_for(path: Path) -> Callable[[Path, ExtractSettings], RawDocument]:
    """The format reader for a file, chosen by its extension."""
    module_name = READERS.get(path.suffix.lower())
    if module_name is None:
        raise UnsupportedFormatError(path, unsupported_reason(path))
    module = importlib.import_module(f"pipeline.extract.{module_name}")
    reader: Callable[[Path, ExtractSettings], RawDocument] = module.read
    return reader


def extract(source: Source, settings: ExtractSettings = DEFAULT_SETTINGS) -> Document:
    """Extract one document; raises an ExtractionError subclass naming the file and the fix."""
    path = source.path
    if not path.is_file():
        raise ExtractionError(
            path, "the file does not exist; check the path or the manifest entry."
        )
    if path.stat().st_size == 0:
        raise EmptyDocumentError(
            path, "the file is empty (0 bytes); replace it with the real document."
        )
    read = reader_for(path)
    try:
        raw = read(path, settings)
    except (ExtractionError, MemoryError):  # out of memory is the budget's to report
        raise
    except Exception as err:  # a parser's own exception: report it with the file's name
        raise ExtractionError(
            path,
            f"could not be read as {path.suffix.lstrip('.').upper()} "
            f"({type(err).__name__}: {err}).",
        ) from err
    if not any(block.text.strip() for block in raw.blocks):
        raise EmptyDocumentError(
            path,
            "no text could be extracted; if it is a scan, run OCR on it first and add the result.",
        )
    if source.inferred:
        source = infer_from_metadata(source, dict(raw.metadata))
    return assemble(source, raw, content_hash(path))


def extract_file(path: Path | str, settings: ExtractSettings = DEFAULT_SETTINGS) -> Document:
    """Extract one file, with its manifest entry if it lies in a corpus, else inferred metadata."""
    return extract(source_for_file(Path(path)), settings)


def extract_all(
    sources: Iterable[Source],
    settings: ExtractSettings = DEFAULT_SETTINGS,
    budget: ExtractionBudget | None = DEFAULT_BUDGET,
) -> ExtractionBatch:
    """Extract many documents; a file that fails or is over budget is reported, the rest go on."""
    documents: list[Document] = []
    failures: list[Failure] = []
    for source, outcome in iter_extract(sources, settings, budget):
        if isinstance(outcome, Document):
            documents.append(outcome)
        else:
            failures.append(Failure(source.path, outcome.reason))
    return ExtractionBatch(tuple(documents), tuple(failures))


def iter_extract(
    sources: Iterable[Source],
    settings: ExtractSettings = DEFAULT_SETTINGS,
    budget: ExtractionBudget | None = DEFAULT_BUDGET,
) -> Iterator[tuple[Source, Document | ExtractionError]]:
    """Extract lazily, yielding each document or its error in source order, for progress bars.

    Each file is extracted in a worker process within the budget (an `OverBudgetError` if
    not); with ``budget=None``, in this process and without limits of time or memory.
    """
    if budget is not None:
        yield from extract_budgeted(sources, settings, budget)
        return
    for source in sources:
        try:
            yield source, extract(source, settings)
        except ExtractionError as err:
            yield source, err


def infer_from_metadata(source: Source, metadata: dict[str, str]) -> Source:
    """Improve inferred metadata with what the file says about itself (a title, a year)."""
    updates: dict[str, object] = {}
    if metadata.get("title"):
        updates["title"] = metadata["title"]
    if metadata.get("year", "").isdigit() and source.year is None:
        updates["year"] = int(metadata["year"])
    return replace(source, **updates) if updates else source  # type: ignore[arg-type]


def heading_level(block: RawBlock, last_numbered: int) -> int:
    """A heading's depth: the format's own, its numbering ("2.3" → 2), or one below the last."""
    if block.level:
        return block.level
    match = NUMBERED_HEADING_RE.match(block.text)
    if match:
        parts = match.group(1).split(".")
        # "1.0 Innledning" is a chapter, written the way some theses number them.
        while len(parts) > 1 and parts[-1] == "0":
            parts.pop()
        return len(parts)
    return last_numbered + 1


def assemble(source: Source, raw: RawDocument, digest: str) -> Document:
    """Join raw blocks into the document text and give each block its offsets and section."""
    blocks: list[Block] = []
    stack: list[tuple[int, str]] = []
    last_numbered = 0
    cursor = 0
    pieces: list[str] = []
    for raw_block in raw.blocks:
        text = raw_block.text.strip()
        if not text:
            continue
        level = raw_block.level
        if raw_block.role is Role.HEADING:
            level = heading_level(raw_block, last_numbered)
            if raw_block.level or NUMBERED_HEADING_RE.match(text):
                last_numbered = level
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, text))
        if pieces:
            pieces.append(BLOCK_SEPARATOR)
            cursor += len(BLOCK_SEPARATOR)
        pieces.append(text)
        blocks.append(
            Block(
                text=text,
                role=raw_block.role,
                page=raw_block.page,
                section=tuple(title for _, title in stack),
                char_start=cursor,
                char_end=cursor + len(text),
                level=level,
                rows=raw_block.rows,
                label=raw_block.label,
                ocr=raw_block.ocr,
            )
        )
        cursor += len(text)
    return Document(
        source=source,
        text="".join(pieces),
        blocks=tuple(blocks),
        content_hash=digest,
        report=raw.report,
    )


__all__ = ["assemble", "extract", "extract_all", "extract_file", "iter_extract", "reader_for"]
