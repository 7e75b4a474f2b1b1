"""Index builds under faults and hostile corpora: concurrent builds, damage, full or read-only
disks, files outside the corpus, odd file names, and a build's output in a log."""

from __future__ import annotations

import errno
import multiprocessing
import os
import shutil
from pathlib import Path

import faiss
import pytest
from typer.testing import CliRunner

from pipeline import index as indexing
from pipeline import index_folder
from pipeline.cli import app
from pipeline.corpus import id_from_name, load_corpus
from pipeline.errors import IndexBusyError, IndexWriteError
from pipeline.index import build_index
from pipeline.index_check import check_index
from pipeline.layout import BuildFiles
from pipeline.search import Index

from .helpers import HashingEncoder

runner = CliRunner()


@pytest.fixture
def corpus(statute_corpus: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    shutil.copytree(statute_corpus, folder)
    return folder


def build(corpus: Path, index_dir: Path, **options: object) -> indexing.BuildReport:
    return build_index(corpus, index_dir, encoder=HashingEncoder(), **options)  # type: ignore[arg-type]


def current_files(index_dir: Path) -> BuildFiles:
    return BuildFiles.of((index_dir / "current").resolve())


# Two builds at once ----------------------------------------------------------------------


def build_in_process(
    corpus: Path, index_dir: Path, wait: float, results: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    try:
        build_index(corpus, index_dir, encoder=HashingEncoder(), wait=wait)
        results.put("ok")
    except IndexBusyError as err:
        results.put(f"busy: {err}")


def race(corpus: Path, index_dir: Path, wait: float) -> list[str]:
    context = multiprocessing.get_context("spawn")  # the way two `kvp build` commands start
    results = context.Queue()
    workers = [
        context.Process(target=build_in_process, args=(corpus, index_dir, wait, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    return sorted(results.get(timeout=5) for _ in workers)


def test_a_second_build_at_once_refuses_and_the_index_stays_whole(
    corpus: Path, tmp_path: Path
) -> None:
    outcomes = race(corpus, tmp_path / "idx", wait=0)
    assert "ok" in outcomes  # the other refused, or started after the first had finished
    busy = [o for o in outcomes if o.startswith("busy")]
    assert all("another build of the index" in b and "--wait" in b for b in busy)
    assert check_index(tmp_path / "idx").ok


def test_a_second_build_that_waits_finds_the_index_up_to_date(corpus: Path, tmp_path: Path) -> None:
    assert race(corpus, tmp_path / "idx", wait=120) == ["ok", "ok"]
    assert check_index(tmp_path / "idx").ok
    assert len(list((tmp_path / "idx" / "builds").iterdir())) <= 2


def test_the_lock_refuses_while_held_and_names_the_holder(tmp_path: Path) -> None:
    busy = pytest.raises(IndexBusyError, match=rf"pid {os.getpid()}.*--wait SECONDS")
    with (
        index_folder.build_lock(tmp_path / "idx"),
        busy,
        index_folder.build_lock(tmp_path / "idx", wait=0.3),
    ):
        pass
    with index_folder.build_lock(tmp_path / "idx"):  # released: free again
        pass


def test_switching_keeps_a_build_being_written_and_removes_only_old_builds(
    corpus: Path, tmp_path: Path
) -> None:
    build(corpus, tmp_path / "idx")
    other = index_folder.new_partial(tmp_path / "idx", "20990101T000000000000Z")
    (other / "store.sqlite").write_text("")  # another writer's half-done work
    index_folder.switch_current(tmp_path / "idx", (tmp_path / "idx" / "current").resolve())
    assert other.is_dir()


def test_a_dead_builds_partial_folder_is_removed_by_the_next_build(
    corpus: Path, tmp_path: Path
) -> None:
    build(corpus, tmp_path / "idx")
    dead = tmp_path / "idx" / "builds" / ".20200101T000000000000Z.99999.partial"
    dead.mkdir()
    build(corpus, tmp_path / "idx")
    assert not dead.exists()


# A damaged index ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda f: f.store.unlink(), id="store missing"),
        pytest.param(lambda f: f.store.write_bytes(b"not a database" * 100), id="store garbage"),
        pytest.param(lambda f: f.vectors.unlink(), id="vectors missing"),
        pytest.param(lambda f: shutil.rmtree(f.bm25), id="bm25 missing"),
        pytest.param(lambda f: f.manifest.write_text('{"settings": '), id="manifest truncated"),
        pytest.param(lambda f: shutil.rmtree(f.root), id="build folder gone"),
        pytest.param(
            lambda f: f.charngram.write_bytes(f.charngram.read_bytes()[:100]),
            id="charngram truncated",
        ),
    ],
)
def test_build_repairs_a_damaged_index(corpus: Path, tmp_path: Path, damage: object) -> None:
    build(corpus, tmp_path / "idx")
    damage(current_files(tmp_path / "idx"))  # type: ignore[operator]
    assert not check_index(tmp_path / "idx").ok
    report = build(corpus, tmp_path / "idx")
    assert any("was damaged" in notice for notice in report.notices)
    assert check_index(tmp_path / "idx").ok
    assert len(Index(tmp_path / "idx", encoder=HashingEncoder()).passages) == report.passages


def test_a_repair_reuses_the_readable_store(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "idx")
    current_files(tmp_path / "idx").vectors.unlink()
    report = build(corpus, tmp_path / "idx")
    assert report.processed == () and set(report.reused) == {"sotjl", "kvp-forskrift"}


def test_check_finds_vectors_that_belong_to_other_passages(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "idx")
    files = current_files(tmp_path / "idx")
    vectors = faiss.read_index(str(files.vectors))
    rows = vectors.reconstruct_n(0, vectors.ntotal)
    swapped = faiss.IndexFlatIP(vectors.d)
    swapped.add(rows[::-1].copy())  # same count and size, every vector in the wrong row
    faiss.write_index(swapped, str(files.vectors))
    result = check_index(tmp_path / "idx", reembed=4, encoder=HashingEncoder())  # type: ignore[arg-type]
    assert not result.ok and "is not their text's" in result.problems[0]


def test_check_command_reports_a_whole_and_a_damaged_index(corpus: Path, tmp_path: Path) -> None:
    build(corpus, tmp_path / "idx")
    ok = runner.invoke(app, ["check", "--index", str(tmp_path / "idx")])
    assert ok.exit_code == 0 and "index ok" in ok.stdout and "passages" in ok.stdout
    current_files(tmp_path / "idx").bm25.joinpath("params.index.json").unlink()
    bad = runner.invoke(app, ["check", "--index", str(tmp_path / "idx")])
    assert (bad.exit_code == 1 and "missing" in bad.output) or "bm25: unreadable" in bad.output
    assert "run `kvp build` to repair it" in bad.stdout


def test_check_of_no_index_names_the_fix(tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1 and "run `kvp build`" in result.output


# Full and read-only disks ------------------------------------------------------------------


def test_a_full_disk_is_refused_before_any_extraction(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = HashingEncoder()
    monkeypatch.setattr(
        index_folder.shutil, "disk_usage", lambda _: shutil._ntuple_diskusage(1, 1, 1000)
    )  # type: ignore[attr-defined]
    with pytest.raises(IndexWriteError, match=r"idx: the disk is full \(0 MB free"):
        build_index(corpus, tmp_path / "idx", encoder=encoder)  # type: ignore[arg-type]
    assert encoder.calls == 0


def test_a_disk_that_fills_while_writing_leaves_the_previous_build(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build(corpus, tmp_path / "idx")
    before = (tmp_path / "idx" / "current").resolve()

    def full(*_: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipeline.store.write_store", full)
    (corpus / "ny.md").write_text("# Ny\n\nEn ny tekst om kvalifiseringsprogrammet.\n")
    with pytest.raises(IndexWriteError, match="the disk is full; free some space"):
        build(corpus, tmp_path / "idx")
    assert (tmp_path / "idx" / "current").resolve() == before and check_index(tmp_path / "idx").ok
    assert [p.name for p in (tmp_path / "idx" / "builds").iterdir()] == [before.name]


def refuse_writes(errno_value: int, where: Path):  # type: ignore[no-untyped-def]
    real = index_folder.tempfile.NamedTemporaryFile

    def probe(*args: object, dir: Path, **kwargs: object):  # type: ignore[no-untyped-def]
        if Path(dir).resolve().is_relative_to(where.resolve()):
            raise OSError(errno_value, os.strerror(errno_value), str(dir))
        return real(*args, dir=dir, **kwargs)  # type: ignore[call-overload]

    return probe


@pytest.mark.parametrize(
    ("code", "says"),
    [(errno.EROFS, "it is read-only"), (errno.EACCES, "you may not write there")],
)
def test_a_read_only_index_folder_is_named_before_any_work(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, says: str
) -> None:
    encoder = HashingEncoder()
    (tmp_path / "idx").mkdir()
    monkeypatch.setattr(
        index_folder.tempfile, "NamedTemporaryFile", refuse_writes(code, tmp_path / "idx")
    )
    with pytest.raises(IndexWriteError, match=rf"cannot write the index at .*idx: {says}; make"):
        build_index(corpus, tmp_path / "idx", encoder=encoder)  # type: ignore[arg-type]
    assert encoder.calls == 0


def test_a_read_only_cache_is_named_with_the_variable_to_set(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "ro" / "embeddings.sqlite"
    monkeypatch.setenv("KVP_EMBEDDING_CACHE", str(cache))
    (tmp_path / "ro").mkdir()
    monkeypatch.setattr(
        index_folder.tempfile, "NamedTemporaryFile", refuse_writes(errno.EROFS, tmp_path / "ro")
    )
    with pytest.raises(
        IndexWriteError, match=r"the embedding cache at .*ro: it is read-only.*KVP_EMBEDDING_CACHE"
    ):
        build(corpus, tmp_path / "idx")


# The corpus boundary -----------------------------------------------------------------------


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret" / "secret.txt"
    path.parent.mkdir()
    path.write_text("Hemmelig tekst som ikke hører hjemme i indeksen.\n")
    return path


def test_a_link_out_of_the_corpus_is_reported_not_read(corpus: Path, secret: Path) -> None:
    (corpus / "lenke.txt").symlink_to(secret)
    (corpus / "mappe").symlink_to(secret.parent)
    scan = load_corpus(corpus)
    assert {s.doc_id for s in scan.sources} == {"sotjl", "kvp-forskrift"}
    reasons = {f.path.name: f.reason for f in scan.failures}
    assert (
        "is a link to" in reasons["lenke.txt"] and "--allow-outside-corpus" in reasons["lenke.txt"]
    )
    assert "is a link to the folder" in reasons["mappe"]
    allowed = load_corpus(corpus, allow_outside=True)
    assert {s.path.name for s in allowed.sources} >= {"lenke.txt", "secret.txt"}


@pytest.mark.parametrize("named", ["../secret/secret.txt", "ABSOLUTE"])
def test_a_manifest_path_out_of_the_corpus_is_reported_not_read(
    corpus: Path, secret: Path, named: str
) -> None:
    named = str(secret) if named == "ABSOLUTE" else named
    manifest = corpus / "MANIFEST.toml"
    manifest.write_text(
        manifest.read_text()
        + f'\n[[document]]\nid = "x"\nfile = "{named}"\nkind = "other"\ntitle = "X"\n'
    )
    scan = load_corpus(corpus)
    assert "x" not in {s.doc_id for s in scan.sources}
    (failure,) = scan.failures
    assert "outside the corpus folder" in failure.reason
    assert "x" in {s.doc_id for s in load_corpus(corpus, allow_outside=True).sources}


def test_a_build_does_not_index_a_file_outside_the_corpus(
    corpus: Path, secret: Path, tmp_path: Path
) -> None:
    (corpus / "lenke.txt").symlink_to(secret)
    report = build(corpus, tmp_path / "idx")
    assert [f.path.name for f in report.failures] == ["lenke.txt"]
    texts = " ".join(p.text for p in Index(tmp_path / "idx", encoder=HashingEncoder()).passages)
    assert "Hemmelig" not in texts


def test_a_manifest_entry_naming_a_folder_says_so(corpus: Path) -> None:
    (corpus / "rapporter").mkdir()
    manifest = corpus / "MANIFEST.toml"
    manifest.write_text(
        manifest.read_text()
        + '\n[[document]]\nid = "r"\nfile = "rapporter"\nkind = "report"\ntitle = "R"\n'
    )
    (failure,) = load_corpus(corpus).failures
    assert "which is a folder; name a file inside it" in failure.reason


# File names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stem", "doc_id"),
    [
        ("ünïcødé—æøå 📄", "unicode-aeoa"),
        ("Årsrapport Bærum 2021", "arsrapport-baerum-2021"),
        ("Évaluering av KVP", "evaluering-av-kvp"),
        ("Søknad_om_KVP", "soknad_om_kvp"),
        ("📄📄", "document"),
    ],
)
def test_ids_from_file_names_keep_norwegian_letters(stem: str, doc_id: str) -> None:
    assert id_from_name(stem) == doc_id


def test_a_newline_in_a_file_name_stays_on_one_line_of_output(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.embed.load_encoder", lambda *_: HashingEncoder())
    (corpus / "to\nlinjer.xyz").write_text("x")
    result = runner.invoke(
        app, ["build", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--no-themes"]
    )
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed:")]
    assert len(failed) == 1 and "to\\nlinjer.xyz" in failed[0]


def test_a_build_in_a_log_prints_progress_lines(
    corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("pipeline.embed.load_encoder", lambda *_: HashingEncoder())
    result = runner.invoke(
        app, ["build", "--corpus", str(corpus), "--index", str(tmp_path / "idx"), "--no-themes"]
    )
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert "extract: 2/2" in " ".join(lines) and any(line.startswith("embed: ") for line in lines)
