"""The public face of the library, and the promise that importing it stays light."""

from __future__ import annotations

import subprocess
import sys

import pipeline

PUBLIC = {
    "Block",
    "CorpusError",
    "CorpusScan",
    "Document",
    "EmptyDocumentError",
    "EncryptedDocumentError",
    "ExtractionBatch",
    "ExtractionError",
    "ExtractionReport",
    "Failure",
    "Kind",
    "ManifestError",
    "PipelineError",
    "Role",
    "Source",
    "UnsupportedFormatError",
    "__version__",
    "extract_document",
    "extract_all",
    "extract_file",
    "load_corpus",
}


def test_public_api_is_pinned() -> None:
    assert set(pipeline.__all__) == PUBLIC
    for name in PUBLIC:
        assert hasattr(pipeline, name), name


def test_import_does_not_load_heavy_modules() -> None:
    code = (
        "import sys, pipeline, pipeline.cli; "
        "heavy = {'torch', 'faiss', 'sentence_transformers', 'spacy', 'pdfplumber', 'sklearn'}; "
        "print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
