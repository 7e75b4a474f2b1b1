"""Koding: researchers review the model's themes, code spans, write memos, and retrain.

    GET  /koding                 the queue (uncertainty, document or theme order) and status
    POST /koding/koder           who is coding (a name kept in a cookie; no passwords)
    POST /koding/vurdering       a passage's themes and memo, as the coder holds them
    POST /koding/utdrag          a selected span of a passage coded with a theme or a code
    POST /koding/kode            a code of the coder's own, beside the four themes
    GET  /koding/enighet         agreement between coders (Krippendorff's α, Cohen's κ)
    POST /koding/tren, GET /koding/tren   retraining from the reviewed labels, its numbers

Every form works without JavaScript; app.js only turns a text selection into the span
form's offsets. Decisions go to the labels store (`pipeline.labels`), which no rebuild
touches; after a POST the browser is sent back to where it was (303).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from pipeline.errors import LabelError
from pipeline.labels import MODEL_CODER, check_coder
from pipeline.model import THEMES, Passage
from pipeline.review import ReviewStatus, queue, review_codings, uncertainty
from pipeline.web import render
from pipeline.web.errors import WebInvalidError
from pipeline.web.lanes import QUICK, SLOW
from pipeline.web.limits import LIMITS
from pipeline.web.pages import IdParam, NameParam, page
from pipeline.web.state import Pinned, Shared

router = APIRouter(include_in_schema=False)
COOKIE = "kvp_koder"
QUEUE_PAGE = 10  # passages per page of the queue
RETRAIN_AFTER = 20  # reviewed passages since the model was trained before retraining is offered
ORDERS = {
    "uncertainty": "Mest usikre først",
    "document": "Dokument for dokument",
    "theme": "Etter ett tema",
}
MemoField = Annotated[str, Form(max_length=5000)]
# Where the coder was in the queue, sent back with each form so the page returns there.
OrderField = Annotated[str, Form(max_length=LIMITS.name_chars)]
ThemeField = Annotated[str, Form(max_length=LIMITS.name_chars)]
DocumentField = Annotated[str, Form(max_length=LIMITS.id_chars)]


def coder_of(request: Request) -> str:
    """The coder the browser says it is, or "" (then the page asks for a name)."""
    value = unquote(request.cookies.get(COOKIE, ""))
    try:
        return check_coder(value) if value else ""
    except LabelError:
        return ""


def need_coder(request: Request) -> str:
    coder = coder_of(request)
    if not coder:
        raise WebInvalidError("Skriv navnet ditt (eller initialer) på Koding-siden før du "
                              "lagrer en vurdering.", heading="Hvem koder?")  # fmt: skip
    return coder


def back_to(params: dict[str, str], anchor: str = "") -> RedirectResponse:
    kept = {key: value for key, value in params.items() if value}
    url = "/koding" + (f"?{urlencode(kept)}" if kept else "") + (f"#{anchor}" if anchor else "")
    return RedirectResponse(url, status_code=303)


def check_order_param(order: str) -> str:
    if order not in ORDERS:
        valid = ", ".join(f"«{key}» ({label.lower()})" for key, label in ORDERS.items())
        raise WebInvalidError(f"Rekkefølgen «{order}» finnes ikke. Velg {valid}.",
                              heading="Ukjent rekkefølge")  # fmt: skip
    return order


def check_theme_param(theme: str) -> str:
    if theme and theme not in THEMES:
        raise WebInvalidError(
            f"Temaet «{theme}» finnes ikke. Velg et av disse: "
            + ", ".join(render.THEME_LABELS[t] for t in THEMES) + ".",
            heading="Ukjent tema",
        )  # fmt: skip
    return theme


def coding_text(passage: Passage, spans: list[Any]) -> Markup:
    """The passage text, escaped, with the coder's coded spans marked: exactly the text, so
    a selection's offsets in the page are offsets in the passage."""
    return render.wrap(passage.text, [render.mark(s.start, s.end, "coded") for s in spans])


def model_trained_at(res: Pinned) -> str:
    return str(res.with_classifier(lambda c: c.meta.get("trained_at", "")))


@router.get("/koding", response_class=HTMLResponse, dependencies=[SLOW])
def coding_page(
    request: Request,
    res: Shared,
    rekkefolge: NameParam = "uncertainty",
    tema: NameParam = "",
    dokument: IdParam = "",
    side: Annotated[int, Query(ge=1)] = 1,
    lagret: IdParam = "",
) -> HTMLResponse:
    """The coder's queue, ten passages a page, and what they have done so far."""
    from pipeline.review import check_order, coding_status

    order = check_order_param(rekkefolge)
    theme = check_theme_param(tema)
    if order == "theme" and not theme:
        theme = THEMES[0]
    loaded, coder = res.loaded, coder_of(request)
    documents = [(doc_id, d.source.title) for doc_id, d in loaded.index.documents.items()]
    context: dict[str, Any] = {
        "coder": coder, "orders": ORDERS, "order": order, "tema": theme, "dokument": dokument,
        "themes": THEMES, "documents": documents, "model_coder": MODEL_CODER,
    }  # fmt: skip
    if dokument and dokument not in loaded.index.documents:
        raise WebInvalidError(f"Dokumentet «{dokument}» finnes ikke i korpuset. Velg et "
                              "dokument fra lista.", heading="Ukjent dokument")  # fmt: skip
    if not coder:
        return page(request, "coding.html", context)
    placed = res.placed()
    todo = queue(loaded.index.passages, placed, coder, order=check_order(order),
                 theme=theme or None, doc_id=dokument or None)  # fmt: skip
    again = {p.passage_id for p in placed
             if p.review.coder == coder and p.status is ReviewStatus.CHANGED}  # fmt: skip
    earlier = {p.passage_id: p.review for p in placed if p.review.coder == coder}
    pages = max(1, -(-len(todo) // QUEUE_PAGE))
    side = min(side, pages)
    shown = todo[(side - 1) * QUEUE_PAGE : side * QUEUE_PAGE]
    labels = res.labels
    cards = []
    for passage in shown:
        spans = labels.spans(coder, passage.passage_id)
        review = earlier.get(passage.passage_id)
        cards.append({
            "passage": passage,
            "source": loaded.index.source_of(passage),
            "where": render.where(passage.section, passage.locator),
            "url": render.document_url(passage.doc_id, passage.passage_id),
            "uncertainty": uncertainty(passage),
            "scores": dict(passage.themes),
            "checked": set(review.labels) if review else set(passage.labels),
            "reviewed": review is not None,
            "again": passage.passage_id in again,
            "old_text": review.text if review and passage.passage_id in again else "",
            "memo": labels.memo(coder, passage.passage_id),
            "spans": spans,
            "text": coding_text(passage, spans),
        })  # fmt: skip
    status = {row.coder: row for row in coding_status(placed, labels.spans())}
    trained_at = model_trained_at(res)
    retraining = res.shared.retraining
    known = bool(lagret) and loaded.index.store.row_of(lagret) is not None
    saved = loaded.index.passage(lagret) if known else None
    saved_name = ""
    if saved is not None:
        source = loaded.index.source_of(saved)
        where = render.where(saved.section, saved.locator)
        saved_name = " ".join(part for part in (source.short or source.title, where) if part)
    context.update(
        cards=cards, remaining=len(todo), side=side, pages=pages, status=status.get(coder),
        coders=sorted(status), codes=labels.codes(), saved=saved, saved_name=saved_name,
        saved_review=earlier.get(lagret) if lagret else None,
        since=labels.reviewed_since(trained_at), retrain_after=RETRAIN_AFTER,
        running=retraining is not None and not retraining.done(),
        missing=[p.review for p in placed if p.status is ReviewStatus.MISSING],
        max_memo=5000,
    )  # fmt: skip
    return page(request, "coding.html", context)


@router.post("/koding/koder", dependencies=[QUICK])
def choose_coder(navn: Annotated[str, Form(max_length=200)] = "") -> Response:
    try:
        coder = check_coder(navn)
    except LabelError as err:
        raise WebInvalidError("Skriv et navn eller initialer (høyst 60 tegn), for eksempel "
                              "«AB».", heading="Hvem koder?") from err  # fmt: skip
    response = back_to({})
    response.set_cookie(COOKIE, quote(coder), max_age=365 * 24 * 3600, samesite="lax",
                        httponly=True)  # fmt: skip
    return response


@router.post("/koding/vurdering", dependencies=[QUICK])
def save_review(
    request: Request,
    res: Shared,
    passage_id: Annotated[str, Form(max_length=LIMITS.id_chars)],
    tema: Annotated[list[str] | None, Form()] = None,
    memo: MemoField = "",
    rekkefolge: OrderField = "",
    filter_tema: ThemeField = "",
    dokument: DocumentField = "",
) -> Response:
    """Store the themes the coder ticked (the rest rejected) and the memo; back to the queue."""
    coder = need_coder(request)
    chosen = [check_theme_param(t) for t in tema or []]
    passage = res.passage(passage_id)
    res.labels.review(coder, passage, chosen)
    if memo.strip() or res.labels.memo(coder, passage_id):
        res.labels.write_memo(coder, passage, memo)
    params = {"rekkefolge": rekkefolge, "tema": filter_tema, "dokument": dokument,
              "lagret": passage_id}  # fmt: skip
    return back_to(params, "lagret")


@router.post("/koding/utdrag", dependencies=[QUICK])
def save_span(
    request: Request,
    res: Shared,
    passage_id: Annotated[str, Form(max_length=LIMITS.id_chars)],
    kode: Annotated[str, Form(max_length=200)],
    start: Annotated[int, Form(ge=0)],
    slutt: Annotated[int, Form(ge=0)],
    memo: MemoField = "",
    rekkefolge: OrderField = "",
    filter_tema: ThemeField = "",
    dokument: DocumentField = "",
) -> Response:
    coder = need_coder(request)
    passage = res.passage(passage_id)
    if not 0 <= start < slutt <= len(passage.text):
        raise WebInvalidError("Marker teksten du vil kode i passasjen først, og trykk så "
                              "«Kod markert tekst».", heading="Ingen tekst er markert")  # fmt: skip
    try:
        res.labels.code_span(coder, passage, start, slutt, kode, memo)
    except LabelError as err:
        raise WebInvalidError(
            f"Koden «{kode}» finnes ikke. Velg et tema eller en kode fra lista, eller legg til "
            "koden først.",
            heading="Ukjent kode",
        ) from err
    params = {"rekkefolge": rekkefolge, "tema": filter_tema, "dokument": dokument}
    return back_to(params, f"p-{passage_id}")


@router.post("/koding/kode", dependencies=[QUICK])
def add_code(
    request: Request,
    res: Shared,
    navn: Annotated[str, Form(max_length=200)],
    beskrivelse: MemoField = "",
) -> Response:
    coder = need_coder(request)
    try:
        res.labels.add_code(navn, coder, beskrivelse)
    except LabelError as err:
        raise WebInvalidError("En kode har et navn på 1 til 60 tegn som ikke er et av de fire "
                              "temaene.", heading="Koden kan ikke brukes") from err  # fmt: skip
    return back_to({}, "koder")


@router.get("/koding/enighet", response_class=HTMLResponse, dependencies=[SLOW])
def agreement_page(request: Request, res: Shared) -> HTMLResponse:
    """How far the coders agree on the passages they have all reviewed."""
    from pipeline.agreement import agreement
    from pipeline.errors import AgreementError

    codings = review_codings(res.placed())
    context: dict[str, Any] = {"coders": sorted(codings), "result": None, "error": "",
                               "themes": THEMES}  # fmt: skip
    passages = {p.passage_id: p for p in res.loaded.index.passages}
    texts = {unit: passages[unit].text for units in codings.values() for unit in units}
    try:
        context["result"] = agreement(codings, texts=texts)
    except AgreementError:
        counts = ", ".join(f"{c}: {len(u)}" for c, u in sorted(codings.items())) or "ingen"
        context["error"] = (
            "Enighet krever at minst to kodere har vurdert de samme passasjene. Vurderte "
            f"passasjer per koder: {counts}. Be en kollega kode de samme passasjene (for "
            "eksempel dokument for dokument)."
        )
    context["urls"] = {unit: render.document_url(passages[unit].doc_id, unit) for unit in texts}
    index = res.loaded.index
    context["names"] = {unit: " – ".join(part for part in (
        index.source_of(passages[unit]).title,
        render.where(passages[unit].section, passages[unit].locator)) if part)
        for unit in texts}  # fmt: skip
    return page(request, "agreement.html", context)


@router.post("/koding/tren", dependencies=[QUICK])
def start_retraining(request: Request, res: Shared) -> Response:
    need_coder(request)
    res.shared.start_retraining()
    return RedirectResponse("/koding/tren", status_code=303)


@router.get("/koding/tren", response_class=HTMLResponse, dependencies=[QUICK])
def retraining_page(request: Request, res: Shared) -> HTMLResponse:
    """The retraining running now, or the held-out numbers of the last one."""
    job = res.shared.retraining
    context: dict[str, Any] = {"job": job, "running": job is not None and not job.done(),
                               "result": None, "error": "", "themes": THEMES}  # fmt: skip
    if job is not None and job.done():
        try:
            context["result"] = job.result()
        except Exception as err:  # shown on the page; the old model stays in use
            context["error"] = f"Treningen stoppet: {err}"
    return page(request, "retraining.html", context)
