"""PDF (the reports): characters to reading-order blocks, with page furniture removed.

Read with pdfplumber, working from its positioned characters rather than its text so that
the layout decisions are ours and explainable. This module opens the file (and reports a
password, a damaged file or pages without a text layer); `layout` turns each page's
characters into lines in reading order, without furniture; `blocks` turns those lines into
headings, paragraphs, footnotes and captions.

``page`` on every block is the physical page (1-based index into the file), not the number
printed on it; printed numbers are removed as furniture and kept in the report.
"""

from __future__ import annotations

import re
from pathlib import Path

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from pipeline.errors import EmptyDocumentError, EncryptedDocumentError, ExtractionError
from pipeline.extract import cleanup
from pipeline.extract.pdf.blocks import Builder, assign_levels, finish, paragraph_gap
from pipeline.extract.pdf.layout import Page, body_size, load_page, reading_order, strip_furniture
from pipeline.model import ExtractionReport, RawDocument


def read(path: Path) -> RawDocument:
    """Read a PDF into raw blocks in reading order, with furniture and repairs reported."""
    if path.stat().st_size == 0:
        raise EmptyDocumentError(path, "the file is empty (0 bytes); replace it with the document.")
    pages, title = load(path)
    blank = [p.number for p in pages if not p.chars and not p.tables]
    scanned = [p.number for p in pages if p.number in blank and p.has_images]
    if pages and len(scanned) == len(pages):
        raise EmptyDocumentError(
            path,
            f"none of its {len(pages)} pages has a text layer (a "
            "scanned document?); run OCR on it (e.g. ocrmypdf) and add that.",
        )
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
    warnings = [
        f"page {n} has no text layer (scanned image?); run OCR to include it" for n in scanned
    ]
    garbled = sorted({d.page for d in builder.drafts if any("(cid:" in t for t in d.lines)})
    if garbled:
        warnings.append(f"pages {garbled} use fonts without a Unicode map; some text is garbled")
    report = ExtractionReport(
        tuple(furniture),
        tuple(builder.repairs + repairs),
        tuple(warnings),
        len(pages),
        tuple(blank),
    )
    return RawDocument(tuple(blocks), report, (("title", title),) if title else ())


def load(path: Path) -> tuple[list[Page], str]:
    """Every page's characters and tables, and the title from the PDF's metadata."""
    try:
        with pdfplumber.open(path) as pdf:
            pages = []
            for number, page in enumerate(pdf.pages, start=1):
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
