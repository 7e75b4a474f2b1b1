"""Errors in Norwegian, with the right status, on the pages and in the JSON API.

Over the small report index of tests/test_web_answer.py (no real model is loaded).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from fastapi.testclient import TestClient

from pipeline.errors import PipelineError, UnusableIndexError
from pipeline.web import create_app
from pipeline.web.errors import FALLBACKS, message_for, route_message, validation_message

from .helpers import HashingEncoder, error_message
from .test_web_answer import report_index  # noqa: F401 (a fixture)

if TYPE_CHECKING:
    from pipeline.embed import Encoder

ENGLISH = ("must", "should", "unknown", "valid", "not found", "nothing at", "error", "field")


@pytest.fixture(scope="module")
def client(report_index: Path) -> Iterator[TestClient]:  # noqa: F811
    app = create_app(report_index, encoder=cast("Encoder", HashingEncoder()))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def error_of(response: object) -> str:
    return error_message(response, ENGLISH)


def notice_of(response: object) -> str:
    """The text of a page's error notice."""
    html: str = response.text  # type: ignore[attr-defined]
    start = html.index('class="notice error" role="alert">')
    return html[start : html.index("</div>", start)]


# Pages -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "heading", "fragment"),
    [
        ({"q": ""}, "Skriv et spørsmål", "Feltet er tomt"),
        ({"q": "   "}, "Skriv et spørsmål", "Feltet er tomt"),
        ({"q": " ", "type": "law"}, "Skriv et spørsmål", "Feltet er tomt"),
        ({"q": "x" * 2001}, "Spørsmålet er for langt", "Kort det ned til 2000 tegn"),
    ],
)
def test_a_submitted_blank_or_long_question_is_422(
    client: TestClient, params: dict[str, str], heading: str, fragment: str
) -> None:
    page = client.get("/", params=params)
    assert page.status_code == 422
    notice = notice_of(page)
    assert f'<h2 id="feil-tittel" tabindex="-1">{heading}</h2>' in notice and fragment in notice
    assert 'id="q"' in page.text  # the form is still there to try again


def test_the_empty_form_is_no_error(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200 and 'class="notice error"' not in page.text
    assert client.get("/", params={"type": "law"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"fra": "2025", "til": "2018"}, 400, "«Fra år» (2025) er etter «til år» (2018)"),
        ({"fra": "tjue"}, 400, "Årstallet «tjue» kan ikke brukes"),
        ({"tema": "weather"}, 400, "Temaet «weather» finnes ikke. Velg et av disse: barriers"),
        ({"type": "novel"}, 400, "Dokumenttypen «novel» finnes ikke"),
        ({"q": "???"}, 400, "Spørsmålet «???» har ingen ord eller tall"),
    ],
)
def test_ask_page_filter_errors(
    client: TestClient, params: dict[str, str], status: int, fragment: str
) -> None:
    page = client.get("/", params={"q": "Hvor lenge varer programmet?", **params})
    assert page.status_code == status
    assert fragment in notice_of(page)


@pytest.mark.parametrize(
    ("path", "params", "fragment"),
    [
        ("/dokument/finnes-ikke", {}, "Dokumentet «finnes-ikke» finnes ikke i korpuset"),
        ("/dokument/sotjl", {"passasje": "sotjl:0000000000"}, "Passasjen «sotjl:0000000000»"),
        ("/temaer", {"tema": "funding", "dokument": "nei"}, "Dokumentet «nei» finnes ikke"),
        ("/temaer", {"tema": "funding", "side": "999"}, "Side 999 finnes ikke"),
        ("/finnes-ikke", {}, "Det finnes ingen side på adressen /finnes-ikke"),
    ],
)
def test_not_found_pages(
    client: TestClient, path: str, params: dict[str, str], fragment: str
) -> None:
    page = client.get(path, params=params)
    assert page.status_code == 404
    assert fragment in notice_of(page)
    assert "Dette kan du gjøre" in page.text and 'href="/dokumenter"' in page.text


def test_a_passage_of_another_document_is_404(client: TestClient) -> None:
    passage_id = client.get("/api/documents/sotjl").json()["passage_ids"][0]
    page = client.get("/dokument/kvp-forskrift", params={"passasje": passage_id})
    assert page.status_code == 404
    assert f"Passasjen «{passage_id}» står ikke i dokumentet «kvp-forskrift»" in notice_of(page)


@pytest.mark.parametrize(
    ("ref", "status", "fragment"),
    [
        ("sotjl § 999", 404, "§ 999 finnes ikke i sosialtjenesteloven i korpuset"),
        ("kvp-forskriften § 99", 404, "§ 99 finnes ikke i KVP-forskriften i korpuset"),
        ("folketrygdloven § 99-99", 404, "Ingen kilder i korpuset viser til § 99-99 i"),
        ("ingenting her", 400, "Fant ingen paragraf i «ingenting her»"),
        ("straffeloven § 3 foo", 400, "Kjenner ikke loven «straffeloven»"),
        ("sotjl § 35 tull", 400, "Forstår ikke «tull» i «sotjl § 35 tull»"),
    ],
)
def test_paragraph_page_errors(client: TestClient, ref: str, status: int, fragment: str) -> None:
    page = client.get("/paragraf", params={"ref": ref})
    assert page.status_code == status
    assert fragment in notice_of(page)
    assert 'id="ref"' in page.text  # the form, to look up another


def test_a_known_paragraph_is_no_error(client: TestClient) -> None:
    page = client.get("/paragraf", params={"ref": "sotjl § 35"})
    assert page.status_code == 200 and 'class="notice error"' not in page.text


@pytest.mark.parametrize(
    ("params", "fragment"),
    [({"tema": "funding", "side": "0"}, "«side» må være minst 1"),
     ({"tema": "funding", "side": "to"}, "«side» må være et heltall")],
)  # fmt: skip
def test_page_validation_errors_are_norwegian(
    client: TestClient, params: dict[str, str], fragment: str
) -> None:
    page = client.get("/temaer", params=params)
    assert page.status_code == 422
    assert "<h1" in page.text and "Det du skrev, kan ikke brukes" in page.text
    assert fragment in notice_of(page)


def test_wrong_method_on_a_page_is_405(client: TestClient) -> None:
    page = client.post("/dokumenter")
    assert page.status_code == 405 and page.headers["allow"] == "GET"
    assert "Adressen /dokumenter tar ikke imot POST-forespørsler. Bruk GET." in notice_of(page)


def test_an_unexpected_error_is_500_in_norwegian(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("pipeline.answer.ask", broken)
    page = client.get("/", params={"q": "Hvor lenge varer programmet?"})
    assert page.status_code == 500 and "Noe uventet gikk galt hos oss" in page.text
    assert "boom" not in page.text
    api = client.post("/api/ask", json={"question": "Hvor lenge varer programmet?"})
    assert api.status_code == 500 and "serverloggen" in error_of(api)


def test_missing_index_is_503_in_norwegian(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "ingen")) as missing:
        api = missing.get("/api/search", params={"q": "stønad"})
        assert api.status_code == 503
        assert "Det finnes ingen indeks i" in error_of(api) and "kvp build" in api.text
        page = missing.get("/")
        assert page.status_code == 503 and "Det finnes ingen indeks i" in notice_of(page)


# JSON API ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "payload", "status", "fragment"),
    [
        ("post", "/api/ask", {"question": ""}, 422, "«question» er tomt; skriv et spørsmål"),
        ("post", "/api/ask", {"question": "  "}, 422, "«question» er tomt; skriv et spørsmål"),
        ("post", "/api/ask", {"question": "x" * 2001}, 422, "«question» kan ha høyst 2000 tegn"),
        ("post", "/api/ask", {}, 422, "«question» mangler"),
        ("post", "/api/ask", {"question": "a", "extra": 1}, 422, "«extra» er ikke et felt her"),
        ("post", "/api/ask", {"question": "a", "years": [2022, 2018]}, 422,
         "«years» går baklengs (2022 er etter 2018)"),
        ("post", "/api/ask", {"question": "a", "theme": "weather"}, 400, "Temaet «weather»"),
        ("post", "/api/ask", {"question": "a", "kinds": ["novel"]}, 400, "Dokumenttypen «novel»"),
        ("post", "/api/ask", {"question": "a", "kinds": "law"}, 422, "«kinds» må være en liste"),
        ("post", "/api/classify", {"texts": []}, 422, "«texts» må ha minst ett element"),
        ("post", "/api/classify", {"texts": [{"text": " "}]}, 422, "«texts.0.text» er tomt"),
        ("get", "/api/search", {"q": "stønad", "k": 0}, 422, "«k» må være minst 1"),
        ("get", "/api/search", {"q": "stønad", "k": 51}, 422, "«k» kan være høyst 50"),
        ("get", "/api/search", {"q": "stønad", "k": "ti"}, 422, "«k» må være et heltall"),
        ("get", "/api/search", {"q": "stønad", "year": "tjue"}, 422,
         "«year» er ikke et år eller et tidsrom («tjue»)"),
        ("get", "/api/search", {"q": "stønad", "year": "2022-2018"}, 422,
         "«year» går baklengs («2022-2018»)"),
        ("get", "/api/search", {"q": "???"}, 400, "har ingen ord eller tall"),
        ("get", "/api/search", {"q": "stønad", "theme": "weather"}, 400, "Temaet «weather»"),
        ("get", "/api/export", {"format": "xml"}, 422, "«format» må være 'jsonl', 'csv', 'qdpx' eller 'qdc'"),
        ("get", "/api/documents/finnes-ikke", {}, 404, "Dokumentet «finnes-ikke» finnes ikke"),
        ("get", "/api/passages/sotjl:0000000000", {}, 404, "Passasjen «sotjl:0000000000»"),
        ("get", "/api/refs", {"ref": "sotjl § 999"}, 404, "§ 999 finnes ikke i sosialtjenesteloven"),
        ("get", "/api/refs", {"ref": " "}, 422, "«ref» er tomt; skriv en paragraf"),
        ("get", "/api/refs", {"ref": "ingenting"}, 400, "Fant ingen paragraf i «ingenting»"),
        ("get", "/api/finnes-ikke", {}, 404, "Det finnes ingen API-adresse /api/finnes-ikke"),
        ("get", "/api/ask", {}, 405, "tar ikke imot GET-forespørsler. Bruk POST."),
    ],
)  # fmt: skip
def test_api_errors_are_norwegian(
    client: TestClient, method: str, path: str, payload: dict[str, object], status: int,
    fragment: str,
) -> None:  # fmt: skip
    send: Callable[..., object] = getattr(client, method)
    response = send(path, json=payload) if method == "post" else send(path, params=payload)
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert fragment in error_of(response)


def test_invalid_json_is_422_in_norwegian(client: TestClient) -> None:
    response = client.post(
        "/api/ask", content=b"{question", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422 and "ikke gyldig JSON" in error_of(response)


# The translations --------------------------------------------------------------------------


def library_errors() -> list[PipelineError]:
    """Every library error a web request can meet, raised by the library itself."""
    from pipeline.legal import parse_ref
    from pipeline.search import check_kind, check_query
    from pipeline.themes import check_theme

    raised: list[PipelineError] = []
    for attempt in (
        lambda: check_theme("vær"),
        lambda: check_kind("roman"),
        lambda: check_query("  "),
        lambda: check_query("???"),
        lambda: parse_ref("ingenting"),
        lambda: parse_ref("straffeloven § 3 foo"),
        lambda: parse_ref("sotjl § 35 tull"),
        lambda: parse_ref("sotjl §§ 35 og 36"),
    ):
        with pytest.raises(PipelineError) as caught:
            attempt()
        raised.append(caught.value)
    index_dir = Path("/srv/kvp/indeks")
    raised += [
        UnusableIndexError.missing(index_dir),
        UnusableIndexError.damaged(index_dir, ValueError("x")),
        UnusableIndexError.outdated(index_dir),
        UnusableIndexError.other_encoder("a/modell", "b/modell"),
    ]
    return raised


@pytest.mark.parametrize("error", library_errors(), ids=lambda e: str(e)[:30])
def test_every_library_error_has_a_norwegian_wording(error: PipelineError) -> None:
    message = message_for(error)
    assert message != str(error) and "på engelsk" not in message, message
    assert not any(message.startswith(f) for f in FALLBACKS.values())


def test_an_unknown_library_message_falls_back_to_norwegian() -> None:
    message = message_for(PipelineError("something new went wrong"))
    assert message.startswith(FALLBACKS[400]) and "something new went wrong" in message


def test_validation_and_route_messages() -> None:
    errors = [{"type": "string_too_long", "loc": ("body", "question"), "ctx": {"max_length": 2}}]
    assert validation_message(errors) == "«question» kan ha høyst 2 tegn."
    unknown = [{"type": "brand_new", "loc": ("query", "k"), "msg": "Something odd"}]
    assert validation_message(unknown) == "«k» har en ugyldig verdi (Something odd)."
    assert route_message(405, "/x", "PUT", api=True, allowed="GET, HEAD") == (
        "Adressen /x tar ikke imot PUT-forespørsler. Bruk GET eller HEAD."
    )
