"""The pages: Spør (/), Dokument, Paragraf, Temaer and Dokumenter, rendered on the server.

Each route calls the same library functions as the API and hands plain view records to a
template; document text reaches the templates only as escaped markup from
`pipeline.web.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape

from pipeline.answer import statute_label
from pipeline.errors import NotFoundError, PipelineError
from pipeline.model import Citation, Hit, LegalRef, Passage
from pipeline.web import render
from pipeline.web.errors import status_for
from pipeline.web.lanes import QUICK, SLOW
from pipeline.web.schemas import MAX_QUESTION_CHARS
from pipeline.web.state import Loaded, Resources

router = APIRouter(include_in_schema=False)
THEMES_PAGE_SIZE = 20
EXAMPLE_REFS = ("sotjl § 29", "sotjl § 35", "sotjl § 39", "kvp-forskriften § 11")


async def resources(request: Request) -> Resources:
    shared: Resources = request.app.state.resources
    return shared


Shared = Annotated[Resources, Depends(resources)]


def page(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates
    response = templates.TemplateResponse(request, name, context, status_code=status)
    assert isinstance(response, HTMLResponse)
    return response


def linkable(loaded: Loaded) -> render.LinkTarget:
    """References that can link to a § page: a § of an act whose text is in the corpus."""
    from pipeline.legal import ACT_DOC_IDS

    present = {act for act, doc_id in ACT_DOC_IDS.items() if doc_id in loaded.index.documents}
    return lambda ref: bool(ref.section) and ref.act in present


# View records --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source card: where a passage comes from, an excerpt, and links."""

    number: int
    passage_id: str
    title: str
    kind: str
    year: int | None
    where: str
    section: str
    page: int | None
    url: str
    excerpt: Markup
    citation: str = ""
    related: tuple[tuple[str, str], ...] = ()  # (label, url) of the current statute text


def citation_view(loaded: Loaded, number: int, citation: Citation) -> SourceView:
    """The card of the cited passage, with the quote marked, a citation text and the law."""
    index = loaded.index
    passage = index.passage(citation.passage_id)
    related = []
    for pid in citation.related_law:
        statute = index.passage(pid)
        related.append((statute_label(index, pid), render.document_url(statute.doc_id, pid)))
    excerpt = render.quote_excerpt(passage.text, citation.quote_start, citation.quote_end)
    text = render.citation_text(citation.title, citation.year, citation.section,
                                citation.locator, citation.page, citation.quote)  # fmt: skip
    card = passage_view(loaded, number, passage, excerpt)
    return replace(card, citation=text, related=tuple(related))


def passage_view(loaded: Loaded, number: int, passage: Passage, excerpt: Markup) -> SourceView:
    source = loaded.index.source_of(passage)
    return SourceView(
        number,
        passage.passage_id,
        source.title,
        source.kind.value,
        source.year,
        render.where(passage.section, passage.locator),
        " › ".join(passage.section[1:]),
        passage.page_start,
        render.document_url(passage.doc_id, passage.passage_id),
        excerpt,
    )


def hit_view(loaded: Loaded, number: int, hit: Hit) -> SourceView:
    return passage_view(loaded, number, hit.passage, escape(render.preview(hit.passage.text)))


def answer_markup(citations: tuple[Citation, ...]) -> Markup:
    """The answer: each quoted sentence followed by a link to its source card."""
    return Markup(" ").join(
        Markup('{} <a class="cite-link" href="#kilde-{}" aria-label="Kilde {}">[{}]</a>').format(
            c.quote, n, n, n
        )
        for n, c in enumerate(citations, start=1)
    )


def year_range(low: str, high: str, years: list[int]) -> tuple[int, int] | None:
    if not low and not high:
        return None
    try:
        first = int(low) if low else min(years, default=0)
        last = int(high) if high else max(years, default=9999)
    except ValueError as err:
        raise PipelineError("årstall må skrives med fire sifre, for eksempel 2021.") from err
    if first > last:
        raise PipelineError(f"«fra år» ({first}) kan ikke være etter «til år» ({last}).")
    return first, last


# Routes ------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse, dependencies=[SLOW])
def ask_page(
    request: Request,
    res: Shared,
    q: str = "",
    type: str = "",
    tema: str = "",
    fra: str = "",
    til: str = "",
) -> HTMLResponse:
    """Spør: one question, an answer with highlighted quotes, and its sources."""
    from pipeline.answer import ask
    from pipeline.model import Filters

    loaded = res.loaded
    context: dict[str, Any] = {
        "q": q,
        "type": type,
        "tema": tema,
        "fra": fra,
        "til": til,
        "kinds": loaded.kinds,
        "years": loaded.years,
        "max_chars": MAX_QUESTION_CHARS,
        "answer": None,
        "error": None,
    }
    status = 200
    if q.strip():
        try:
            if len(q) > MAX_QUESTION_CHARS:
                raise PipelineError(
                    f"spørsmålet er {len(q)} tegn langt; kort det ned til {MAX_QUESTION_CHARS}."
                )
            filters = Filters(
                (type,) if type else (), tema or None, year_range(fra, til, loaded.years)
            )
            answer = ask(loaded.index, q, filters=filters)
        except PipelineError as err:
            status = 422 if len(q) > MAX_QUESTION_CHARS else status_for(err)
            context["error"] = str(err)
        else:
            cited = {c.passage_id for c in answer.citations}
            others = [h for h in answer.sources if h.passage.passage_id not in cited]
            context["answer"] = answer
            context["answer_html"] = answer_markup(answer.citations)
            context["citations"] = [
                citation_view(loaded, n, c) for n, c in enumerate(answer.citations, start=1)
            ]
            context["sources"] = [hit_view(loaded, n, h) for n, h in enumerate(others, start=1)]
    return page(request, "ask.html", context, status)


@router.get("/dokument/{doc_id}", response_class=HTMLResponse, dependencies=[QUICK])
def document_page(
    request: Request, doc_id: str, res: Shared, passasje: str | None = None
) -> HTMLResponse:
    """Dokument: the clean text by blocks, opened at a passage that is highlighted."""
    loaded = res.loaded
    document = res.document(doc_id)
    current = None
    if passasje:
        current = res.passage(passasje)
        if current.doc_id != doc_id:
            raise NotFoundError(f"passage '{passasje}' is not in document '{doc_id}'.")
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
def paragraph_page(request: Request, res: Shared, ref: str = "") -> HTMLResponse:
    """Paragraf: the § text from the act or regulation and every passage that refers to it."""
    from pipeline.legal import ACTS, parse_ref

    context: dict[str, Any] = {"ref": ref, "examples": EXAMPLE_REFS, "parsed": None}
    if not ref.strip():
        return page(request, "paragraph.html", context)
    loaded = res.loaded
    try:
        parsed: LegalRef = parse_ref(ref)
    except PipelineError as err:
        context["error"] = str(err)
        return page(request, "paragraph.html", context, status_for(err))
    links = linkable(loaded)
    holding = loaded.index.provision(parsed)
    held = {p.passage_id for p in holding}
    citing = [p for p in loaded.index.citing(parsed) if p.passage_id not in held]
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
    tema: str = "",
    dokument: str = "",
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
        start = (side - 1) * THEMES_PAGE_SIZE
        shown = chosen[start : start + THEMES_PAGE_SIZE]
        terms = res.with_classifier(lambda c: [c.explain_terms(p.text, [theme]) for p in shown])
        context.update(
            found=len(chosen),
            side=side,
            pages=max(1, -(-len(chosen) // THEMES_PAGE_SIZE)),
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
