"""kvp serve: the web pages and JSON API over a built index."""

from __future__ import annotations

from typing import Annotated

import typer

from pipeline.cli import (
    IndexOption,
    StoreOption,
    app,
    fail,
    index_location,
)
from pipeline.errors import PipelineError


@app.command()
def serve(
    index: IndexOption = None,
    store: StoreOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web pages and the JSON API (/api, docs at /docs) over a built index."""
    from pipeline.index import manifest_at
    from pipeline.store.postgres import shown

    folder = index_location(index, store)
    try:
        manifest_at(folder)  # a missing or outdated index: say so instead of starting
    except PipelineError as err:
        raise fail(str(err)) from err
    import uvicorn

    from pipeline.web import create_app

    if host not in ("127.0.0.1", "localhost", "::1"):
        typer.secho(
            f"note: listening on {host}: anyone who can reach this address can use the app.",
            fg=typer.colors.YELLOW,
            err=True,
        )
    where = shown(folder) if isinstance(folder, str) else folder
    typer.echo(f"serving {where} at http://{host}:{port}/ (Ctrl+C stops)")
    uvicorn.run(create_app(folder, warm=True), host=host, port=port, log_level="warning")
