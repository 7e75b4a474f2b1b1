"""PDF (the reports): characters to reading-order blocks, with page furniture removed.

Read with pdfplumber, working from its positioned characters rather than its text so that
the layout decisions are ours and explainable. This module opens the file (and reports a
password, a damaged file or pages without a text layer); `ocr` reads those pages from their
image where it can, as characters like a text layer's; `layout` turns each page's characters
into lines in reading order, without furniture; `blocks` turns those lines into headings,
paragraphs, footnotes and captions.

``page`` on every block is the physical page (1-based index into the file), not the number
printed on it; printed numbers are removed as furniture and kept in the report.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from pipeline.errors import (
    EmptyDocumentError,
    EncryptedDocumentError,
    ExtractionError,
    OverBudgetError,
)
from pipeline.extract import cleanup
from pipeline.extract.pdf import ocr
from pipeline.extract.pdf.blocks import Builder, assign_levels, finish, paragraph_gap
from pipeline.extract.pdf.layout import Page, body_size, load_page, reading_order, strip_furniture
from pipeline.model import ExtractionReport, RawDocument
from pipeline.settings import ExtractSettings

DEFAULT_SETTINGS = ExtractSettings()


def read(path: Path, settings: ExtractSettings = DEFAULT_SETTINGS) -> RawDocument:
    """Read a PDF into raw blocks in reading order, with furniture and repairs reported.

    Pages without a text layer are read by OCR (`ocr`) when the settings allow and Tesseract
    is installed; their blocks are marked ``ocr``, and the report lists them.
    """
    if path.stat().st_size == 0:
        raise EmptyDocumentError(path, "the file is empty (0 bytes); replace it with the document.")
    pages, title = load(path, settings)
    blank = [p.number for p in pages if not p.chars and not p.tables]
    scanned = [p.number for p in pages if p.number in blank and p.has_images]
    recognised = ocr.recognise(path, pages, scanned, settings)
    if pages and len(scanned) == len(pages) and not recognised.pages:
        raise EmptyDocumentError(path, recognised.failure(len(pages)))
    pages = [recognised.pages.get(p.number, p) for p in pages]
    body = body_size([c for page in pages for c in page.chars])
    body_chars, furniture = strip_furniture(pages, body)
    layouts = [reading_order(page, chars) for page, chars in zip(pages, body_chars, strict=True)]
    builder = Builder(body, paragraph_gap(layouts, body))
    for page, regions in zip(pages, layouts, strict=True):
        builder.add_page(page.number, regions)
    assign_levels(builder.drafts, body)
    texts = [line for d in builder.drafts for line in d.lines]
    texts += [cell for d in builder.drafts for row in d.rows for cell in row]
    blocks, repairs = finish(builder.drafts, cleanup.build_lexicon(texts))
    blocks = [replace(b, ocr=True) if b.page in recognised.pages else b for b in blocks]
    warnings = list(recognised.warnings)
    garbled = sorted({d.page for d in builder.drafts if any("(cid:" in t for t in d.lines)})
    if garbled:
        warnings.append(f"pages {garbled} use fonts without a Unicode map; some text is garbled")
    report = ExtractionReport(
        tuple(furniture),
        (*recognised.repairs, *builder.repairs, *repairs),
        tuple(warnings),
        len(pages),
        tuple(blank),
        tuple(sorted(recognised.pages)),
    )
    return RawDocument(tuple(blocks), report, (("title", title),) if title else ())


def load(path: Path, settings: ExtractSettings = DEFAULT_SETTINGS) -> tuple[list[Page], str]:
    """Every page's characters and tables, and the title from the PDF's metadata."""
    try:
        with pdfplumber.open(path) as pdf:
            check_pages(path, len(pdf.pages), settings.pdf_max_pages)
            pages = []
            for number, page in enumerate(pdf.pages, start=1):
                check_page_chars(path, number, len(page.chars), settings.pdf_max_page_chars)
                pages.append(load_page(page, number))
                page.close()  # drop pdfplumber's per-page caches: long reports stay small
            title = pdf.metadata.get("Title")
    except (PdfminerException, MalformedPDFException, PSException) as err:
        cause = err.args[0] if isinstance(err, PdfminerException) and err.args else err
        if isinstance(cause, PDFEncryptionError):
            raise EncryptedDocumentError(
                path,
                "the PDF is password protected; save an unprotected copy and add that instead.",
            ) from err
        detail = f"{type(cause).__name__}: {cause}" if isinstance(cause, Exception) else cause
        raise ExtractionError(
            path,
            f"not a readable PDF ({detail}); the file is damaged, "
            "truncated or not a PDF: download or export it again.",
        ) from err
    title = cleanup.normalize_unicode(title)[0].strip() if isinstance(title, str) else ""
    # Word and similar tools fill Title with the file name; that is no title.
    if re.search(r"^(Microsoft Word - |untitled)|\.(docx?|pdf|indd)$", title, re.IGNORECASE):
        title = ""
    return pages, title


# Both checked before the layout work, which costs time and memory for every character.
def check_pages(path: Path, count: int, limit: int) -> None:
    if count > limit:
        raise OverBudgetError(
            path,
            f"has {count:,} pages, over the limit of {limit:,} (ExtractSettings.pdf_max_pages); "
            "split it into smaller PDFs (e.g. with qpdf --pages) and add those.",
        )


def check_page_chars(path: Path, number: int, count: int, limit: int) -> None:
    if count > limit:
        raise OverBudgetError(
            path,
            f"page {number} has {count:,} characters, over the limit of {limit:,} per page "
            "(ExtractSettings.pdf_max_page_chars); a page of text holds under 10,000: check "
            "that page, or export the document to PDF again.",
        )
