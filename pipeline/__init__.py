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

# `extract` names the subpackage; the function is exported as extract_document so that
# `import pipeline.extract.pdf` keeps working.
from pipeline.extract import extract as extract_document
from pipeline.extract import extract_all, extract_file
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
    "extract_all",
    "extract_document",
    "extract_file",
    "load_corpus",
]
