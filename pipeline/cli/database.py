"""kvp db: a PostgreSQL server with pgvector on this machine, for `--store`.

The server itself is `pipeline.store.server`'s.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app, fail, one_line
from pipeline.errors import PipelineError

db_app = typer.Typer(
    help="Start or stop the bundled PostgreSQL server (with pgvector) for --store.",
    no_args_is_help=True,
)
app.add_typer(db_app, name="db")

DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data", help="The server's data folder (default: $KVP_PGDATA, else indexes/postgres)."
    ),
]


def data_folder(data: Path | None) -> Path:
    from pipeline.paths import database_folder

    return data or database_folder()


@db_app.command("start")
def start(data: DataOption = None) -> None:
    """Start the server (or find it running) and print the --store URL of its kvp database."""
    from pipeline.store import server

    try:
        url = server.start(data_folder(data))
    except PipelineError as err:
        raise fail(one_line(err)) from err
    typer.echo(url)


@db_app.command("stop")
def stop(data: DataOption = None) -> None:
    """Stop the server of the data folder."""
    from pipeline.store import server

    folder = data_folder(data)
    try:
        stopped = server.stop(folder)
    except PipelineError as err:
        raise fail(one_line(err)) from err
    typer.echo(f"stopped the server in {folder}" if stopped else f"no server runs in {folder}")
