"""The one table that maps every error class to an HTTP status."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pipeline.errors import (
    EncoderError,
    NotFoundError,
    PipelineError,
    UnavailableError,
    UnusableIndexError,
)

# Most specific first: the first class an error is an instance of decides its status.
STATUSES: tuple[tuple[type[Exception], int], ...] = (
    (NotFoundError, 404),
    (UnusableIndexError, 503),  # no index, a damaged one, or one from another version
    (EncoderError, 503),
    (UnavailableError, 503),
    (PipelineError, 400),  # SearchError, LegalRefError, ThemeError …: the request must change
)


def status_for(error: Exception) -> int:
    """The HTTP status of an error: 4xx for what the user can fix, 503 for what is missing."""
    for cls, status in STATUSES:
        if isinstance(error, cls):
            return status
    return 500


def validation_message(errors: Sequence[Any]) -> str:
    """Pydantic's errors as one readable line: "question: String should have at most …"."""
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(location)
        message = str(error.get("msg", "invalid value"))
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts) or "the request is not valid."
