"""The one error hierarchy of the pipeline.

    PipelineError                  anything the user can act on; never a bare traceback
    ├── CorpusError                the manifest or the corpus folder is unusable
    │   └── ManifestError          MANIFEST.toml is malformed or names a missing file
    └── ExtractionError            one file could not be turned into a Document
        ├── UnsupportedFormatError the file extension has no extractor
        ├── EmptyDocumentError     the file holds no usable text (empty, scanned, …)
        └── EncryptedDocumentError the file is password protected

Every message says what failed, the offending value, and what to do next.
"""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """Base class: an error with a message meant for the user."""


class CorpusError(PipelineError):
    """The corpus folder or its manifest cannot be used."""


class ManifestError(CorpusError):
    """MANIFEST.toml is malformed or inconsistent with the files."""


class ExtractionError(PipelineError):
    """One file could not be extracted; `path` names it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class UnsupportedFormatError(ExtractionError):
    """No extractor is registered for the file's extension."""


class EmptyDocumentError(ExtractionError):
    """The file was read but holds no text to index."""


class EncryptedDocumentError(ExtractionError):
    """The file is encrypted and no password was given."""
