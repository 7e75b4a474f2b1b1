"""The pages: Spør (/), Dokument, Paragraf, Temaer and Dokumenter, rendered on the server.

Each route calls the same library functions as the API and hands view records
(`pipeline.web.views`) to a template; document text reaches the templates only as escaped
markup from `pipeline.web.render`.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import escape

from pipeline.corpus_views import (
    LabelsOf,
    ThemeCounts,
    ThemeProvisions,
    ThemeYears,
    act_names,
    model_labels,
    provision_keys,
    provision_label,
    theme_provision_counts,
    theme_year_counts,
)
from pipeline.errors import PipelineError
from pipeline.model import LegalRef, Passage
from pipeline.review import Resolved
from pipeline.web import render
from pipeline.web.errors import (
    WebError,
    WebInvalidError,
    WebNotFoundError,
    message_for,
    status_for,
)
from pipeline.web.lanes import QUICK, SLOW
from pipeline.web.limits import LIMITS
from pipeline.web.schemas import PathId
from pipeline.web.state import Loaded, Shared
from pipeline.web.views import answer_context, linkable, passage_view

router = APIRouter(include_in_schema=False)
THEMES_PAGE_SIZE = 20
PROVISIONS_SHOWN = 25  # rows of "Temaer og paragrafer"; the download has every provision
HEAT_LEVELS = 5  # colour steps of its cells (style.css .heat-1 … .heat-5)
EXAMPLE_REFS = ("sotjl § 29", "sotjl § 35", "sotjl § 39", "kvp-forskriften § 11")
# Query parameters, as long as `pipeline.web.limits` lets them be. The question is checked
# by `check_question`, which tells the page's own message.
NameParam = Annotated[str, Query(max_length=LIMITS.name_chars)]  # a kind or a theme
YearParam = Annotated[str, Query(max_length=LIMITS.year_chars)]
IdParam = Annotated[str, Query(max_length=LIMITS.id_chars)]
RefParam = Annotated[str, Query(max_length=LIMITS.ref_chars)]


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, name, context, status_code=status)
    assert isinstance(response, HTMLResponse)
    return response


def check_question(q: str) -> str:
    if not q.strip():
        raise WebInvalidError(
            "Feltet er tomt. Skriv med vanlige ord hva du lurer på, for eksempel «Hvor lenge "
            "kan programmet vare?», og trykk Spør.",
            heading="Skriv et spørsmål",
        )
    if len(q) > LIMITS.question_chars:
        raise WebInvalidError(
            f"Spørsmålet er {len(q)} tegn langt. Kort det ned til {LIMITS.question_chars} tegn.",
            heading="Spørsmålet er for langt",
        )
    return q


def year_range(low: str, high: str, years: list[int]) -> tuple[int, int] | None:
    if not low and not high:
        return None
    try:
        first = int(low) if low else min(years, default=0)
        last = int(high) if high else max(years, default=9999)
    except ValueError as err:
        raise WebError(
            f"Årstallet «{low if not low.isdigit() else high}» kan ikke brukes. Skriv årstall "
            "med fire sifre, for eksempel 2021, eller velg «Alle».",
            heading="Årstallet kan ikke brukes",
        ) from err
    if first > last:
        raise WebError(
            f"«Fra år» ({first}) er etter «til år» ({last}). Bytt om årene, eller velg «Alle».",
            heading="Årene står i feil rekkefølge",
        )
    return first, last


# Routes ------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse, dependencies=[SLOW])
def ask_page(
    request: Request,
    res: Shared,
    q: str | None = None,
    type: NameParam = "",
    tema: NameParam = "",
    fra: YearParam = "",
    til: YearParam = "",
) -> HTMLResponse:
    """Spør: one question, an answer with highlighted quotes, and its sources.

    Without `q` it is the empty form; a `q` that is blank was submitted, and is told so.
    """
    from pipeline.answer import ask
    from pipeline.model import Filters
    from pipeline.search import check_filters

    loaded = res.loaded
    context: dict[str, Any] = {
        "q": q or "",
        "type": type,
        "tema": tema,
        "fra": fra,
        "til": til,
        "kinds": loaded.kinds,
        "years": loaded.years,
        "max_chars": LIMITS.question_chars,
        "answer": None,
        "error": None,
    }
    status = 200
    if q is not None:
        try:
            check_question(q)
            kinds = (type,) if type else ()
            filters = check_filters(
                Filters(kinds, tema or None, year_range(fra, til, loaded.years))
            )
            context.update(answer_context(loaded, ask(loaded.index, q, filters=filters)))
        except PipelineError as err:
            status = status_for(err)
            context["error"] = message_for(err)
            context["error_heading"] = getattr(err, "heading", "") or "Søket kunne ikke utføres"
    return page(request, "ask.html", context, status)


@router.get("/dokument/{doc_id}", response_class=HTMLResponse, dependencies=[QUICK])
def document_page(
    request: Request, doc_id: PathId, res: Shared, passasje: IdParam = ""
) -> HTMLResponse:
    """Dokument: the clean text by blocks, opened at a passage that is highlighted."""
    loaded = res.loaded
    document = res.document(doc_id)
    current = None
    if passasje:
        current = res.passage(passasje)
        if current.doc_id != doc_id:
            raise WebNotFoundError(
                f"Passasjen «{passasje}» står ikke i dokumentet «{doc_id}». Åpne dokumentet "
                f"uten passasje, eller følg lenken fra kildekortet på nytt."
            )
    passages = loaded.by_doc.get(doc_id, [])
    blocks = render.document_blocks(
        document, passages, current.passage_id if current else None, linkable(loaded)
    )
    context = {
        "document": document,
        "source": document.source,
        "blocks": blocks,
        "current": current,
        "current_where": render.where(current.section, current.locator) if current else "",
        "passage_count": len(passages),
    }
    return page(request, "document.html", context)


@router.get("/paragraf", response_class=HTMLResponse, dependencies=[QUICK])
def paragraph_page(request: Request, res: Shared, ref: RefParam = "") -> HTMLResponse:
    """Paragraf: the § text from the act or regulation and every passage that refers to it."""
    from pipeline.legal import ACTS, parse_ref

    context: dict[str, Any] = {"ref": ref, "examples": EXAMPLE_REFS, "parsed": None}
    if not ref.strip():
        return page(request, "paragraph.html", context)
    loaded = res.loaded
    try:
        parsed: LegalRef = parse_ref(ref)
    except PipelineError as err:
        context["error"] = message_for(err)
        return page(request, "paragraph.html", context, status_for(err))
    links = linkable(loaded)
    try:
        holding, citing = res.provision(parsed)
    except WebNotFoundError as err:
        context["error"] = message_for(err)
        return page(request, "paragraph.html", context, status_for(err))
    context.update(
        parsed=parsed,
        act_title=ACTS[parsed.act].title if parsed.act in ACTS else parsed.act,
        heading=holding[0].section[-1] if holding and holding[0].section else parsed.key,
        statute=[
            passage_view(loaded, n, p, render.passage_html(p, links))
            for n, p in enumerate(holding, start=1)
        ],
        citing=[
            passage_view(loaded, n, p, render.passage_html(p, links, parsed.key))
            for n, p in enumerate(citing, start=1)
        ],
    )
    return page(request, "paragraph.html", context)


def labels_of(resolved: Mapping[str, Resolved]) -> LabelsOf:
    """The themes a passage counts under on the Temaer page and in its downloads: the
    reviewed ones where a coder has reviewed it (`Pinned.resolved`), else the model's."""

    def labels(passage: Passage) -> Collection[str]:
        chosen = resolved.get(passage.passage_id)
        return chosen.labels if chosen is not None else model_labels(passage)

    return labels


def corpus_passages(loaded: Loaded) -> list[Passage]:
    """Every passage, document by document in index order, each document's in text order."""
    return [p for doc_id in loaded.index.documents for p in loaded.by_doc.get(doc_id, [])]


@dataclass(frozen=True, slots=True)
class YearChart:
    """Temaer per år as grouped bars: a group per dated year, a bar per theme's share."""

    years: tuple[ThemeCounts, ...]
    top: float  # the share at the top of the axis: the largest, rounded up to 10 %
    ticks: tuple[float, ...]


def year_chart(table: ThemeYears) -> YearChart:
    dated = tuple(row for row in table.years if row.year is not None)
    largest = max((row.share(t) for row in dated for t in table.themes), default=0.0)
    top = max(1, math.ceil(largest * 10 - 1e-9)) / 10
    return YearChart(dated, top, tuple(n / 10 for n in range(round(top * 10) + 1)))


def heat_top(matrix: ThemeProvisions) -> float:
    """The largest share in the table, which the darkest colour stands for."""
    return max((matrix.share(r, t) for r in matrix.provisions for t in matrix.themes), default=0)


@router.get("/temaer", response_class=HTMLResponse, dependencies=[SLOW])
def themes_page(
    request: Request,
    res: Shared,
    tema: NameParam = "",
    dokument: IdParam = "",
    paragraf: RefParam = "",
    side: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Temaer: themes per document and year, the §§ each theme cites, and one theme's
    passages (of a document, citing a §) with explanations."""
    from pipeline.legal import ACTS
    from pipeline.model import THEME_THRESHOLD, THEMES

    loaded = res.loaded
    resolved = res.resolved()
    labels = labels_of(resolved)
    passages = corpus_passages(loaded)
    table = theme_year_counts(passages, loaded.index.document_of, labels)
    names = act_names(loaded.index.documents.values())
    matrix = theme_provision_counts(passages, labels, PROVISIONS_SHOWN, names=names)
    reviewed = sum(r.source == "reviewed" for r in resolved.values())
    context: dict[str, Any] = {
        "reviewed": reviewed,
        "themes": THEMES,
        "rows": table.documents,
        "total": table.total,
        "years": table.years,
        "chart": year_chart(table),
        "matrix": matrix,
        "heat_top": heat_top(matrix),
        "heat_levels": HEAT_LEVELS,
        "linked": {r.key for r in matrix.provisions if r.act in ACTS},  # /paragraf reads these
        "tema": tema,
        "dokument": dokument,
        "paragraf": paragraf,
        "descriptions": render.THEME_DESCRIPTIONS,
        "threshold": THEME_THRESHOLD,
        "selected": [],
    }
    if tema:
        context.update(theme_passages(res, passages, labels, tema, dokument, paragraf, side))
    return page(request, "themes.html", context)


def theme_passages(
    res: Shared,
    passages: list[Passage],
    labels: LabelsOf,
    tema: str,
    dokument: str,
    paragraf: str,
    side: int,
) -> dict[str, Any]:
    """One theme's passages, of a document and citing a § if asked, a page of them."""
    from pipeline.legal import parse_ref
    from pipeline.themes import check_theme

    theme = check_theme(tema)
    if dokument:
        res.document(dokument)
    key = parse_ref(paragraf).key if paragraf.strip() else ""
    chosen = sorted(
        (
            p
            for p in passages
            if theme in labels(p)
            and p.doc_id == (dokument or p.doc_id)
            and (not key or key in provision_keys(p))
        ),
        key=lambda p: -dict(p.themes).get(theme, 0.0),
    )
    pages = max(1, -(-len(chosen) // THEMES_PAGE_SIZE))
    if side > pages:
        raise page_missing(side, pages, render.THEME_LABELS[theme])
    start = (side - 1) * THEMES_PAGE_SIZE
    shown = chosen[start : start + THEMES_PAGE_SIZE]
    terms = res.with_classifier(lambda c: [c.explain_terms(p.text, [theme]) for p in shown])
    loaded = res.loaded
    return {
        "found": len(chosen),
        "side": side,
        "pages": pages,
        "paragraf": key,
        "paragraf_label": provision_label(key, act_names(loaded.index.documents.values()))[1],
        "selected": [
            (
                passage_view(loaded, start + n, p, escape(render.preview(p.text, 500))),
                dict(p.themes).get(theme, 0.0),
                dict(why).get(theme, ()),
            )
            for n, (p, why) in enumerate(zip(shown, terms, strict=True), start=1)
        ],
        "document_title": res.document(dokument).source.title if dokument else "",
    }


def page_missing(side: int, pages: int, theme: str) -> WebNotFoundError:
    choose = "Gå til side 1" if pages == 1 else f"Velg en side fra 1 til {pages}"
    count = "én side" if pages == 1 else f"{pages} sider"
    return WebNotFoundError(
        f"Side {side} finnes ikke: passasjene om {theme.lower()} får plass på {count}. {choose}.",
        heading="Fant ikke siden",
    )


@router.get("/dokumenter", response_class=HTMLResponse, dependencies=[QUICK])
def documents_page(request: Request, res: Shared) -> HTMLResponse:
    """Dokumenter: every document in the index."""
    loaded = res.loaded
    documents = [
        (d, len(loaded.by_doc.get(doc_id, [])))
        for doc_id, d in sorted(
            loaded.index.documents.items(),
            key=lambda item: (item[1].source.kind.value, item[1].source.title),
        )
    ]
    return page(request, "documents.html", {"documents": documents})
