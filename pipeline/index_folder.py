"""The index folder on disk: one build at a time, each build removing only what it owns.

    <index>/.build.lock                    held by the running build (``flock``)
    <index>/builds/.<id>.<pid>.partial     a build being written
    <index>/builds/<id>                    a complete build
    <index>/current -> builds/<id>         the build in use

Readers never lock: they follow ``current``, which only ever points at a complete build.
Builders take the lock first, so two `kvp build` runs into one index cannot delete each
other's work; the kernel releases the lock when its process dies, so a killed build never
leaves the index locked. Under the lock any ``.partial`` folder is a dead build's and may go.
After a switch the replaced build is kept one round, for a reader that resolved ``current``
just before the switch; the builds before it are removed.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline.errors import IndexBusyError, IndexWriteError
from pipeline.layout import BUILDS, CURRENT

LOCK_NAME = ".build.lock"
PARTIAL_SUFFIX = ".partial"
LOCK_POLL_SECONDS = 0.25


@contextmanager
def build_lock(index_dir: Path, *, wait: float = 0.0) -> Iterator[None]:
    """Hold the index's build lock; wait up to ``wait`` seconds for another build to end."""
    writable_folder(index_dir)
    with (index_dir / LOCK_NAME).open("a+", encoding="utf-8") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    holder = handle.read().strip() or "another process"
                    raise IndexBusyError(
                        f"another build of the index at {index_dir} is running ({holder}); "
                        "wait for it to finish, or pass --wait SECONDS to wait for it."
                    ) from None
                time.sleep(LOCK_POLL_SECONDS)
        handle.seek(0)
        handle.truncate()
        started = datetime.now(UTC).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()}, started {started}")
        handle.flush()
        try:
            remove_dead_partials(index_dir)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def new_partial(index_dir: Path, build_id: str) -> Path:
    """A fresh folder for a build being written, named after this process."""
    partial = index_dir / BUILDS / f".{build_id}.{os.getpid()}{PARTIAL_SUFFIX}"
    partial.mkdir(parents=True)
    return partial


@contextmanager
def new_build(index_dir: Path) -> Iterator[Path]:
    """A partial folder to write a build into; on success it becomes `current`.

    A write that fails removes the partial folder (nothing half-written stays on a full
    disk) and is reported as `IndexWriteError` when it is a full or read-only disk.
    """
    build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    try:
        partial = new_partial(index_dir, build_id)
    except OSError as err:
        raise as_write_error(err, index_dir) or err from err
    try:
        yield partial
    except Exception as err:
        shutil.rmtree(partial, ignore_errors=True)
        message = as_write_error(err, index_dir)
        if message is None:
            raise
        raise message from err
    final = partial.parent / build_id
    partial.rename(final)
    switch_current(index_dir, final)


def remove_dead_partials(index_dir: Path) -> None:
    """Partial builds left by builds that died; only called under the lock."""
    builds = index_dir / BUILDS
    if builds.is_dir():
        for entry in builds.iterdir():
            if entry.name.startswith(".") and entry.name.endswith(PARTIAL_SUFFIX):
                shutil.rmtree(entry, ignore_errors=True)


def current_target(index_dir: Path) -> Path | None:
    link = index_dir / CURRENT
    return link.resolve() if link.is_symlink() else None


def switch_current(index_dir: Path, build: Path) -> None:
    """Point `current` at the build atomically; keep the replaced build, remove older ones."""
    replaced = current_target(index_dir)
    link = index_dir / CURRENT
    temporary = index_dir / f".{CURRENT}.{os.getpid()}"
    if temporary.is_symlink() or temporary.exists():
        temporary.unlink()
    temporary.symlink_to(build.relative_to(index_dir))
    os.replace(temporary, link)
    keep = {build.resolve(), replaced}
    for old in (index_dir / BUILDS).iterdir():
        if old.name.startswith("."):
            continue  # a partial: its own build owns it
        if old.resolve() not in keep:
            shutil.rmtree(old, ignore_errors=True)


# Writability, checked before the expensive work ----------------------------------------


def writable_folder(folder: Path, what: str = "the index") -> None:
    """Create the folder if needed and prove a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as err:
        raise IndexWriteError.of(folder, err, what) from err


def writable_file(path: Path, what: str) -> None:
    """A file that will be written (a cache): its folder writable, the file itself too."""
    writable_folder(path.parent, what)
    if path.exists():
        try:
            with path.open("ab"):
                pass
        except OSError as err:
            raise IndexWriteError.of(path, err, what) from err


def enough_space(folder: Path, needed: int) -> None:
    """Refuse early when the disk clearly cannot hold the new build."""
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise IndexWriteError(
            f"cannot write the index at {folder}: the disk is full ({megabytes(free)} free, "
            f"the build needs about {megabytes(needed)}); free some space, or pass --index "
            "with a folder on another disk."
        )


def folder_size(folder: Path | None) -> int:
    if folder is None or not folder.is_dir():
        return 0
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def megabytes(size: int) -> str:
    return f"{size / 1e6:,.0f} MB".replace(",", " ")


def as_write_error(err: Exception, path: Path, what: str = "the index") -> IndexWriteError | None:
    """The user's message for a failed write, from any library's way of saying it."""
    if isinstance(err, OSError) and err.errno is not None:
        return IndexWriteError.of(path, err, what)
    text = str(err).lower()
    if isinstance(err, sqlite3.Error | RuntimeError | OSError):
        if "disk is full" in text or "no space left" in text:
            return IndexWriteError.of(path, OSError(errno.ENOSPC, "disk full"), what)
        if "readonly" in text or "read-only" in text:
            return IndexWriteError.of(path, OSError(errno.EROFS, "read-only"), what)
    return None
