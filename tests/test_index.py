"""Index builds: complete, incremental, atomic; loading refuses what it cannot trust."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pipeline import index as indexing
from pipeline.errors import UnusableIndexError
from pipeline.index import build_index, read_manifest
from pipeline.search import Index

from .helpers import HashingEncoder


@pytest.fixture
def corpus(statute_corpus: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(statute_corpus, folder)
    return folder


def build(
    corpus: Path, index_dir: Path, encoder: HashingEncoder | None = None
) -> indexing.BuildReport:
    return build_index(corpus, index_dir, encoder=encoder or HashingEncoder())


def test_build_writes_every_part_and_a_manifest(corpus: Path, tmp_path: Path) -> None:
    report = build(corpus, tmp_path / "idx")
    assert report.processed == ("sotjl", "kvp-forskrift") and not report.failures
    build_dir = (tmp_path / "idx" / "current").resolve()
    assert {p.name for p in build_dir.iterdir()} >= {
        "manifest.json",
        "store.sqlite",
        "vectors.faiss",
        "bm25",
    }
    manifest = read_manifest(tmp_path / "idx")
    assert manifest["encoder"] == "test/hashing-64" and manifest["passages"] == report.passages
    assert set(manifest["documents"]) == {"sotjl", "kvp-forskrift"}
    assert {"faiss-cpu", "bm25s"} <= set(manifest["versions"])
    loaded = Index(tmp_path / "idx", encoder=HashingEncoder())
    assert len(loaded.passages) == report.passages == loaded.retriever("dense").vectors.ntotal


def test_unchanged_corpus_is_up_to_date(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "idx")
    before = (tmp_path / "idx" / "current").resolve()
    report = build(corpus, tmp_path / "idx")
    assert report.up_to_date and report.processed == ()
    assert (tmp_path / "idx" / "current").resolve() == before


def test_changing_one_document_reprocesses_only_it(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "idx")
    old = {p.passage_id for p in Index(tmp_path / "idx", encoder=HashingEncoder()).passages}
    regulation = corpus / "forskrift-kvalifiseringsprogram.md"
    regulation.write_text(
        regulation.read_text()
        + "\n#### § 99. Ny regel\n\nEn helt ny regel om kvalifiseringsprogrammet.\n"
    )
    encoder = HashingEncoder()
    report = build(corpus, tmp_path / "idx", encoder)
    assert report.processed == ("kvp-forskrift",) and report.reused == ("sotjl",)
    new = {p.passage_id for p in Index(tmp_path / "idx", encoder=encoder).passages}
    assert {pid for pid in old if pid.startswith("sotjl:")} <= new
    assert len(new - old) == 1 and encoder.calls == 1  # only the new § was embedded
    # The replaced build stays one round, for a reader that resolved `current` just before.
    first = sorted((tmp_path / "idx" / "builds").iterdir())
    assert len(first) == 2 and (tmp_path / "idx" / "current").resolve() == first[1]
    regulation.write_text(regulation.read_text() + "\nEnda en setning om programmet.\n")
    build(corpus, tmp_path / "idx", HashingEncoder())
    builds = sorted((tmp_path / "idx" / "builds").iterdir())
    assert len(builds) == 2 and builds[0] == first[1]  # the oldest is cleaned up


def test_removed_documents_disappear(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "idx")
    (corpus / "forskrift-kvalifiseringsprogram.md").unlink()
    manifest = (corpus / "MANIFEST.toml").read_text()
    (corpus / "MANIFEST.toml").write_text(
        manifest[: manifest.index('[[document]]\nid = "kvp-forskrift"')]
    )
    report = build(corpus, tmp_path / "idx")
    assert report.removed == ("kvp-forskrift",)
    loaded = Index(tmp_path / "idx", encoder=HashingEncoder())
    assert {p.doc_id for p in loaded.passages} == {"sotjl"}


def test_a_build_killed_halfway_leaves_the_previous_index(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(corpus, tmp_path / "idx")
    (corpus / "forskrift-kvalifiseringsprogram.md").write_text(
        "# Endret\n\nNy tekst om programmet og stønaden.\n"
    )

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("pipeline.store.write_store", crash)
    with pytest.raises(KeyboardInterrupt):
        build(corpus, tmp_path / "idx")
    loaded = Index(tmp_path / "idx", encoder=HashingEncoder())
    assert any(p.locator == "§ 35" for p in loaded.passages)
    assert loaded.search("kvalifiseringsstønad", k=3)


def test_missing_damaged_and_outdated_indexes_say_run_build(corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(UnusableIndexError, match=r"no index at .*; run `kvp build`"):
        Index(tmp_path / "finnes-ikke")
    build(corpus, tmp_path / "idx")
    manifest = tmp_path / "idx" / "current" / "manifest.json"
    data = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**data, "settings": {**data["settings"], "format": 0}}))
    with pytest.raises(UnusableIndexError, match="built by an older version of kvp; run `kvp build`"):
        Index(tmp_path / "idx")
    manifest.write_text("{ not json")
    with pytest.raises(UnusableIndexError, match=r"is damaged .*; run `kvp build` to rebuild it"):
        Index(tmp_path / "idx")


def test_an_index_refuses_another_encoder(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "idx")

    class OtherEncoder(HashingEncoder):
        name = "test/other"

    loaded = Index(tmp_path / "idx", encoder=OtherEncoder())
    with pytest.raises(
        UnusableIndexError, match="built with encoder 'test/hashing-64', but 'test/other' is loaded"
    ):
        loaded.search("stønad")
