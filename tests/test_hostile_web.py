"""Hostile requests: bodies, addresses, lists and texts larger than the app takes.

Each is refused before it costs anything, with a Norwegian message that says what to send
instead, through the app's one error mapping (413 body, 414 address, 422 field). Over the
small report index of tests/test_web_answer.py (no real model is loaded).
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from fastapi.testclient import TestClient

from pipeline.web import create_app
from pipeline.web.errors import AddressTooLongError, BodyTooLargeError, status_for
from pipeline.web.limits import LIMITS, LimitRequestSize, RequestLimits, size_text

from .helpers import HashingEncoder, error_message
from .test_web_answer import report_index  # noqa: F401 (a fixture)

if TYPE_CHECKING:
    from starlette.types import Message, Receive, Scope, Send

    from pipeline.embed import Encoder

QUESTION = "Hvor lenge kan programmet vare?"
ENGLISH = ("must", "should", "unknown", "valid", "error", "field", "request", "body")


@pytest.fixture(scope="module")
def client(report_index: Path) -> Iterator[TestClient]:  # noqa: F811
    app = create_app(report_index, encoder=cast("Encoder", HashingEncoder()))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def error_of(response: object) -> str:
    return error_message(response, ENGLISH)


# The attack of the issue -------------------------------------------------------------------


def test_eight_million_kinds_are_refused_unread(client: TestClient) -> None:
    """Before: 48 s and 950 MB on the server, then a 500. Now: 413 from the Content-Length."""
    body = json.dumps({"question": QUESTION, "kinds": ["law"] * 8_000_000}).encode()
    started = time.perf_counter()
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    seconds = time.perf_counter() - started
    assert response.status_code == 413
    message = error_of(response)
    assert "Forespørselen er på 53,4 MiB, men denne adressen tar imot høyst 64 KiB" in message
    assert "Send mindre" in message
    assert response.headers["connection"] == "close"
    assert seconds < 5, seconds


def test_a_list_of_kinds_longer_than_the_limit_is_422(client: TestClient) -> None:
    kinds = ["law", "regulation"] * 11  # 22: small enough for the body, too many kinds
    response = client.post("/api/ask", json={"question": QUESTION, "kinds": kinds})
    assert response.status_code == 422
    assert error_of(response) == f"«kinds» kan ha høyst {LIMITS.kinds} elementer."
    fine = client.post("/api/ask", json={"question": QUESTION, "kinds": ["law"] * LIMITS.kinds})
    assert fine.status_code == 200


# Fields ------------------------------------------------------------------------------------

LONG_NAME = "x" * (LIMITS.name_chars + 1)
LONG_ID = "x" * (LIMITS.id_chars + 1)


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"kinds": [LONG_NAME]}, f"«kinds.0» kan ha høyst {LIMITS.name_chars} tegn"),
        ({"theme": LONG_NAME}, f"«theme» kan ha høyst {LIMITS.name_chars} tegn"),
        ({"question": "x" * 2001}, "«question» kan ha høyst 2000 tegn"),
    ],
)
def test_ask_field_limits(client: TestClient, payload: dict[str, Any], fragment: str) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, **payload})
    assert response.status_code == 422 and fragment in error_of(response)


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"kind": ["law"] * (LIMITS.kinds + 1)}, f"«kind» kan ha høyst {LIMITS.kinds} elementer"),
        ({"kind": LONG_NAME}, f"«kind.0» kan ha høyst {LIMITS.name_chars} tegn"),
        ({"theme": LONG_NAME}, f"«theme» kan ha høyst {LIMITS.name_chars} tegn"),
        ({"year": "2" * 21}, f"«year» kan ha høyst {LIMITS.year_chars} tegn"),
        ({"ref": "§" * 201}, f"«ref» kan ha høyst {LIMITS.ref_chars} tegn"),
        ({"k": LIMITS.k + 1}, f"«k» kan være høyst {LIMITS.k}"),
    ],
)
def test_search_parameter_limits(client: TestClient, params: dict[str, Any], fragment: str) -> None:
    response = client.get("/api/search", params={"q": "stønad", **params})
    assert response.status_code == 422 and fragment in error_of(response)


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/api/refs", {"ref": "§" * 201}, f"«ref» kan ha høyst {LIMITS.ref_chars} tegn"),
        ("/api/export", {"theme": LONG_NAME}, f"«theme» kan ha høyst {LIMITS.name_chars} tegn"),
        (f"/api/passages/{LONG_ID}", {}, f"«passage_id» kan ha høyst {LIMITS.id_chars} tegn"),
        (f"/api/documents/{LONG_ID}", {}, f"«doc_id» kan ha høyst {LIMITS.id_chars} tegn"),
    ],
)
def test_other_api_limits(
    client: TestClient, path: str, params: dict[str, str], fragment: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422 and fragment in error_of(response)


def test_classify_id_limit(client: TestClient) -> None:
    response = client.post("/api/classify", json={"texts": [{"id": LONG_ID, "text": "tekst"}]})
    assert response.status_code == 422
    assert f"«texts.0.id» kan ha høyst {LIMITS.id_chars} tegn" in error_of(response)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/", {"q": QUESTION, "type": LONG_NAME}, "type"),
        ("/", {"q": QUESTION, "tema": LONG_NAME}, "tema"),
        ("/", {"q": QUESTION, "fra": "2" * 21}, "fra"),
        ("/", {"q": QUESTION, "til": "2" * 21}, "til"),
        ("/dokument/evaluering-2019", {"passasje": LONG_ID}, "passasje"),
        (f"/dokument/{LONG_ID}", {}, "doc_id"),
        ("/paragraf", {"ref": "§" * 201}, "ref"),
        ("/temaer", {"tema": LONG_NAME}, "tema"),
        ("/temaer", {"tema": "funding", "dokument": LONG_ID}, "dokument"),
    ],
)
def test_page_parameter_limits(
    client: TestClient, path: str, params: dict[str, str], field: str
) -> None:
    page = client.get(path, params=params)
    assert page.status_code == 422
    assert '<html lang="nb">' in page.text and f"«{field}» kan ha høyst" in page.text


def test_a_long_question_on_the_page_keeps_its_own_message(client: TestClient) -> None:
    page = client.get("/", params={"q": "æ" * 2001})  # 12,006 bytes in the address: no 414
    assert page.status_code == 422 and "Kort det ned til 2000 tegn" in page.text


# Bodies ------------------------------------------------------------------------------------


def test_a_body_over_the_limit_is_413(client: TestClient) -> None:
    body = json.dumps({"question": QUESTION, "theme": "x" * LIMITS.body_bytes})
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert "høyst 64 KiB" in error_of(response)


def test_classify_takes_a_larger_body(client: TestClient) -> None:
    """100 texts of 20,000 characters must fit: past 64 KiB, the fields decide."""
    texts = [{"text": "Tekst om stønad. " * 60}] * (LIMITS.classify_texts + 1)  # ~100 KB
    response = client.post("/api/classify", json={"texts": texts})
    assert response.status_code == 422 and "høyst 100 elementer" in error_of(response)
    huge = [{"text": "x" * LIMITS.classify_chars}] * 210  # ~4.2 MB
    response = client.post("/api/classify", json={"texts": huge})
    assert response.status_code == 413 and "høyst 4 MiB" in error_of(response)


def test_a_streamed_body_is_counted(client: TestClient) -> None:
    """A chunked body (no Content-Length) is counted as it arrives. (The test client reads
    the whole stream itself; how little the server reads is tested below, over ASGI and
    over a socket.)"""

    def chunks() -> Iterator[bytes]:
        yield b'{"question": "' + b"x" * 10
        for _ in range(100):
            yield b"x" * 16_384

    response = client.post(
        "/api/ask", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert "Forespørselen er på mer enn 64 KiB" in error_of(response)


def test_a_body_within_the_limit_reaches_the_route(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"question": '
        yield json.dumps(QUESTION).encode()
        yield b"}"

    response = client.post(
        "/api/ask", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 200 and response.json()["question"] == QUESTION


def test_the_middleware_stops_reading_at_the_limit() -> None:
    """Straight through ASGI: a chunked body is read only up to the first chunk past it."""
    reads = []

    async def receive() -> Message:
        reads.append(1)
        return {"type": "http.request", "body": b"x" * 1000, "more_body": True}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the app must not run")

    refused: list[Exception] = []

    async def refuse(request: Any, error: Exception) -> Any:
        from starlette.responses import PlainTextResponse

        refused.append(error)
        return PlainTextResponse("nei", status_code=status_for(error))

    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/ask", "raw_path": b"/api/ask",
             "query_string": b"", "headers": [(b"transfer-encoding", b"chunked")]}  # fmt: skip
    middleware = LimitRequestSize(app, refuse, RequestLimits(body_bytes=4500))
    asyncio.run(middleware(scope, receive, send))
    assert len(reads) == 5  # 5,000 bytes: the first chunk past 4,500
    assert isinstance(refused[0], BodyTooLargeError) and sent[0]["status"] == 413


# Addresses ---------------------------------------------------------------------------------


def test_an_address_over_the_limit_is_414(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "stønad " * 3000})
    assert response.status_code == 414
    message = error_of(response)
    assert f"høyst {LIMITS.url_bytes} tegn tas imot" in message and "POST" in message
    page = client.get("/", params={"q": "stønad " * 3000})
    assert page.status_code == 414 and "Adressen er for lang" in page.text
    assert page.headers["content-security-policy"]  # refusals get the security headers too


def test_limit_errors_have_their_statuses() -> None:
    assert status_for(BodyTooLargeError("x")) == 413
    assert status_for(AddressTooLongError("x")) == 414
    assert size_text(4 * 1024 * 1024) == "4 MiB" and size_text(65_536) == "64 KiB"
    assert size_text(1536) == "1,5 KiB" and size_text(900) == "900 byte"


# Over a real server: the socket is read no further than the limit ---------------------------


@pytest.fixture(scope="module")
def server(report_index: Path) -> Iterator[tuple[str, int]]:  # noqa: F811
    import uvicorn

    app = create_app(report_index, encoder=cast("Encoder", HashingEncoder()))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="hostile-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the server did not start"
        time.sleep(0.05)
    yield "127.0.0.1", port
    server.should_exit = True
    thread.join(timeout=10)


def exchange(
    address: tuple[str, int], head: bytes, body: Iterable[bytes] = ()
) -> tuple[bytes, int]:
    """Send a request, the body for as long as the server takes it; the response (until the
    server closes) and how many body bytes went out."""
    sent = 0
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(head)
        try:
            for chunk in body:
                sock.sendall(chunk)
                sent += len(chunk)
        except OSError:  # the server answered and closed: it stopped reading
            pass
        received = b""
        try:
            while data := sock.recv(65_536):
                received += data
        except ConnectionResetError:  # closed with unread bytes: what was sent has arrived
            pass
        return received, sent


def test_a_declared_gigabyte_is_refused_without_waiting_for_it(server: tuple[str, int]) -> None:
    head = (b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000000000\r\n\r\n")  # fmt: skip
    started = time.monotonic()
    response, _ = exchange(server, head)  # no body follows: only the header can have refused it
    assert response.startswith(b"HTTP/1.1 413 ")
    assert "høyst 64 KiB".encode() in response
    assert time.monotonic() - started < 5


def test_an_endless_chunked_body_is_cut_off(server: tuple[str, int]) -> None:
    head = (b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")  # fmt: skip
    chunk = b"4000\r\n" + b"x" * 0x4000 + b"\r\n"
    started = time.monotonic()
    response, sent = exchange(server, head, (chunk for _ in range(20_000)))  # 320 MB if read
    assert response.startswith(b"HTTP/1.1 413 ")
    assert b"mer enn 64 KiB" in response
    assert sent < 32 * 2**20, sent  # the limit, and what the sockets' buffers hold
    assert time.monotonic() - started < 9  # closed, not left waiting for the socket timeout


def test_a_long_address_over_a_real_server_is_414(server: tuple[str, int]) -> None:
    target = b"/api/search?q=" + b"x" * (LIMITS.url_bytes + 1)
    response, _ = exchange(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert response.startswith(b"HTTP/1.1 414 ")
