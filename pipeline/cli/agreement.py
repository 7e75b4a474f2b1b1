"""kvp agreement: how far independent coders agree on the themes of the same passages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.cli import (
    IndexOption,
    JsonOption,
    LabelsOption,
    StoreOption,
    app,
    fail,
    index_location,
    one_line,
)
from pipeline.errors import PipelineError
from pipeline.model import to_jsonable

if TYPE_CHECKING:
    from pipeline.agreement import Agreement, PairTable

EXCERPT_CHARS = 70
UNDEFINED = "–"  # α or κ where no disagreement is expected (a theme always or never given)


@app.command("agreement")
def agreement_command(
    files: Annotated[
        tuple[Path, Path] | None,
        typer.Option("--files", help="Two coding passes as labelled JSONL: --files A B."),
    ] = None,
    coders: Annotated[
        str | None,
        typer.Option("--coders", help="Coders of the labels store to compare: 'AB,CD' (all)."),
    ] = None,
    show: Annotated[
        int, typer.Option("--show", min=0, help="Disagreements to list (0: none).")
    ] = 20,
    labels: LabelsOption = None,
    as_json: JsonOption = False,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Krippendorff's α, Cohen's κ and percent agreement per theme, and where coders differ:
    of the coders' reviews in the labels store, or of two coding passes in files (--files)."""
    try:
        if files is not None:
            result = load_agreement(files)
        else:
            result = store_agreement(labels, index_location(index, store), coders)
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(to_jsonable(result), ensure_ascii=False, indent=2))
    else:
        print_agreement(result, show=show)


def load_agreement(files: tuple[Path, Path]) -> Agreement:
    """Two coding passes in labelled JSONL files."""
    from pipeline.agreement import compare_files

    return compare_files(*files)


def store_agreement(labels: Path | None, location: Path | str, coders: str | None) -> Agreement:
    """The coders' current reviews in the labels store, placed against the index."""
    from pipeline.agreement import agreement
    from pipeline.errors import AgreementError
    from pipeline.labels import LabelStore
    from pipeline.review import place_all, review_codings
    from pipeline.search import load_index

    index = load_index(location)
    chosen = [c.strip() for c in (coders or "").split(",") if c.strip()]
    with LabelStore(labels) as kept:
        codings = review_codings(place_all(kept.reviews(), index.passages), chosen)
        if not codings:
            raise AgreementError(
                f"no coder has reviewed a passage in the labels store {kept.path} yet; review "
                "with `kvp code` or on the Koding page, or compare two files with --files A B."
            )
    texts = {p.passage_id: p.text for p in index.passages}
    return agreement(codings, texts=texts)


def number(value: float | None) -> str:
    return UNDEFINED if value is None else f"{value:.3f}"


def print_agreement(result: Agreement, *, show: int = 20) -> None:
    ignored = ", ".join(f"{count} only by {coder}" for coder, count in result.ignored)
    by = "both" if len(result.coders) == 2 else "two or more"
    typer.echo(
        f"coders: {', '.join(result.coders)}; {result.units} passages coded by {by} "
        f"(ignored: {ignored})"
    )
    typer.echo(f"{'theme':<14}{'α':>8}{'κ':>8}{'agree':>9}{'units':>7}")
    for row in result.per_theme:
        typer.echo(
            f"{row.theme:<14}{number(row.alpha):>8}{number(row.kappa):>8}"
            f"{row.agreement:>9.1%}{row.units:>7}"
        )
    decisions = result.units * len(result.per_theme)
    typer.echo(
        f"{'pooled':<14}{number(result.alpha):>8}{number(result.kappa):>8}"
        f"{result.agreement:>9.1%}{decisions:>7}"
    )
    typer.echo(
        f"{'macro':<14}{number(result.macro_alpha):>8}{number(result.macro_kappa):>8}"
        f"{result.macro_agreement:>9.1%}"
    )
    typer.echo(f"pooled: all {decisions} (passage, theme) decisions; macro: mean over themes")
    typer.echo(f"{UNDEFINED}: undefined, the theme was given to every passage or to none")
    for row in result.per_theme:
        for table in row.tables:
            print_table(row.theme, table)
    print_disagreements(result, show)


def print_table(theme: str, table: PairTable) -> None:
    first, second = table.coders
    typer.echo(f"\n{theme}: {first} (rows) × {second} (columns)")
    typer.echo(f"{'':<6}{'yes':>6}{'no':>6}")
    typer.echo(f"{'yes':<6}{table.yes_yes:>6}{table.yes_no:>6}")
    typer.echo(f"{'no':<6}{table.no_yes:>6}{table.no_no:>6}")


def print_disagreements(result: Agreement, show: int) -> None:
    total = len(result.disagreements)
    typer.echo(f"\ndisagreements: {total} of {result.units} passages")
    for item in result.disagreements[:show]:
        given = "; ".join(
            f"{coder}: {', '.join(themes) or 'none'}" for coder, themes in item.labels
        )
        typer.echo(f"{one_line(item.unit)}  {one_line(given)}")
        if item.text:
            typer.echo(f"  «{excerpt(item.text)}»")
    if total > show:
        typer.echo(f"… and {total - show} more (--show N lists more, --json lists all)")


def excerpt(text: str) -> str:
    words = " ".join(text.split())
    return words if len(words) <= EXCERPT_CHARS else words[: EXCERPT_CHARS - 1].rstrip() + "…"
