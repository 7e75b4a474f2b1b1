"""kvp classify, export, train-themes and eval themes: tagging for researchers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pipeline.errors import PipelineError
from pipeline.model import to_jsonable

if TYPE_CHECKING:
    from pipeline.evaluate import ThemeMetrics
    from pipeline.themes import ThemeClassifier, ThemePrediction

from pipeline.cli import (
    IndexOption,
    LabelsOption,
    app,
    eval_app,
    fail,
    index_dir,
    load_classifier,
)


@app.command()
def classify(
    text: Annotated[
        str | None, typer.Argument(help="Text to tag; omit with --json to read JSONL.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output; JSONL in/out without TEXT.")
    ] = False,
    explain: Annotated[
        bool, typer.Option("--explain", help="Show the terms behind each theme.")
    ] = False,
) -> None:
    """Tag a text with themes; with --json and no TEXT, tag JSONL {"id", "text"} from stdin."""
    try:
        classifier = load_classifier()
        if text is None:
            if not as_json:
                raise fail(
                    'give a TEXT, or use --json and send JSONL lines {"id", "text"} on stdin.'
                )
            tag_jsonl(classifier, sys.stdin, explain=explain)
            return
        if not text.strip():
            raise fail("the text is empty; give a passage to tag.")
        (prediction,) = classifier.predict([text], explain=explain)
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(prediction_json(prediction), ensure_ascii=False))
        return
    for theme, probability in prediction.scores:
        marker = "●" if theme in prediction.labels else "○"
        typer.echo(f"{marker} {theme:<13} {probability:.2f}")
    for theme, terms in prediction.explanation:
        typer.echo(f"  {theme}: {', '.join(terms) or '(no single term stands out)'}")


def prediction_json(prediction: ThemePrediction, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        **extra,
        "themes": dict(prediction.scores),
        "labels": list(prediction.labels),
    }
    if prediction.explanation:
        data["explanation"] = {theme: list(terms) for theme, terms in prediction.explanation}
    return data


def tag_jsonl(classifier: ThemeClassifier, lines: Iterable[str], *, explain: bool) -> None:
    """JSONL in, JSONL out, in order; a bad line gets an error object and the rest go on."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict) or not isinstance(row.get("text"), str):
                raise ValueError('each line must be an object with a "text" string')
        except ValueError as err:
            typer.echo(json.dumps({"line": number, "error": str(err)}, ensure_ascii=False))
            continue
        (prediction,) = classifier.predict([row["text"]], explain=explain)
        typer.echo(json.dumps(prediction_json(prediction, id=row.get("id")), ensure_ascii=False))


@app.command()
def export(
    fmt: Annotated[
        str, typer.Option("--format", help="jsonl, csv, qdpx (REFI-QDA project) or qdc (codebook).")
    ] = "jsonl",
    theme: Annotated[
        str | None, typer.Option("--theme", help="Only passages with this theme.")
    ] = None,
    delimiter: Annotated[
        str,
        typer.Option(
            "--delimiter", help="CSV column separator: ',', ';' (Norwegian Excel) or 'tab'."
        ),
    ] = ",",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    labels: LabelsOption = None,
    index: IndexOption = None,
) -> None:
    """Export every passage with document metadata, section, page, offsets, refs and themes,
    the reviewed labels where a coder has reviewed (and who), the model's otherwise.

    CSV is UTF-8 with a byte-order mark, so Excel reads the letters right. qdpx is a
    REFI-QDA project for NVivo, ATLAS.ti, MAXQDA and QualCoder: the documents, the codebook,
    and every passage's themes and every coded span as codings by their coder; qdc is the
    codebook alone. Both need --out.
    """
    from pipeline.export import check_delimiter, check_format, export_rows, save_export
    from pipeline.labels import LabelStore
    from pipeline.review import place_all, resolve
    from pipeline.search import load_index
    from pipeline.themes import check_theme

    try:
        if fmt in QDA_FORMATS:
            count = export_qda(fmt, out, labels, index)
            typer.secho(f"exported {count} codings to {out}", err=True)
            return
        chosen, separator = check_format(fmt), check_delimiter(delimiter)
        if theme is not None:
            check_theme(theme)
        opened = load_index(index_dir(index))
        with LabelStore(labels) as kept:
            resolved = resolve(opened.passages, place_all(kept.reviews(), opened.passages))
        rows = export_rows(opened, theme=theme, resolved=resolved)
        if out is None:
            sys.stdout.flush()
            count = save_export(rows, sys.stdout.buffer, chosen, delimiter=separator)
        else:
            with out.open("wb") as handle:
                count = save_export(rows, handle, chosen, delimiter=separator)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.secho(f"exported {count} passages" + (f" to {out}" if out else ""), err=True)


QDA_FORMATS = ("qdpx", "qdc")


def export_qda(fmt: str, out: Path | None, labels: Path | None, index: Path | None) -> int:
    """A REFI-QDA project or codebook of the index and the labels store; the codings count."""
    from pipeline.labels import LabelStore
    from pipeline.qda import write_qdc, write_qdpx
    from pipeline.refi import coding_project
    from pipeline.review import place_all
    from pipeline.search import load_index

    if out is None:
        raise fail(f"--format {fmt} writes a file: give it with --out, e.g. --out kvp.{fmt}.")
    opened = load_index(index_dir(index))
    with LabelStore(labels) as kept:
        project = coding_project(opened, kept, place_all(kept.reviews(), opened.passages))
    if fmt == "qdc":
        write_qdc(project.codes, out)
        return 0
    write_qdpx(project, out)
    return len(project.codings)


@app.command("train-themes")
def train_themes(
    data: Annotated[Path | None, typer.Option("--data", help="Labelled JSONL.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model folder.")] = None,
    labels: LabelsOption = None,
    reviewed: Annotated[
        bool,
        typer.Option(
            "--reviewed/--no-reviewed",
            help="Fold in the coders' reviewed labels from the labels store.",
        ),
    ] = True,
) -> None:
    """Retrain the theme classifier on the train split, with the coders' reviewed labels
    folded in (never those of held-out passages), and save it with its metrics: the held-out
    numbers of the old model and the new one."""
    from pipeline.labels import LabelStore
    from pipeline.paths import labels_file
    from pipeline.themes import retrain

    try:
        path = labels or labels_file()
        reviews = []
        if reviewed and path.is_file():
            with LabelStore(path) as kept:
                reviews = kept.reviews()
        result = retrain(reviews, data=data, out=out)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.echo(f"trained on {result.train_size} examples, saved to {result.folder}")
    if result.reviewed is not None:
        r = result.reviewed
        typer.echo(f"reviewed labels: {r.replaced} relabelled, {r.confirmed} confirmed, "
                   f"{r.added} added; {r.held_out} of held-out passages left out")  # fmt: skip
    if result.before is not None:
        typer.echo(f"held-out macro-F1: {result.before.macro_f1:.3f} before, "
                   f"{result.after.macro_f1:.3f} after")  # fmt: skip
    print_theme_metrics(result.after)


@eval_app.command("themes")
def eval_themes(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Per-theme precision, recall and F1 of the shipped model on the held-out split."""
    from pipeline.evaluate import theme_metrics
    from pipeline.themes import load_labelled

    try:
        test = [e for e in load_labelled() if e.split == "test"]
        metrics = theme_metrics(load_classifier(), test)
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(to_jsonable(metrics), indent=2))
    else:
        print_theme_metrics(metrics)


def print_theme_metrics(metrics: ThemeMetrics) -> None:
    typer.echo(f"held-out examples: {metrics.examples}")
    typer.echo(f"{'theme':<14}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
    for row in metrics.per_theme:
        typer.echo(
            f"{row.theme:<14}{row.precision:>10.3f}{row.recall:>8.3f}{row.f1:>7.3f}{row.support:>9}"
        )
    typer.echo(
        f"{'macro':<14}{metrics.macro_precision:>10.3f}{metrics.macro_recall:>8.3f}{metrics.macro_f1:>7.3f}"
    )
