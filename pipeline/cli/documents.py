"""kvp extract: what the pipeline makes of a file or a corpus folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from pipeline.cli import app, fail, report_failures, report_notices
from pipeline.errors import PipelineError
from pipeline.model import Document, ExtractionReport, to_jsonable

PREVIEW_CHARS = 160


@app.command()
def extract(
    path: Annotated[
        Path, typer.Argument(help="A document file, or a corpus folder for a summary.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
    full: Annotated[bool, typer.Option("--full", help="Print whole blocks, not previews.")] = False,
) -> None:
    """Show what the pipeline makes of one file: blocks with role, page, section and text."""
    from pipeline.corpus import load_corpus
    from pipeline.extract import extract_all, extract_file

    try:
        if path.is_dir():
            scan = load_corpus(path)
            batch = extract_all(scan.sources)
            failures = [*scan.failures, *batch.failures]
            if as_json:
                typer.echo(
                    json.dumps(
                        corpus_summary_json(batch.documents, failures), ensure_ascii=False, indent=2
                    )
                )
            else:
                report_notices(scan.notices)
                print_corpus_summary(batch.documents, failures)
            if failures:
                raise typer.Exit(1)
            return
        document = extract_file(path)
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(to_jsonable(document), ensure_ascii=False, indent=2))
    else:
        print_document(document, full=full)


def report_counts(report: ExtractionReport) -> dict[str, int]:
    return {
        "headers": report.count("header"),
        "footers": report.count("footer"),
        "page_numbers": report.count("page_number"),
        "hyphenations_joined": report.count("hyphenation"),
        "hyphens_kept": report.count("hyphen_kept"),
        "footnotes_separated": report.count("footnote"),
        "ligatures": report.count("ligature"),
    }


def corpus_summary_json(documents: tuple[Document, ...], failures: list) -> dict[str, object]:  # type: ignore[type-arg]
    return {
        "documents": [
            {
                "doc_id": d.doc_id,
                "title": d.source.title,
                "blocks": len(d.blocks),
                "pages": d.report.page_count,
                **report_counts(d.report),
                "warnings": list(d.report.warnings),
            }
            for d in documents
        ],
        "failures": [{"path": str(f.path), "reason": f.reason} for f in failures],
    }


def print_corpus_summary(documents: tuple[Document, ...], failures: list) -> None:  # type: ignore[type-arg]
    header = (
        f"{'document':<24} {'blocks':>6} {'pages':>5} {'hdr/ftr':>7} {'pgno':>5} "
        f"{'hyph':>5} {'kept':>5} {'fnotes':>6}"
    )
    typer.echo(header)
    for d in documents:
        c = report_counts(d.report)
        pages = d.report.page_count if d.report.page_count is not None else "-"
        typer.echo(
            f"{d.doc_id:<24} {len(d.blocks):>6} {pages!s:>5} {c['headers'] + c['footers']:>7} "
            f"{c['page_numbers']:>5} {c['hyphenations_joined']:>5} {c['hyphens_kept']:>5} "
            f"{c['footnotes_separated']:>6}"
        )
    typer.echo(f"{len(documents)} documents extracted, {len(failures)} failed.")
    report_failures(failures)


def print_document(document: Document, *, full: bool) -> None:
    source, report = document.source, document.report
    typer.secho(f"{source.title}", bold=True)
    typer.echo(f"id {source.doc_id} · {source.kind.value} · {source.path}")
    if source.inferred:
        typer.echo("metadata inferred from the file (no manifest entry)")
    counts = report_counts(report)
    typer.echo(
        f"pages {report.page_count if report.page_count is not None else 'unknown'} · "
        f"removed {counts['headers']} headers, {counts['footers']} footers, "
        f"{counts['page_numbers']} page numbers · joined {counts['hyphenations_joined']} "
        f"hyphenations (kept {counts['hyphens_kept']} real hyphens) · "
        f"separated {counts['footnotes_separated']} footnotes"
    )
    if report.ocr_pages:
        typer.echo(f"read by OCR (check the text): pages {list(report.ocr_pages)}")
    for warning in report.warnings:
        typer.secho(f"warning: {warning}", fg=typer.colors.YELLOW)
    typer.echo("")
    for block in document.blocks:
        page = f"p.{block.page}" if block.page is not None else "p.-"
        section = " › ".join(block.section[-2:])
        text = (
            block.text
            if full or len(block.text) <= PREVIEW_CHARS
            else block.text[:PREVIEW_CHARS] + "…"
        )
        ocr = " (OCR)" if block.ocr else ""
        typer.secho(f"[{page:>5}] {block.role.value:<9} {section}{ocr}", fg=typer.colors.CYAN)
        typer.echo(f"    {text}")
