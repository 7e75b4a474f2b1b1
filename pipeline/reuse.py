"""What a build may take from the previous one: its documents, passages and manifest.

A document is reused when its file has the same bytes and the same manifest entry, and the
settings that decide passages are unchanged. A previous build that cannot be read, or whose
store does not hold what its manifest lists, is damaged: nothing is taken from it and the
build says so, rather than stopping with the library's error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.corpus import content_hash
from pipeline.errors import UnusableIndexError
from pipeline.layout import CURRENT, BuildFiles
from pipeline.model import Document, Passage, Source


@dataclass
class Previous:
    """The build in use before this one, if it can be reused."""

    manifest: dict[str, Any]
    documents: dict[str, Document]
    passages: dict[str, list[Passage]]


def load_previous(index_dir: Path, settings: dict[str, Any]) -> tuple[Previous | None, str | None]:
    """The previous build, if it can be reused, and a notice when it is damaged.

    Anything unreadable about it (a missing store, a truncated manifest, counts that do not
    agree) means its documents are processed again, never that the build stops.
    """
    try:
        from pipeline.index import read_manifest, same_passages

        manifest = read_manifest(index_dir)
        if not same_passages(manifest.get("settings", {}), settings):
            return None, None
        return read_previous(index_dir, manifest), None
    except UnusableIndexError as err:
        if err.cause == "outdated" or (err.cause == "missing" and not has_current(index_dir)):
            return None, None  # nothing to reuse, nothing damaged
        return None, damaged_notice(index_dir, err)
    except Exception as err:  # a damaged index shows itself as any library's error
        return None, damaged_notice(index_dir, err)


def has_current(index_dir: Path) -> bool:
    """Whether a build was ever switched in (the link may lead to a folder since deleted)."""
    link = index_dir / CURRENT
    return link.is_symlink() or link.exists()


def damaged_notice(index_dir: Path, err: Exception) -> str:
    return (
        f"the index at {index_dir} was damaged ({type(err).__name__}: {err}); "
        "every document is processed again."
    )


def read_previous(index_dir: Path, manifest: dict[str, Any]) -> Previous:
    from pipeline.index import current_build
    from pipeline.store import SQLiteStore

    path = BuildFiles.of(current_build(index_dir)).store
    if not path.is_file():
        raise UnusableIndexError(f"{path.name} is missing")
    store = SQLiteStore(path)
    try:
        documents = store.documents()
        passages: dict[str, list[Passage]] = {}
        for passage in store.passages():
            passages.setdefault(passage.doc_id, []).append(passage)
    finally:
        store.close()
    stored = sum(len(v) for v in passages.values())
    hashes = {doc_id: d.content_hash for doc_id, d in documents.items()}
    if stored != manifest.get("passages") or hashes != manifest.get("documents"):
        raise UnusableIndexError("its store does not hold what its manifest lists")
    return Previous(manifest, documents, passages)


def reusable(source: Source, digest: str, previous: Previous | None) -> Document | None:
    """The previous build's document, if it is this source with the same bytes."""
    if previous is None:
        return None
    document = previous.documents.get(source.doc_id)
    if document is None or document.content_hash != digest or document.source != source:
        return None
    return document


@dataclass
class Plan:
    sources: list[Source]
    hashes: dict[str, str]
    kept: list[str]
    new: list[str]
    corpus: Path | None = None

    def removed(self, previous: Previous | None) -> list[str]:
        if previous is None:
            return []
        present = {s.doc_id for s in self.sources}
        return sorted(d for d in previous.documents if d not in present)


def plan_build(sources: Sequence[Source], previous: Previous | None) -> Plan:
    hashes = {s.doc_id: content_hash(s.path) for s in sources}
    kept = [s.doc_id for s in sources if reusable(s, hashes[s.doc_id], previous)]
    new = [s.doc_id for s in sources if s.doc_id not in kept]
    return Plan(list(sources), hashes, kept, new)
