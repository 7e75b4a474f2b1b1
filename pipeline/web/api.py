"""The JSON API under /api: each route validates its input and calls the library once.

Errors are raised, never formatted here: `pipeline.web.app` turns them into
``{"error": "<message in Norwegian>"}`` with the status from `pipeline.web.errors.STATUSES`.
"""

from __future__ import annotations

import io
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from pipeline.corpus_views import View, ViewFormat
from pipeline.export import Delimiter
from pipeline.model import Document, Passage
from pipeline.web.lanes import QUICK, SLOW
from pipeline.web.schemas import (
    AnswerOut,
    AskRequest,
    ClassifyOut,
    ClassifyRequest,
    DocumentOut,
    DocumentsOut,
    ErrorOut,
    ExportParams,
    HealthOut,
    Open,
    PathId,
    RefParams,
    RefsOut,
    SearchOut,
    SearchParams,
    parse_years,
)
from pipeline.web.state import Pinned, Shared

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (400, "The request cannot be answered as given (unknown theme, kind or reference)."),
        (404, "No passage or document has this id, or no passage holds or cites the §."),
        (413, "The request body is larger than the route takes (`pipeline.web.limits`)."),
        (414, "The address (path and query) is longer than the app takes."),
        (422, "The request is malformed (empty or too long question, k out of range)."),
        (503, "No index is loaded: run `kvp build`."),
    )
}
EXPORT_TYPES = {
    "jsonl": "application/x-ndjson; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "qdpx": "application/zip",  # REFI-QDA: a zip of project.qde and the sources
    "qdc": "application/xml",
}
VIEW_TYPES = {"json": "application/json; charset=utf-8", "csv": "text/csv; charset=utf-8"}
ViewFormatParam = Annotated[ViewFormat, Query(description="csv or json.")]
DelimiterParam = Annotated[
    Delimiter, Query(description='CSV only: "," (the default), ";" for Norwegian Excel, or "tab".')
]
VIEW_CONTENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {t.split(";")[0]: {} for t in VIEW_TYPES.values()}}
}

router = APIRouter(prefix="/api", tags=["api"], responses=ERRORS)


@router.get("/health", response_model=HealthOut, dependencies=[QUICK])
def health(res: Shared) -> dict[str, Any]:
    """Whether the index is loaded, its size, and how far the start-up encoding of the
    corpus sentences has come (answers are faster once `warm_up.finished`)."""
    index = res.index
    warm_up = res.warm_up()
    return {
        "status": "ok",
        "documents": len(index.documents),
        "passages": len(index.passages),
        "warm_up": asdict(warm_up) if warm_up is not None else None,
    }


@router.post("/ask", response_model=AnswerOut, dependencies=[SLOW])
def ask(body: AskRequest, res: Shared) -> dict[str, Any]:
    """Answer a question with cited quotes, or abstain (`abstained`) with the nearest sources."""
    from pipeline.answer import ask as answer_question
    from pipeline.model import Filters
    from pipeline.search import check_filters
    from pipeline.serialize import answer_to_dict

    index = res.index
    filters = check_filters(Filters(tuple(body.kinds), body.theme, body.years))
    return answer_to_dict(answer_question(index, body.question, filters=filters), index)


@router.get("/search", response_model=SearchOut, dependencies=[QUICK])
def search(params: Annotated[SearchParams, Query()], res: Shared) -> dict[str, Any]:
    """The k best passages for a question: hybrid BM25 + dense retrieval, with filters."""
    from pipeline.model import Filters
    from pipeline.serialize import hit_to_dict

    index = res.index
    filters = Filters(tuple(params.kind), params.theme, parse_years(params.year), params.ref)
    hits = index.search(params.q, k=params.k, filters=filters)
    rows = [hit_to_dict(h, index.source_of(h.passage)) for h in hits]
    return {"query": params.q, "count": len(hits), "hits": rows}


@router.get("/passages/{passage_id}", response_model=Open, dependencies=[QUICK])
def passage(passage_id: PathId, res: Shared) -> dict[str, Any]:
    """One passage with its document's metadata, offsets, legal references and themes."""
    from pipeline.serialize import passage_row

    found = res.index.passage(passage_id)
    return passage_row(found, res.index.document_of(found))


def document_summary(document: Document, passages: list[Passage]) -> dict[str, Any]:
    source = document.source
    return {
        "doc_id": source.doc_id,
        "title": source.title,
        "short": source.short,
        "kind": source.kind.value,
        "year": source.year,
        "publisher": source.publisher,
        "official_id": source.official_id,
        "version": source.version,
        "passages": len(passages),
        "pages": document.report.page_count,
    }


@router.get("/documents", response_model=DocumentsOut, dependencies=[QUICK])
def documents(res: Shared) -> dict[str, Any]:
    """Every document in the index, with its metadata."""
    loaded = res.loaded
    return {
        "documents": [
            document_summary(d, loaded.by_doc.get(doc_id, []))
            for doc_id, d in loaded.index.documents.items()
        ]
    }


@router.get("/documents/{doc_id}", response_model=DocumentOut, dependencies=[QUICK])
def document(doc_id: PathId, res: Shared) -> dict[str, Any]:
    """A document's metadata and its clean text as blocks (role, page, section, offsets)."""
    found = res.index.document(doc_id)
    passages = res.loaded.by_doc.get(doc_id, [])
    return {
        **document_summary(found, passages),
        "blocks": [
            {
                "text": b.text,
                "role": b.role.value,
                "page": b.page,
                "section": list(b.section),
                "char_start": b.char_start,
                "char_end": b.char_end,
            }
            for b in found.blocks
        ],
        "passage_ids": [p.passage_id for p in passages],
    }


@router.get("/refs", response_model=RefsOut, dependencies=[QUICK])
def refs(params: Annotated[RefParams, Query()], res: Shared) -> dict[str, Any]:
    """The § itself (statute text first) and every passage in the corpus that refers to it;
    404 when the corpus neither holds the § nor cites it."""
    from pipeline.legal import parse_ref
    from pipeline.serialize import ref_row

    ref = parse_ref(params.ref)
    index = res.index
    holding, citing = res.provision(ref)
    rows = [ref_row(p, index.source_of(p), statute=True) for p in holding]
    rows += [ref_row(p, index.source_of(p), statute=False) for p in citing]
    return {"ref": ref.key, "passages": rows}


@router.post("/classify", response_model=ClassifyOut, dependencies=[SLOW])
def classify(body: ClassifyRequest, res: Shared) -> dict[str, Any]:
    """Theme probabilities for up to 100 texts (20,000 characters each), in order."""
    texts = [item.text for item in body.texts]
    predictions = res.with_classifier(lambda c: c.predict(texts, explain=body.explain))
    results = []
    for item, prediction in zip(body.texts, predictions, strict=True):
        row: dict[str, Any] = {
            "id": item.id,
            "themes": dict(prediction.scores),
            "labels": list(prediction.labels),
        }
        if body.explain:
            row["explanation"] = {theme: list(terms) for theme, terms in prediction.explanation}
        results.append(row)
    return {"results": results}


@router.get(
    "/export",
    response_class=Response,
    dependencies=[QUICK],
    responses={200: {"content": {t.split(";")[0]: {} for t in EXPORT_TYPES.values()}}},
)
def export(params: Annotated[ExportParams, Query()], res: Shared) -> Response:
    """Every passage (or one theme's) with metadata, offsets, references and theme scores.

    CSV is UTF-8 with a byte-order mark; `delimiter=;` gives the columns Norwegian Excel
    splits on."""
    from pipeline.export import export_rows, save_export

    if params.format == "qdpx" or params.format == "qdc":
        return qda_response(res, params.format)
    buffer = io.BytesIO()
    rows = export_rows(res.index, theme=params.theme, resolved=res.resolved())
    save_export(rows, buffer, params.format, delimiter=params.delimiter)
    name = "kvp-passasjer" + (f"-{params.theme}" if params.theme else "") + f".{params.format}"
    return Response(
        buffer.getvalue(),
        media_type=EXPORT_TYPES[params.format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def qda_response(res: Pinned, fmt: str) -> Response:
    """The corpus and its coding as a REFI-QDA project, or its codebook alone."""
    import tempfile

    from pipeline.qda import write_qdc, write_qdpx
    from pipeline.refi import coding_project

    project = coding_project(res.index, res.labels, res.placed())
    with tempfile.TemporaryDirectory(prefix="kvp-qda-") as folder:
        path = Path(folder) / f"kvp-koding.{fmt}"
        if fmt == "qdc":
            write_qdc(project.codes, path)
        else:
            write_qdpx(project, path)
        data = path.read_bytes()
    disposition = f'attachment; filename="{path.name}"'
    return Response(data, media_type=EXPORT_TYPES[fmt],
                    headers={"Content-Disposition": disposition})  # fmt: skip


def view_response(view: View, name: str, fmt: ViewFormat, delimiter: Delimiter) -> Response:
    """A corpus view as a download named `name`, with the export's conventions."""
    from pipeline.corpus_views import save_view

    buffer = io.BytesIO()
    save_view(view, buffer, fmt, delimiter=delimiter)
    return Response(
        buffer.getvalue(),
        media_type=VIEW_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'},
    )


@router.get("/themes/years", response_class=Response, dependencies=[QUICK], responses=VIEW_CONTENT)
def theme_years(
    res: Shared, format: ViewFormatParam = "json", delimiter: DelimiterParam = ","
) -> Response:
    """Passages with each theme per document, summed per publication year and over all:
    counts and shares of the passages. CSV is UTF-8 with a byte-order mark, one row per
    document, year and the total (`level`); `delimiter=;` for Norwegian Excel, which also
    gets decimal commas."""
    from pipeline.corpus_views import theme_year_counts
    from pipeline.web.pages import corpus_passages, labels_of

    loaded = res.loaded
    labels = labels_of(res.resolved())
    view = theme_year_counts(corpus_passages(loaded), loaded.index.document_of, labels)
    return view_response(view, "kvp-temaer-per-ar", format, delimiter)


@router.get(
    "/themes/provisions", response_class=Response, dependencies=[QUICK], responses=VIEW_CONTENT
)
def theme_provisions(
    res: Shared,
    format: ViewFormatParam = "json",
    delimiter: DelimiterParam = ",",
    top: Annotated[int | None, Query(ge=1, description="Only the first provisions.")] = None,
) -> Response:
    """For each theme, how many of its passages cite each § (ledd folded into the §; statute
    text counts for its own §), with the share of the theme's passages; the provisions with
    the most theme passages first. CSV as for /api/themes/years."""
    from pipeline.corpus_views import act_names, theme_provision_counts
    from pipeline.web.pages import corpus_passages, labels_of

    loaded = res.loaded
    names = act_names(loaded.index.documents.values())
    labels = labels_of(res.resolved())
    view = theme_provision_counts(corpus_passages(loaded), labels, top, names=names)
    return view_response(view, "kvp-temaer-og-paragrafer", format, delimiter)
