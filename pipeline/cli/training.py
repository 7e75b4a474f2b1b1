"""kvp train-encoder, train-reranker and train-answers: the models trained on the training data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import IndexOption, app, fail, index_dir
from pipeline.errors import PipelineError

OutOption = Annotated[Path | None, typer.Option("--out", help="Model folder (default: models/…).")]
DataOption = Annotated[
    Path | None,
    typer.Option("--data", help="Training questions (default: models/retrieval/questions.jsonl)."),
]


@app.command("train-encoder")
def train_encoder_command(
    out: OutOption = None,
    data: DataOption = None,
    epochs: Annotated[int, typer.Option("--epochs", help="Passes over the data.")] = 2,
    limit: Annotated[
        int | None, typer.Option("--limit", help="Train on the first N examples only.")
    ] = None,
    index: IndexOption = None,
) -> None:
    """Fine-tune the encoder on the training questions (quantisation-aware, fixed seed)."""
    from pipeline.encoder_model import encoder_dir
    from pipeline.search import load_index
    from pipeline.train_encoder import EncoderTraining, train_encoder
    from pipeline.training import load_training

    try:
        loaded = load_index(index_dir(index))
        questions = load_training(loaded.passages, data)
        settings = EncoderTraining(epochs=epochs, limit=limit)
        manifest = train_encoder(
            loaded, questions, out or encoder_dir(), settings, report=typer.echo
        )
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.echo(f"trained encoder {manifest['fingerprint'][:12]} in {manifest['minutes']} min")


@app.command("train-reranker")
def train_reranker_command(
    out: OutOption = None,
    data: DataOption = None,
    depth: Annotated[int, typer.Option("--depth", help="Fused candidates re-scored.")] = 40,
    index: IndexOption = None,
) -> None:
    """Train the reranker on the train split, with candidates from the index's own search."""
    from dataclasses import replace

    from pipeline.rerank import reranker_dir, train_reranker
    from pipeline.search import Index
    from pipeline.training import load_training

    try:
        plain = Index(index_dir(index))
        plain = Index(plain.location, settings=replace(plain.settings, reranker="none"))
        questions = load_training(plain.passages, data)
        reranker = train_reranker(plain, questions, depth)
        reranker.save(out or reranker_dir())
    except PipelineError as err:
        raise fail(str(err)) from err
    rows, questions_used = reranker.meta["rows"], reranker.meta["train_questions"]
    typer.echo(f"trained reranker on {rows} candidates of {questions_used} questions")


@app.command("train-answers")
def train_answers_command(
    out: OutOption = None,
    data: DataOption = None,
    index: IndexOption = None,
) -> None:
    """Train question understanding, sentence relevance and abstention on the training data."""
    from pipeline.answer_models import (
        answer_models_dir,
        split_metrics,
        train_answer_models,
        write_card,
    )
    from pipeline.search import load_index
    from pipeline.training import load_training

    try:
        loaded = load_index(index_dir(index))
        questions = load_training(loaded.passages, data)
        models, scored = train_answer_models(loaded, questions, report=typer.echo)
        folder = out or answer_models_dir()
        models.save(folder)
        metrics = {
            split: split_metrics(models, [g for g in scored if g.question.split == split])
            for split in ("dev", "test", "heldout")
        }
        write_card(folder, models, metrics)
    except PipelineError as err:
        raise fail(str(err)) from err
    calibration = models.meta["calibration"]
    for split, m in metrics.items():
        typer.echo(f"{split}: {m}")
    typer.echo(
        f"trained answer models on {models.meta['train_questions']} questions; abstains below "
        f"{calibration['abstain_below']:.3f}, quotes sentences above {calibration['keep_above']}"
    )
