"""The `kvp` command: a thin layer that calls the library, prints, and sets the exit code.

One module per group of commands registers them on `app`: documents (extract), themes
(classify, export, train-themes, eval themes), indexing (build, check), retrieval (search,
refs, ask, eval retrieval) and serve. Only this package prints or exits; the library never does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.errors import PipelineError
from pipeline.model import Failure

if TYPE_CHECKING:
    from pipeline.search import Index
    from pipeline.themes import ThemeClassifier

app = typer.Typer(
    help="Search, tag and answer questions over Norwegian policy texts on KVP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def main_callback() -> None:
    """Search, tag and answer questions over Norwegian policy texts on KVP."""


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


IndexOption = Annotated[
    Path | None,
    typer.Option("--index", help="Index folder (default: $KVP_INDEX, else indexes/default)."),
]
LabelsOption = Annotated[
    Path | None,
    typer.Option(
        "--labels", envvar="KVP_LABELS", help="Labels store (default: labels/labels.sqlite)."
    ),
]
StoreOption = Annotated[
    str | None,
    typer.Option(
        "--store",
        envvar="KVP_STORE",
        help="A PostgreSQL store (postgresql://user@host/db) to use instead of the index "
        "folder (default: $KVP_STORE).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
SplitOption = Annotated[
    str, typer.Option("--split", help="Split of the evaluation set: dev, test or all.")
]


def index_dir(index: Path | None) -> Path:
    from pipeline.paths import default_index

    return index or default_index()


def index_location(index: Path | None, store: str | None) -> Path | str:
    """Where the index is: a PostgreSQL store when --store names one, else the folder."""
    from pipeline.store.postgres import is_database

    if store is None:
        return index_dir(index)
    if index is not None:
        raise fail("give --index (a folder) or --store (a database), not both.")
    if not is_database(store):
        raise fail(f"--store takes a PostgreSQL URL such as postgresql://kvp@localhost/kvp, "
                   f"not '{store}'; for an index folder use --index.")  # fmt: skip
    return store


def parse_years(value: str | None) -> tuple[int, int] | None:
    """ "2021" → (2021, 2021); "2018-2022" → (2018, 2022)."""
    if value is None:
        return None
    parts = value.replace("–", "-").split("-")
    try:
        years = [int(p) for p in parts if p.strip()]
    except ValueError as err:
        raise PipelineError(
            f"--year '{value}' must be a year or a range such as 2018-2022."
        ) from err
    if len(years) == 1:
        return years[0], years[0]
    if len(years) == 2 and years[0] <= years[1]:
        return years[0], years[1]
    raise PipelineError(f"--year '{value}' must be a year or a range such as 2018-2022.")


def one_line(text: object) -> str:
    """Text for one line of output: a newline or other control character in a file name
    is shown escaped ("a\\nb"), so each message stays one line that a log or grep can use."""
    return CONTROL_RE.sub(lambda m: repr(m.group())[1:-1], str(text))


CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def report_failures(failures: Iterable[Failure]) -> None:
    for failure in failures:
        typer.secho(
            f"failed: {one_line(failure.path)}: {one_line(failure.reason)}",
            fg=typer.colors.RED,
            err=True,
        )


def report_notices(notices: Iterable[str]) -> None:
    for notice in notices:
        typer.secho(f"note: {one_line(notice)}", fg=typer.colors.YELLOW, err=True)


def with_reviews(index: Index, labels: Path | None = None) -> Index:
    """Let the index's theme filter count reviewed passages under their coders' themes, when
    the labels store exists (`--labels`, else `KVP_LABELS`); none is created here."""
    from pipeline.labels import LabelStore
    from pipeline.paths import labels_file
    from pipeline.review import reviewed_themes

    path = labels or labels_file()
    if path.is_file():

        def reviewed() -> dict[str, tuple[str, ...]]:
            with LabelStore(path) as labels:
                return reviewed_themes(labels.reviews(), index.passages)

        index.reviewed_themes = reviewed
    return index


def load_classifier() -> ThemeClassifier:
    from pipeline.embed import EmbeddingCache
    from pipeline.themes import ThemeClassifier

    classifier = ThemeClassifier.load()
    classifier.cache = EmbeddingCache()
    return classifier


eval_app = typer.Typer(
    help="Measure quality on the project's own evaluation sets.", no_args_is_help=True
)


app.add_typer(eval_app, name="eval")


# The command modules register themselves on `app` when imported.
from pipeline.cli import (  # noqa: E402
    agreement,
    answers,
    coding,
    database,
    documents,
    indexing,
    retrieval,
    serve,
    themes,
    training,
)

__all__ = [
    "agreement", "answers", "app", "coding", "database", "documents", "indexing", "retrieval",
    "serve", "themes", "training",
]  # fmt: skip
