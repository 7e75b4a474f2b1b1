"""kvp code …: review and correct the model's themes, code spans, write memos, per coder."""

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
    from pipeline.labels import LabelStore

code_app = typer.Typer(
    help="Review the model's themes passage by passage, code spans and write memos. "
    "Decisions are kept per coder in the labels store ($KVP_LABELS), which no rebuild touches.",
    no_args_is_help=True,
)
app.add_typer(code_app, name="code")

CoderOption = Annotated[str, typer.Option("--coder", help="Your name or initials.")]
ThemeList = Annotated[list[str] | None, typer.Option(help="A theme (repeat for several).")]


def open_labels(path: Path | None) -> LabelStore:
    from pipeline.labels import LabelStore

    return LabelStore(path)


@code_app.command("queue")
def queue_command(
    coder: CoderOption,
    order: Annotated[
        str, typer.Option("--order", help="uncertainty (least sure first), document or theme.")
    ] = "uncertainty",
    theme: Annotated[str | None, typer.Option("--theme", help="For --order theme.")] = None,
    document: Annotated[str | None, typer.Option("--document", help="Only this doc id.")] = None,
    limit: Annotated[int, typer.Option("-n", help="How many to list.")] = 20,
    labels: LabelsOption = None,
    as_json: JsonOption = False,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """The passages you have still to review: changed ones first, then in the order asked."""
    from pipeline.review import check_order, place_all, queue, uncertainty
    from pipeline.search import load_index

    try:
        chosen = check_order(order)
        opened = load_index(index_location(index, store))
        with open_labels(labels) as kept:
            placed = place_all(kept.reviews(), opened.passages)
        again = {p.passage_id for p in placed if p.status != "current" and p.review.coder == coder}
        todo = queue(opened.passages, placed, coder, order=chosen, theme=theme, doc_id=document)
    except PipelineError as err:
        raise fail(str(err)) from err
    shown = todo[: max(limit, 0)]
    if as_json:
        rows = [{"passage_id": p.passage_id, "doc_id": p.doc_id, "uncertainty": round(
            uncertainty(p), 4), "again": p.passage_id in again, "themes": dict(p.themes),
            "labels": list(p.labels), "text": p.text} for p in shown]  # fmt: skip
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    typer.echo(f"{len(todo)} passages to review; the first {len(shown)}:")
    for passage in shown:
        flag = " (text changed: review again)" if passage.passage_id in again else ""
        scores = " ".join(f"{t}={p:.2f}" for t, p in passage.themes)
        typer.echo(f"\n{passage.passage_id}{flag}  uncertainty {uncertainty(passage):.2f}")
        typer.echo(f"  model: {', '.join(passage.labels) or 'none'}  ({scores})")
        typer.echo(f"  {one_line(passage.text[:300])}{'…' if len(passage.text) > 300 else ''}")


@code_app.command("review")
def review_command(
    passage_id: Annotated[str, typer.Argument(help="The passage, as `kvp code queue` lists it.")],
    coder: CoderOption,
    accept: ThemeList = None,
    reject: ThemeList = None,
    add: ThemeList = None,
    none: Annotated[bool, typer.Option("--none", help="The passage has no theme.")] = False,
    memo: Annotated[str | None, typer.Option("--memo", help="A memo on the passage.")] = None,
    labels: LabelsOption = None,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Accept, reject or add themes for a passage (what you do not name stays as the model,
    or your earlier review, has it); --none rejects every theme."""
    from pipeline.model import THEMES
    from pipeline.search import load_index

    try:
        passage = load_index(index_location(index, store)).passage(passage_id)
        with open_labels(labels) as kept:
            rejected = list(THEMES) if none else list(reject or [])
            review = kept.decide(coder, passage, accept=accept or [], reject=rejected,
                                 add=add or [])  # fmt: skip
            if memo is not None:
                kept.write_memo(coder, passage, memo)
    except PipelineError as err:
        raise fail(str(err)) from err
    change = " (corrected the model)" if review.corrected else " (as the model)"
    typer.echo(f"{passage_id}: {', '.join(review.labels) or 'none'}{change}")


@code_app.command("span")
def span_command(
    passage_id: Annotated[str, typer.Argument(help="The passage the span is in.")],
    coder: CoderOption,
    code: Annotated[str, typer.Option("--code", help="A theme, or a code you added.")],
    start: Annotated[int, typer.Option("--start", help="First character (0-based).")],
    end: Annotated[int, typer.Option("--end", help="One past the last character.")],
    memo: Annotated[str, typer.Option("--memo", help="A memo on the span.")] = "",
    labels: LabelsOption = None,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Code characters START..END of a passage's text with a theme or your own code."""
    from pipeline.search import load_index

    try:
        passage = load_index(index_location(index, store)).passage(passage_id)
        with open_labels(labels) as kept:
            span = kept.code_span(coder, passage, start, end, code, memo)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.echo(f"span {span.span_id}: {code} «{one_line(span.quote)}»")


@code_app.command("add-code")
def add_code_command(
    name: Annotated[str, typer.Argument(help="The new code's name.")],
    coder: CoderOption,
    description: Annotated[str, typer.Option("--description", help="What it means.")] = "",
    labels: LabelsOption = None,
) -> None:
    """Add a code of your own beside the four themes, for coding spans."""
    try:
        with open_labels(labels) as kept:
            code = kept.add_code(name, coder, description)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.echo(f"code '{code.name}' added")


@code_app.command("status")
def status_command(
    labels: LabelsOption = None,
    as_json: JsonOption = False,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Per coder: passages reviewed, corrections of the model, spans, and reviews whose
    passage text changed in a rebuild (to review again) or is gone."""
    from pipeline.review import coding_status, place_all
    from pipeline.search import load_index

    try:
        opened = load_index(index_location(index, store))
        with open_labels(labels) as kept:
            placed = place_all(kept.reviews(), opened.passages)
            status = coding_status(placed, kept.spans())
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(to_jsonable(status), ensure_ascii=False, indent=2))
        return
    if not status:
        typer.echo("no decisions yet; start with `kvp code queue --coder NAME`.")
    for row in status:
        typer.echo(f"{row.coder}: {row.reviewed} reviewed ({row.corrected} corrected), "
                   f"{row.spans} spans, {row.changed} to review again, "
                   f"{row.missing} missing")  # fmt: skip


@app.command("import")
def import_command(
    project: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx).")],
    labels: LabelsOption = None,
    index: IndexOption = None,
) -> None:
    """Bring a REFI-QDA project's coding into the labels store: a theme on a whole passage
    is that coder's review of it, any other coding inside a passage a coded span."""
    from pipeline.refi import import_project
    from pipeline.search import load_index

    try:
        opened = load_index(index_location(index, None))
        with open_labels(labels) as kept:
            report = import_project(project, opened, kept)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.echo(f"imported {report.reviews} reviews and {report.spans} spans by "
               f"{', '.join(report.coders) or 'no coder'}; {report.codes} new codes")  # fmt: skip
    for line in report.skipped:
        typer.secho(f"skipped: {one_line(line)}", fg=typer.colors.YELLOW, err=True)
