"""kvp: search, tag and answer questions over Norwegian policy texts on kvalifiseringsprogrammet.

The public API. Everything the CLI and the web app do goes through these names.
"""

from pipeline.corpus import load_corpus
from pipeline.errors import (
    CorpusError,
    EmptyDocumentError,
    EncryptedDocumentError,
    ExtractionError,
    ManifestError,
    PipelineError,
    UnsupportedFormatError,
)
from pipeline.extract import extract, extract_all, extract_file
from pipeline.model import (
    Block,
    CorpusScan,
    Document,
    ExtractionBatch,
    ExtractionReport,
    Failure,
    Kind,
    Role,
    Source,
)

__version__ = "0.1.0"

__all__ = [
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
    "extract",
    "extract_all",
    "extract_file",
    "load_corpus",
]
