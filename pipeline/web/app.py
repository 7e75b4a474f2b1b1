"""The web app: `create_app(index_dir)` builds a FastAPI app with the pages and the JSON API.

    kvp serve --index indexes/default        # http://127.0.0.1:8000

Errors are handled here, in one place: `pipeline.web.errors.STATUSES` maps each error class
to its status and `pipeline.web.errors.message_for` gives its message in Norwegian; API paths
get ``{"error": "<message>"}``, pages an error page. Requests too large for
`pipeline.web.limits` are refused by its middleware with the same handler (`error_for`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.errors import PipelineError
from pipeline.web import render
from pipeline.web.errors import (
    message_for,
    route_message,
    status_for,
    validation_message,
)
from pipeline.web.limits import LIMITS, LimitRequestSize, RequestLimits
from pipeline.web.state import CHECK_SECONDS, Resources

if TYPE_CHECKING:
    from pipeline.embed import Encoder

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
log = logging.getLogger("pipeline.web")

# Pages load nothing from elsewhere and run no inline script. /docs (Swagger UI) needs an
# inline script, so it is left out of this policy.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
NO_CSP = ("/docs", "/redoc")

PAGE_MESSAGES = {
    400: "Søket kunne ikke utføres",
    404: "Fant ikke siden",
    405: "Denne adressen tar ikke imot slike forespørsler",
    413: "Forespørselen er for stor",
    414: "Adressen er for lang",
    422: "Det du skrev, kan ikke brukes",
    500: "Noe gikk galt hos oss",
    503: "Tjenesten er ikke klar",
}


def make_templates() -> Jinja2Templates:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    env.globals.update(
        kind_label=lambda kind: render.KIND_LABELS.get(kind, kind),
        theme_label=lambda theme: render.THEME_LABELS.get(theme, theme),
        document_url=render.document_url,
        ref_url=render.ref_url,
        decimal=render.decimal,
        percent=render.percent,
        probability=render.probability,
        themes_meta=render.THEME_LABELS,
    )
    env.filters["theme_label"] = lambda theme: render.THEME_LABELS.get(theme, theme)
    return Jinja2Templates(env=env)


def create_app(
    index_dir: Path | str,
    *,
    warm: bool = False,
    cache_vectors: bool = True,
    encoder: Encoder | None = None,
    check_seconds: float = CHECK_SECONDS,
    limits: RequestLimits = LIMITS,
    labels: Path | None = None,
) -> FastAPI:
    """The app over one index: a folder, or a PostgreSQL store's URL. Index and theme model
    load on first use (or at start, `warm`).

    `cache_vectors=False` turns off the in-memory cache of question and sentence vectors
    (for measuring the uncached cost); `encoder` replaces the one the index names (tests).
    A rebuild of the index is served within `check_seconds` (`pipeline.web.state`).
    `limits` bounds the size of a body and of an address; the limits of each field are
    those of `pipeline.web.limits.LIMITS`, in the request models. `labels` is the coders'
    labels store (default `paths.labels_file()`).
    """
    from fastapi_offline import FastAPIOffline

    from pipeline import __version__
    from pipeline.web import api, coding, pages

    resources = Resources(index_dir, cache_vectors=cache_vectors, encoder=encoder,
                          check_seconds=check_seconds, labels=labels)  # fmt: skip

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        import anyio.to_thread

        if warm:
            await anyio.to_thread.run_sync(resources.warm)
        yield
        resources.close()

    app = FastAPIOffline(
        title="kvp",
        version=__version__,
        description=(
            "Search, answers with citations, legal references and themes over Norwegian "
            "policy texts on kvalifiseringsprogrammet (KVP). Errors are "
            '`{"error": "<message>"}`, the message in Norwegian and saying what to do: 400 '
            "for a request the library cannot answer as given, 404 for an unknown id or §, "
            "422 for malformed input, 503 when no index is loaded."
        ),
        lifespan=lifespan,
    )
    app.state.resources = resources
    app.state.templates = make_templates()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(coding.router)
    install_error_handlers(app)

    app.add_middleware(LimitRequestSize, refuse=error_for, limits=limits)
    app.add_middleware(SecurityHeaders)  # added last: outermost, so refusals get it too
    return app


class SecurityHeaders:
    """Adds security headers to every response (a plain ASGI middleware: cheap per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = not str(scope.get("path", "")).startswith(NO_CSP)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if policy:
                    headers.setdefault("Content-Security-Policy", CSP)
            await send(message)

        await self.app(scope, receive, send_with_headers)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/openapi")) or request.url.path == "/api"


def error_response(request: Request, status: int, message: str, heading: str = "") -> Response:
    if wants_json(request):
        return JSONResponse({"error": message}, status_code=status)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request,
        "error.html",
        {
            "status": status,
            "heading": heading or PAGE_MESSAGES.get(status, "Noe gikk galt"),
            "message": message,
        },
        status_code=status,
    )


async def error_for(request: Request, exc: Exception) -> Response:
    """The response to a library or web error: its status, its message in Norwegian."""
    message = message_for(exc)
    if message != str(exc):
        log.info("%s on %s: %s", type(exc).__name__, request.url.path, exc)
    heading = getattr(exc, "heading", "")
    return error_response(request, status_for(exc), message, heading)


def install_error_handlers(app: FastAPI) -> None:

    async def invalid_request(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return error_response(request, 422, validation_message(exc.errors()))

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        allowed = (exc.headers or {}).get("Allow", "")
        message = route_message(exc.status_code, request.url.path, request.method,
                                api=wants_json(request), allowed=allowed)  # fmt: skip
        response = error_response(request, exc.status_code, message)
        if allowed:
            response.headers["Allow"] = allowed
        return response

    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path, exc_info=exc)
        return error_response(request, 500, message_for(exc))

    app.add_exception_handler(PipelineError, error_for)
    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(Exception, unexpected)
