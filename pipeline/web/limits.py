"""Limits on what one request may ask of the server: its body, its address, its lists and texts.

Without them one request could hold the server: a `kinds` list of 8 million items took
48 s and 950 MB before anything refused it. Every limit is in `RequestLimits`; the request
models (`pipeline.web.schemas`) and the pages read the field limits from `LIMITS`, and
`LimitRequestSize`, an ASGI middleware, refuses a body or an address that is too large
before the app reads it. The refusals are errors of `pipeline.web.errors` (413 and 414),
answered by the app's one error handler.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.web.errors import AddressTooLongError, BodyTooLargeError

KIB = 1024
MIB = 1024 * KIB


@dataclass(frozen=True, slots=True)
class RequestLimits:
    """How large a request and each of its fields may be; the defaults are the app's."""

    # The encoder reads ~512 tokens, about 2,000 characters; the search cuts there as well
    # (`SearchSettings.max_query_chars`).
    question_chars: int = 2000
    k: int = 50  # passages per search: more than a person reads (the library takes 100)
    # There are 7 document kinds; 20 leaves room for repeats, never for a flood of them.
    kinds: int = 20
    name_chars: int = 40  # a kind or a theme: the longest now is "organisation" (12)
    year_chars: int = 20  # "2018-2022", with room for spaces
    ref_chars: int = 200  # "sosialtjenesteloven § 35 første ledd bokstav a" is 46
    id_chars: int = 200  # a doc_id or passage_id ("fafo-2021-35-aap-kvp-unge:3f9a…": < 60)
    classify_texts: int = 100
    classify_chars: int = 20_000  # a long passage is ~3,000 characters; a page ~4,000
    # The largest valid /api/ask body is ~13 KB: 2,000 characters even as \u00e6 escapes
    # (6 bytes each) plus 20 kinds. 64 KiB is five times that; three at once cost nothing.
    body_bytes: int = 64 * KIB
    # /api/classify takes 100 texts of 20,000 characters: ~2 MB of UTF-8 Norwegian text.
    # Twice that leaves room for JSON escapes; it is the one route with a larger body.
    classify_body_bytes: int = 4 * MIB
    classify_path: str = "/api/classify"
    # Path and query string, percent-encoded. A 2,000-character question of æ, ø and å
    # (6 bytes each: %C3%A6) is 12,000 bytes, and the filters well under 1 KB: 16 KiB
    # lets the longest valid question through, so a longer one gets the friendlier
    # "too long" message of its field instead.
    url_bytes: int = 16 * KIB

    def body_limit(self, path: str) -> int:
        """The largest body a route takes."""
        return self.classify_body_bytes if path == self.classify_path else self.body_bytes


LIMITS = RequestLimits()

Refuse = Callable[[Request, Exception], Awaitable[Response]]


def size_text(size: int) -> str:
    """4194304 → "4 MiB", 1536 → "1,5 KiB" (a Norwegian decimal comma), 900 → "900 byte"."""
    for unit, name in ((MIB, "MiB"), (KIB, "KiB")):
        if size >= unit:
            number = f"{size // unit}" if size % unit == 0 else f"{size / unit:.1f}"
            return f"{number.replace('.', ',')} {name}"
    return f"{size} byte"


def body_too_large(limit: int, size: int | None) -> BodyTooLargeError:
    """`size` is None for a streamed body, counted only up to the limit."""
    told = f"på {size_text(size)}" if size is not None else f"på mer enn {size_text(limit)}"
    return BodyTooLargeError(
        f"Forespørselen er {told}, men denne adressen tar imot høyst {size_text(limit)}. "
        "Send mindre: et kortere spørsmål, færre filtre, eller tekstene fordelt på flere "
        "forespørsler.",
        heading="Forespørselen er for stor",
    )


def address_too_long(limit: int, size: int) -> AddressTooLongError:
    return AddressTooLongError(
        f"Adressen er {size} tegn lang, men høyst {limit} tegn tas imot. Skriv et kortere "
        "spørsmål eller velg færre filtre; lange tekster sendes med POST til /api/ask eller "
        "/api/classify.",
        heading="Adressen er for lang",
    )


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value)
    return None


class LimitRequestSize:
    """Refuses, before the app runs, an address longer than `limits.url_bytes` (414) and a
    body larger than its route's limit (413).

    A declared Content-Length over the limit is refused without reading the body. Any other
    body, chunked ones too, is read here and counted as it arrives: reading stops at the
    first chunk past the limit, and the app is handed a body that is known to fit.
    """

    def __init__(self, app: ASGIApp, refuse: Refuse, limits: RequestLimits = LIMITS) -> None:
        self.app = app
        self.refuse = refuse
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        target = len(scope.get("raw_path") or str(scope["path"]).encode()) + len(
            scope.get("query_string", b"")
        )
        if target > self.limits.url_bytes:
            await self.answer(scope, receive, send, address_too_long(self.limits.url_bytes, target))
            return
        length = header(scope, b"content-length")
        if length is None and header(scope, b"transfer-encoding") is None:
            await self.app(scope, receive, send)  # no body
            return
        limit = self.limits.body_limit(str(scope["path"]))
        if length is not None and length.strip().isdigit() and int(length) > limit:
            await self.answer(scope, receive, send, body_too_large(limit, int(length)))
            return
        body = await read_body(receive, limit)
        if body is None:
            await self.answer(scope, receive, send, body_too_large(limit, None))
            return
        await self.app(scope, replay(body, receive), send)

    async def answer(self, scope: Scope, receive: Receive, send: Send, error: Exception) -> None:
        response = await self.refuse(Request(scope), error)
        # The rest of an oversized body is not read: the connection cannot carry another
        # request after it.
        response.headers["Connection"] = "close"
        await response(scope, receive, send)


async def read_body(receive: Receive, limit: int) -> Message | None:
    """The whole body as one message (or the client's disconnect), or None past `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return message
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return {"type": "http.request", "body": b"".join(chunks), "more_body": False}


def replay(first: Message, receive: Receive) -> Receive:
    """`receive` that gives the body already read, then whatever the server sends next."""
    pending = [first]

    async def receive_again() -> Message:
        if pending:
            return pending.pop()
        return await receive()

    return receive_again
