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

from pipeline.cli import IndexOption, app, eval_app, fail, index_dir, load_classifier


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
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv.")] = "jsonl",
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
    index: IndexOption = None,
) -> None:
    """Export every passage with document metadata, section, page, offsets, refs and themes.

    CSV is UTF-8 with a byte-order mark, so Excel reads the letters right.
    """
    from pipeline.export import check_delimiter, check_format, export_rows, save_export
    from pipeline.search import load_index
    from pipeline.themes import check_theme

    try:
        chosen, separator = check_format(fmt), check_delimiter(delimiter)
        if theme is not None:
            check_theme(theme)
        rows = export_rows(load_index(index_dir(index)), theme=theme)
        if out is None:
            sys.stdout.flush()
            count = save_export(rows, sys.stdout.buffer, chosen, delimiter=separator)
        else:
            with out.open("wb") as handle:
                count = save_export(rows, handle, chosen, delimiter=separator)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.secho(f"exported {count} passages" + (f" to {out}" if out else ""), err=True)


@app.command("train-themes")
def train_themes(
    data: Annotated[Path | None, typer.Option("--data", help="Labelled JSONL.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model folder.")] = None,
) -> None:
    """Retrain the theme classifier on the train split and save it with its metrics."""
    from pipeline.embed import EmbeddingCache, load_encoder
    from pipeline.evaluate import theme_metrics, write_model_card
    from pipeline.themes import ThemeClassifier, load_labelled

    try:
        examples = load_labelled(data)
        train = [e for e in examples if e.split == "train"]
        test = [e for e in examples if e.split == "test"]
        encoder, cache = load_encoder(), EmbeddingCache()
        classifier = ThemeClassifier.train(train, encoder=encoder, cache=cache)
        folder = classifier.save(out)
        metrics = theme_metrics(classifier, test)
        write_model_card(folder, metrics, train, test)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.echo(f"trained on {len(train)} examples, saved to {folder}")
    print_theme_metrics(metrics)


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
