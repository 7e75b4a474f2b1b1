"""Build engines: where a build's per-document stages and its encoder run.

A build (`pipeline.index`) decides what to do — which documents are new, which are kept, what
the cache already holds — and hands the work to an engine:

- `process`: extract → segment → annotate references, per document, yielding each document
  with its passages, or the reason it failed, in source order;
- `embed`: vectors for the texts the embedding cache lacks, yielded batch by batch so the
  cache keeps each batch as it arrives (an interrupted build keeps its work).

Implementations:

- `LocalEngine` (the default): in this process, extraction in budgeted worker processes
  (`pipeline.extract.budget`), the encoder in this process.
- ``RayEngine`` (`pipeline.engine_ray`, ``kvp build --engine ray``): the same stage functions
  as Ray Data stages on a local or remote Ray cluster. Importing this module never imports Ray.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np

    from pipeline.embed import Encoder
    from pipeline.errors import ExtractionError
    from pipeline.model import Document, Passage, Source
    from pipeline.settings import Settings

Processed = tuple["Document", list["Passage"]]
Outcome = tuple["Source", "Processed | ExtractionError"]


class BuildEngine(Protocol):
    name: str

    def process(self, sources: Sequence[Source], settings: Settings) -> Iterator[Outcome]:
        """Each source's document and passages, or its error, in source order."""
        ...

    def embed(
        self, encoder: Encoder, texts: Sequence[str]
    ) -> Iterator[tuple[list[str], np.ndarray]]:
        """The texts' passage vectors, as (texts, vectors) batches, in any order."""
        ...

    def close(self) -> None: ...


def process_document(document: Document, settings: Settings) -> Processed:
    """The stages after extraction: a document's passages with their legal references."""
    from pipeline.legal import annotate_refs
    from pipeline.segment import segment

    return document, annotate_refs([document], segment(document, settings.segment))


class LocalEngine:
    """Everything on this machine, in this process and its extraction workers."""

    name = "local"

    def process(self, sources: Sequence[Source], settings: Settings) -> Iterator[Outcome]:
        from pipeline.extract import iter_extract
        from pipeline.model import Document

        for source, outcome in iter_extract(sources, settings.extract):
            if isinstance(outcome, Document):
                yield source, process_document(outcome, settings)
            else:
                yield source, outcome

    def embed(
        self, encoder: Encoder, texts: Sequence[str]
    ) -> Iterator[tuple[list[str], np.ndarray]]:
        from pipeline.embed import encode_in_chunks

        return encode_in_chunks(encoder, texts)

    def close(self) -> None:
        return None


def load_engine(name: str, address: str | None = None) -> BuildEngine:
    """An engine by name: "local", or "ray" (on the cluster at ``address``, else on this
    machine's cores)."""
    from pipeline.errors import SettingsError

    if name == LocalEngine.name:
        if address:
            raise SettingsError("--address names a Ray cluster; use it with --engine ray.")
        return LocalEngine()
    if name == "ray":
        from pipeline.engine_ray import RayEngine

        return RayEngine(address=address)
    raise SettingsError(f"unknown build engine '{name}'; valid engines are local, ray.")
