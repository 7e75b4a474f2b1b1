"""The formats the pipeline reads: file suffix → reader module in `pipeline.extract`.

One table serves both sides: `corpus` takes a file as a document only if its suffix is here,
and `extract.reader_for` imports `pipeline.extract.<module>` and calls its `read(path, settings)`.
Readers are imported on first use, never from here, so that a PDF-free run never pays for
pdfplumber. A new format is a new reader module and one line in this table.
"""

from __future__ import annotations

READERS: dict[str, str] = {
    ".pdf": "pdf",
    ".txt": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".docx": "docx",
}
