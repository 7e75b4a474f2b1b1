"""The pages: Spør (/), Dokument, Paragraf, Temaer and Dokumenter, rendered on the server.

Each route calls the same library functions as the API and hands view records
(`pipeline.web.views`) to a template; document text reaches the templates only as escaped
markup from `pipeline.web.render`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import escape

from pipeline.errors import PipelineError
from pipeline.model import LegalRef
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
from pipeline.web.state import Shared
from pipeline.web.views import answer_context, linkable, passage_view

router = APIRouter(include_in_schema=False)
THEMES_PAGE_SIZE = 20
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


@dataclass(frozen=True, slots=True)
class ThemeRow:
    doc_id: str
    title: str
    kind: str
    year: int | None
    passages: int
    counts: dict[str, int]

    def share(self, theme: str) -> float:
        return self.counts[theme] / self.passages if self.passages else 0.0


@router.get("/temaer", response_class=HTMLResponse, dependencies=[SLOW])
def themes_page(
    request: Request,
    res: Shared,
    tema: NameParam = "",
    dokument: IdParam = "",
    side: Annotated[int, Query(ge=1)] = 1,
) -> HTMLResponse:
    """Temaer: themes per document, a chart, one theme's passages with explanations."""
    from pipeline.model import THEME_THRESHOLD, THEMES
    from pipeline.themes import check_theme

    loaded = res.loaded
    rows = [
        ThemeRow(
            doc_id,
            d.source.title,
            d.source.kind.value,
            d.source.year,
            len(loaded.by_doc.get(doc_id, [])),
            {t: sum(p.has_theme(t) for p in loaded.by_doc.get(doc_id, [])) for t in THEMES},
        )
        for doc_id, d in loaded.index.documents.items()
    ]
    total = ThemeRow(
        "",
        "Alle dokumenter",
        "",
        None,
        sum(r.passages for r in rows),
        {t: sum(r.counts[t] for r in rows) for t in THEMES},
    )
    context: dict[str, Any] = {
        "themes": THEMES,
        "rows": rows,
        "total": total,
        "tema": tema,
        "dokument": dokument,
        "descriptions": render.THEME_DESCRIPTIONS,
        "threshold": THEME_THRESHOLD,
        "selected": [],
    }
    if tema:
        theme = check_theme(tema)
        if dokument:
            res.document(dokument)
        chosen = sorted(
            (
                p
                for p in loaded.index.store.passages_of_theme(theme)
                if p.doc_id == (dokument or p.doc_id)
            ),
            key=lambda p: -dict(p.themes)[theme],
        )
        pages = max(1, -(-len(chosen) // THEMES_PAGE_SIZE))
        if side > pages:
            raise page_missing(side, pages, render.THEME_LABELS[theme])
        start = (side - 1) * THEMES_PAGE_SIZE
        shown = chosen[start : start + THEMES_PAGE_SIZE]
        terms = res.with_classifier(lambda c: [c.explain_terms(p.text, [theme]) for p in shown])
        context.update(
            found=len(chosen),
            side=side,
            pages=pages,
            selected=[
                (
                    passage_view(loaded, start + n, p, escape(render.preview(p.text, 500))),
                    dict(p.themes)[theme],
                    dict(why).get(theme, ()),
                )
                for n, (p, why) in enumerate(zip(shown, terms, strict=True), start=1)
            ],
            document_title=res.document(dokument).source.title if dokument else "",
        )
    return page(request, "themes.html", context)


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
