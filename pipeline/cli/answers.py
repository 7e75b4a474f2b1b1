"""kvp eval answers: how good the answers are, on the evaluation set and the training splits."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from pipeline.cli import (
    IndexOption,
    JsonOption,
    SplitOption,
    StoreOption,
    eval_app,
    fail,
    index_location,
)
from pipeline.errors import PipelineError
from pipeline.model import to_jsonable

ROWS = (
    ("citations hold a supporting quote", "supported"),
    ("rule questions citing the governing §", "governing"),
    ("abstention on unanswerable", "abstention"),
    ("false abstention on answerable", "false_abstention"),
    ("superseded claims flagged or law quoted", "flagged"),
)


@eval_app.command("answers")
def eval_answers(
    split: SplitOption = "test",
    training: Annotated[
        bool,
        typer.Option("--training/--no-training", help="Also the training data's test splits."),
    ] = True,
    as_json: JsonOption = False,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Supporting quotes, the governing §, abstention, superseded flags and verbatim quotes.

    Three question sets: the evaluation set's split, the training data's test split (passages
    never trained on) and its held-out document."""
    from pipeline.answer import ask
    from pipeline.evaluate import evaluate_answers, question_sets
    from pipeline.search import load_index

    try:
        loaded = load_index(index_location(index, store))
        sets, skipped = question_sets(loaded, split, training=training)
        for name, reason in skipped.items():
            typer.echo(f"{name}: not measured here ({reason})")
        scores = {
            name: evaluate_answers(loaded, questions, lambda q: ask(loaded, q))
            for name, questions in sets.items()
        }
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(to_jsonable(scores), indent=2, ensure_ascii=False))
        return
    for name, s in scores.items():
        typer.secho(
            f"\n{name}: {s.questions} questions, {s.answerable} answerable, "
            f"{s.rule_questions} answered by a §",
            bold=True,
        )
        for label, field in ROWS:
            value = getattr(s, field)
            typer.echo(f"  {label:<42}{'–' if value is None else f'{value:.3f}':>8}")
        typer.echo(f"  {'questions needing the current rule':<42}{s.needs_current_rule:>8}")
        typer.echo(f"  {'non-verbatim quotes (must be 0)':<42}{s.non_verbatim:>8}")
        typer.echo(f"  {'ask p50 (s)':<42}{s.latency_p50:>8.3f}")
        curve = ", ".join(f"{b}: {n} q, {r:.2f} answerable" for b, n, r in s.reliability if n)
        typer.echo(f"  reliability (confidence bin: answerable share): {curve}")
