"""The JSON API and the pages, through FastAPI's TestClient, over the statute index."""

from __future__ import annotations

import codecs
import csv
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from markupsafe import Markup, escape

from pipeline.errors import NotFoundError, UnavailableError
from pipeline.export import CSV_COLUMNS
from pipeline.model import Block, Document, ExtractionReport, Kind, LegalRef, Passage, Role, Source
from pipeline.themes import THEMES
from pipeline.web import create_app, render
from pipeline.web.errors import status_for, validation_message

from .helpers import HashingEncoder
from .helpers import error_message as error_of

if TYPE_CHECKING:
    from pipeline.embed import Encoder

QUESTION = "Hvor lenge kan programmet vare?"


@pytest.fixture(scope="module")
def client(statute_index: Path) -> Iterator[TestClient]:
    with TestClient(create_app(statute_index)) as test_client:
        yield test_client


def a_statute_passage(client: TestClient, locator: str = "§ 32") -> dict[str, Any]:
    hits = client.get("/api/search", params={"q": f"sotjl {locator}", "k": 3}).json()["hits"]
    return next(h for h in hits if h["locator"] == locator)


# JSON API ----------------------------------------------------------------------------------


def test_health(client: TestClient) -> None:
    body = client.get("/api/health").json()
    assert body["status"] == "ok"
    assert body["documents"] == 2 and body["passages"] > 50


def test_ask_answers_with_citations(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert not body["abstained"] and body["citations"]
    for citation in body["citations"]:
        assert (
            citation["text"][citation["quote_start"] : citation["quote_end"]] == citation["quote"]
        )
    assert any("to år" in c["quote"] for c in body["citations"])


def test_ask_abstains_with_a_reason(client: TestClient) -> None:
    body = client.post("/api/ask", json={"question": "Hva er månens masse i kilo?"}).json()
    assert body["abstained"] and not body["citations"]
    assert body["reason"] and body["sources"]


def test_ask_with_filters(client: TestClient) -> None:
    body = client.post("/api/ask", json={"question": QUESTION, "kinds": ["regulation"]}).json()
    assert {s["kind"] for s in body["sources"]} == {"regulation"}


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        ({"question": ""}, "«question» er tomt"),
        ({"question": "   "}, "«question» er tomt; skriv et spørsmål"),
        ({"question": "x" * 2001}, "høyst 2000 tegn"),
        ({}, "«question» mangler"),
        ({"question": QUESTION, "years": [2022, 2018]}, "«years» går baklengs"),
        ({"question": QUESTION, "extra": 1}, "«extra» er ikke et felt her"),
    ],
)
def test_ask_rejects_bad_input_with_422(
    client: TestClient, payload: dict[str, object], fragment: str
) -> None:
    response = client.post("/api/ask", json=payload)
    assert response.status_code == 422
    assert fragment in error_of(response)


def test_ask_unknown_theme_or_kind_is_400(client: TestClient) -> None:
    response = client.post("/api/ask", json={"question": QUESTION, "theme": "weather"})
    assert response.status_code == 400
    assert all(theme in error_of(response) for theme in THEMES)
    response = client.post("/api/ask", json={"question": QUESTION, "kinds": ["novel"]})
    assert response.status_code == 400 and "Dokumenttypen «novel»" in error_of(response)


def test_search(client: TestClient) -> None:
    response = client.get("/api/search", params={"q": "barnetillegg", "k": 3})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == len(body["hits"]) == 3
    hit = body["hits"][0]
    assert {"passage_id", "title", "kind", "locator", "page", "score", "text", "themes"} <= set(hit)
    only_law = client.get("/api/search", params={"q": "stønad", "kind": "law"}).json()
    assert {h["kind"] for h in only_law["hits"]} == {"law"}
    cited = client.get("/api/search", params={"q": "stønad", "ref": "sotjl § 35"}).json()
    assert cited["hits"] and all(
        "sotjl § 35" in h["legal_refs"] or h["locator"].startswith("§ 35") for h in cited["hits"]
    )


@pytest.mark.parametrize(
    ("params", "status", "fragment"),
    [
        ({"q": ""}, 422, "q"),
        ({"q": "stønad", "k": 0}, 422, "k"),
        ({"q": "stønad", "k": 51}, 422, "k"),
        ({"q": "stønad", "year": "tjue"}, 422, "year"),
        ({"q": "stønad", "year": "2022-2018"}, 422, "går baklengs"),
        ({"q": "stønad", "theme": "weather"}, 400, "barriers (barrierer), organisation"),
        ({"q": "stønad", "kind": "novel"}, 400, "Dokumenttypen «novel» finnes ikke"),
        ({"q": "stønad", "ref": "straffeloven"}, 400, "paragraf"),
        ({"q": "???"}, 400, "ingen ord eller tall"),
    ],
)
def test_search_errors(
    client: TestClient, params: dict[str, str | int], status: int, fragment: str
) -> None:
    response = client.get("/api/search", params=params)
    assert response.status_code == status
    assert fragment in error_of(response)


def test_passage_by_id(client: TestClient) -> None:
    hit = a_statute_passage(client)
    body = client.get(f"/api/passages/{hit['passage_id']}").json()
    assert body["passage_id"] == hit["passage_id"] and body["text"] == hit["text"]
    assert body["locator"] == "§ 32" and "char_start" in body and "themes" in body
    missing = client.get("/api/passages/sotjl:0000000000")
    assert missing.status_code == 404 and "sotjl:0000000000" in error_of(missing)


def test_documents(client: TestClient) -> None:
    listed = client.get("/api/documents").json()["documents"]
    assert {d["doc_id"] for d in listed} == {"sotjl", "kvp-forskrift"}
    assert all("path" not in d for d in listed)  # no file paths leave the server
    body = client.get("/api/documents/sotjl").json()
    assert body["kind"] == "law" and body["blocks"] and body["passage_ids"]
    block = body["blocks"][0]
    assert {"text", "role", "page", "section", "char_start", "char_end"} <= set(block)
    missing = client.get("/api/documents/no-such-doc")
    assert missing.status_code == 404 and "no-such-doc" in error_of(missing)


def test_refs_put_the_statute_first(client: TestClient) -> None:
    body = client.get("/api/refs", params={"ref": "sotjl § 35"}).json()
    assert body["ref"] == "sotjl § 35"
    first, *rest = body["passages"]
    assert first["statute"] and first["locator"].startswith("§ 35")
    assert any(not p["statute"] and p["doc_id"] == "kvp-forskrift" for p in rest)


@pytest.mark.parametrize(
    ("ref", "status", "fragment"),
    [
        ("straffeloven § 3 foo", 400, "Kjenner ikke loven «straffeloven»"),
        ("ingenting her", 400, "Fant ingen paragraf i «ingenting her»"),
        ("", 422, "ref"),
    ],
)
def test_refs_errors(client: TestClient, ref: str, status: int, fragment: str) -> None:
    response = client.get("/api/refs", params={"ref": ref})
    assert response.status_code == status
    assert fragment in error_of(response)


def test_classify(client: TestClient) -> None:
    texts = [
        {"id": "a", "text": "Kommunen har ikke budsjett til flere deltakere i programmet."},
        {"id": 2, "text": "Unge under 25 år får lavere stønad."},
    ]
    response = client.post("/api/classify", json={"texts": texts, "explain": True})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["id"] for r in results] == ["a", 2]
    for result in results:
        assert set(result["themes"]) == set(THEMES)
        assert all(0.0 <= p <= 1.0 for p in result["themes"].values())
        assert set(result["explanation"]) == set(result["labels"])


@pytest.mark.parametrize(
    ("texts", "fragment"),
    [
        ([{"text": "tekst"}] * 101, "høyst 100 elementer"),
        ([{"text": "x" * 20_001}], "høyst 20000 tegn"),
        ([], "minst ett element"),
        ([{"text": "  "}], "er tomt; skriv en tekst"),
    ],
)
def test_classify_limits(client: TestClient, texts: list[dict[str, str]], fragment: str) -> None:
    response = client.post("/api/classify", json={"texts": texts})
    assert response.status_code == 422
    assert fragment in error_of(response)


def test_export_csv(client: TestClient) -> None:
    response = client.get("/api/export", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == 'attachment; filename="kvp-passasjer.csv"'
    assert response.content.startswith(codecs.BOM_UTF8)  # Excel reads UTF-8 only after it
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) == client.get("/api/health").json()["passages"]


@pytest.mark.parametrize(("delimiter", "separator"), [(";", ";"), ("tab", "\t"), (",", ",")])
def test_export_csv_for_norwegian_excel(client: TestClient, delimiter: str, separator: str) -> None:
    response = client.get("/api/export", params={"format": "csv", "delimiter": delimiter})
    assert response.status_code == 200
    assert response.content.startswith(codecs.BOM_UTF8)
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0] == separator.join(CSV_COLUMNS)
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=separator))
    jsonl = client.get("/api/export", params={"format": "jsonl"}).content.decode("utf-8")
    expected = [json.loads(line) for line in jsonl.splitlines()]
    assert [r["text"] for r in rows] == [r["text"] for r in expected]  # æ, ø, å and § intact
    assert any("ø" in r["text"] for r in rows) and any("§" in r["text"] for r in rows)
    assert [r["labels"] for r in rows] == ["; ".join(r["labels"]) for r in expected]
    # Norwegian Excel (the ";" file) reads numbers with a decimal comma; the others a point.
    mark = "," if delimiter == ";" else "."
    for row, want in zip(rows, expected, strict=True):
        for theme, probability in want["themes"].items():
            assert row[f"theme_{theme}"] == str(probability).replace(".", mark)


def test_export_jsonl_has_no_bom_and_delimiter_is_checked(client: TestClient) -> None:
    jsonl = client.get("/api/export", params={"format": "jsonl", "delimiter": ";"})
    assert jsonl.status_code == 200 and jsonl.content.startswith(b'{"passage_id"')
    bad = client.get("/api/export", params={"format": "csv", "delimiter": "|"})
    assert bad.status_code == 422 and "«delimiter» må være ',', ';' eller 'tab'" in error_of(bad)


def test_export_jsonl_by_theme(client: TestClient) -> None:
    response = client.get("/api/export", params={"format": "jsonl", "theme": "funding"})
    assert response.status_code == 200
    assert "kvp-passasjer-funding.jsonl" in response.headers["content-disposition"]
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert rows and all("funding" in row["labels"] for row in rows)
    bad = client.get("/api/export", params={"format": "jsonl", "theme": "weather"})
    assert bad.status_code == 400 and "Temaet «weather» finnes ikke" in error_of(bad)
    assert client.get("/api/export", params={"format": "xml"}).status_code == 422


def test_openapi_and_docs(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for path in ("/api/ask", "/api/search", "/api/passages/{passage_id}", "/api/documents",
                 "/api/documents/{doc_id}", "/api/refs", "/api/classify", "/api/export"):  # fmt: skip
        assert path in schema["paths"], path
    assert "/" not in schema["paths"]  # pages are not part of the API
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui-bundle.js" in docs.text
    assert "cdn" not in docs.text.lower()  # works offline


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    response = client.get("/api/nothing-here")
    assert response.status_code == 404 and "nothing-here" in error_of(response)


def test_missing_index_is_503(tmp_path: Path) -> None:
    with TestClient(create_app(tmp_path / "no-index")) as missing:
        response = missing.get("/api/search", params={"q": "stønad"})
        assert response.status_code == 503 and "kvp build" in error_of(response)
        page = missing.get("/")
        assert page.status_code == 503 and "kvp build" in page.text


def test_errors_map_to_statuses_in_one_place() -> None:
    from pipeline.errors import (
        LegalRefError,
        SearchError,
        ThemeError,
        TrainingDataError,
        UnusableIndexError,
    )

    assert status_for(NotFoundError("x")) == 404
    assert status_for(UnusableIndexError("x")) == status_for(UnavailableError("x")) == 503
    assert status_for(TrainingDataError("x")) == 503  # a model the server needs is missing
    assert status_for(SearchError("x")) == status_for(LegalRefError("x")) == 400
    assert status_for(ThemeError("x")) == 400
    assert status_for(ValueError("x")) == 500
    errors = [
        {
            "type": "string_too_long",
            "loc": ("body", "question"),
            "msg": "String should have at most 2000 characters",
            "ctx": {"max_length": 2000},
        }
    ]
    assert validation_message(errors) == "«question» kan ha høyst 2000 tegn."


# Pages -------------------------------------------------------------------------------------


def test_ask_page(client: TestClient) -> None:
    empty = client.get("/")
    assert empty.status_code == 200 and '<html lang="nb">' in empty.text
    assert '<label for="q" class="big-label">Spørsmål</label>' in empty.text
    page = client.get("/", params={"q": QUESTION})
    assert page.status_code == 200
    assert '<mark class="quote">' in page.text and "Kopier kilde" in page.text
    assert 'class="citation-text"' in page.text  # the citation is visible without JavaScript
    assert "/dokument/sotjl?passasje=" in page.text


def test_ask_page_abstains_with_nearest_sources(client: TestClient) -> None:
    page = client.get("/", params={"q": "Hva er månens masse i kilo?"})
    assert page.status_code == 200
    assert "Kildene svarer ikke på dette" in page.text and "Nærmeste kilder" in page.text
    reason = client.post("/api/ask", json={"question": "Hva er månens masse i kilo?"}).json()
    assert str(escape(reason["reason"])) in page.text


def test_ask_page_errors(client: TestClient) -> None:
    page = client.get("/", params={"q": QUESTION, "tema": "weather"})
    assert page.status_code == 400 and "Temaet «weather» finnes ikke" in page.text
    long = client.get("/", params={"q": "x" * 2001})
    assert long.status_code == 422 and "2000" in long.text


def test_document_page_opens_at_the_passage(client: TestClient) -> None:
    hit = a_statute_passage(client)
    page = client.get("/dokument/sotjl", params={"passasje": hit["passage_id"]})
    assert page.status_code == 200
    assert f'class="passage current" data-passage="{hit["passage_id"]}"' in page.text
    assert f'id="p-{hit["passage_id"]}"' in page.text
    assert 'href="/paragraf?ref=sotjl+%C2%A7+29"' in page.text  # "§ 29" in § 32 links to its page


def test_document_page_not_found(client: TestClient) -> None:
    assert client.get("/dokument/no-such-doc").status_code == 404
    other = client.get("/dokument/kvp-forskrift", params={"passasje": "sotjl:0000000000"})
    assert other.status_code == 404 and "Fant ikke siden" in other.text
    hit = a_statute_passage(client)
    wrong = client.get("/dokument/kvp-forskrift", params={"passasje": hit["passage_id"]})
    assert wrong.status_code == 404


def test_paragraph_page(client: TestClient) -> None:
    page = client.get("/paragraf", params={"ref": "sotjl § 35"})
    assert page.status_code == 200
    assert (
        "§ 35. Kvalifiseringsstønad" in page.text and "Kilder som viser til sotjl § 35" in page.text
    )
    assert (
        '<mark class="ref-hit">' in page.text and "/dokument/kvp-forskrift?passasje=" in page.text
    )
    bad = client.get("/paragraf", params={"ref": "ingenting"})
    assert bad.status_code == 400 and "Fant ingen paragraf i «ingenting»" in bad.text
    assert client.get("/paragraf").status_code == 200


def test_themes_page(client: TestClient) -> None:
    page = client.get("/temaer")
    assert page.status_code == 200 and "<svg" in page.text and "/api/export?format=csv" in page.text
    assert (
        '<a href="/api/export?format=csv&amp;delimiter=%3B" download>Excel (semikolon)</a>'
        in page.text
    )
    chosen = client.get("/temaer", params={"tema": "funding"})
    assert chosen.status_code == 200 and "Sannsynlighet for" in chosen.text
    assert "Ord som trakk opp" in chosen.text
    assert client.get("/temaer", params={"tema": "weather"}).status_code == 400
    assert client.get("/temaer", params={"tema": "funding", "dokument": "nope"}).status_code == 404


def exported(client: TestClient) -> list[dict[str, Any]]:
    """Every passage as the passage export gives it: a second, independent count."""
    jsonl = client.get("/api/export", params={"format": "jsonl"}).content.decode("utf-8")
    return [json.loads(line) for line in jsonl.splitlines()]


def test_theme_years_api_agrees_with_the_passage_export(client: TestClient) -> None:
    response = client.get("/api/themes/years", params={"format": "json"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        'attachment; filename="kvp-temaer-per-ar.json"'
    )
    body = response.json()
    rows = exported(client)
    for document in body["documents"]:
        mine = [r for r in rows if r["doc_id"] == document["doc_id"]]
        assert document["passages"] == len(mine)
        assert document["counts"] == {t: sum(t in r["labels"] for r in mine) for t in THEMES}
    assert [y["year"] for y in body["years"]] == [None]  # the act and the regulation: no year
    assert body["years"][0]["documents"] == 2
    assert body["total"]["passages"] == len(rows)
    assert body["total"]["counts"] == {t: sum(t in r["labels"] for r in rows) for t in THEMES}


def test_theme_provisions_api_agrees_with_the_passage_export(client: TestClient) -> None:
    body = client.get("/api/themes/provisions", params={"format": "json"}).json()
    row = next(p for p in body["provisions"] if p["key"] == "sotjl § 35")
    assert row["label"].endswith("§ 35")
    holding = [r for r in exported(client)
               if any(ref["key"] == "sotjl § 35" for ref in r["legal_refs"])
               or (r["doc_id"] == "sotjl" and r["locator"].split(" ")[:2] == ["§", "35"])]  # fmt: skip
    assert row["passages"] == len(holding) > 1
    assert row["counts"] == {t: sum(t in r["labels"] for r in holding) for t in THEMES}
    totals = [p["total"] for p in body["provisions"]]
    assert totals == sorted(totals, reverse=True) and body["found"] == len(totals)
    top = client.get("/api/themes/provisions", params={"top": 3}).json()
    assert len(top["provisions"]) == 3 and top["found"] == body["found"]
    zero = client.get("/api/themes/provisions", params={"top": 0})
    assert zero.status_code == 422 and "«top» må være minst 1" in error_of(zero)


@pytest.mark.parametrize("path", ["/api/themes/years", "/api/themes/provisions"])
def test_theme_views_as_csv_for_norwegian_excel(client: TestClient, path: str) -> None:
    response = client.get(path, params={"format": "csv", "delimiter": ";"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].endswith('.csv"')
    assert response.content.startswith(codecs.BOM_UTF8)
    text = response.content.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    shares = [row[f"share_{t}"] for row in rows for t in THEMES]
    assert rows and all("." not in share for share in shares)
    assert any("," in share for share in shares)  # decimals with a comma


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"format": "xml"}, "«format» må være 'csv' eller 'json'"),
        ({"format": "csv", "delimiter": "|"}, "«delimiter» må være ',', ';' eller 'tab'"),
    ],
)
@pytest.mark.parametrize("path", ["/api/themes/years", "/api/themes/provisions"])
def test_theme_views_errors(
    client: TestClient, path: str, params: dict[str, str], fragment: str
) -> None:
    response = client.get(path, params=params)
    assert response.status_code == 422 and fragment in error_of(response)


def test_themes_page_shows_years_and_provisions(client: TestClient) -> None:
    page = client.get("/temaer")
    assert page.status_code == 200
    assert '<h2 id="ar">Temaer per år</h2>' in page.text
    assert '<h2 id="paragrafer">Temaer og paragrafer</h2>' in page.text
    assert "Uten år" in page.text  # the act and the regulation have no year
    for path in ("/api/themes/years", "/api/themes/provisions"):
        assert f'<a href="{path}?format=csv&amp;delimiter=%3B" download>' in page.text
    assert 'href="/paragraf?ref=sotjl+%C2%A7+35"' in page.text
    # a count in the table lists as many passages when followed
    body = client.get("/api/themes/provisions").json()
    row = next(p for p in body["provisions"] if p["total"])
    theme = next(t for t in THEMES if row["counts"][t])
    link = f"/temaer?tema={theme}&amp;paragraf={quote(row['key'])}#passasjer"
    assert link in page.text
    listed = client.get("/temaer", params={"tema": theme, "paragraf": row["key"]})
    assert listed.status_code == 200
    assert f'role="status">{row["counts"][theme]} passasjer om' in listed.text
    assert "som viser til" in listed.text
    bad = client.get("/temaer", params={"tema": theme, "paragraf": "ingenting"})
    assert bad.status_code == 400


def test_themes_page_charts_the_years(tmp_path: Path) -> None:
    """Reports of two years: a bar group per year, described for a screen reader."""
    from pipeline.index import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    manifest = ""
    for doc_id, year in (("rapport-a", 2020), ("rapport-b", 2022)):
        (corpus / f"{doc_id}.txt").write_text(
            f"Rapport {year}\n\n{FIRST} Stønaden følger sosialtjenesteloven § 35.\n",
            encoding="utf-8",
        )
        manifest += (f'[[document]]\nid = "{doc_id}"\nfile = "{doc_id}.txt"\nkind = "report"\n'
                     f'year = {year}\ntitle = "Rapport {year}"\n\n')  # fmt: skip
    (corpus / "MANIFEST.toml").write_text(manifest, encoding="utf-8")
    encoder = cast("Encoder", HashingEncoder())
    build_index(corpus, tmp_path / "index", encoder=encoder)
    with TestClient(create_app(tmp_path / "index", encoder=encoder)) as small:
        page = small.get("/temaer")
    assert page.status_code == 200
    assert 'role="img" aria-labelledby="ar-svg-tittel ar-svg-beskrivelse"' in page.text
    assert page.text.count('<text class="year"') == 2
    assert "2020: Barrierer 0 %" in page.text and "Tallene står i tabellen" in page.text
    # cited by both reports, if by no theme; "§ 35" kept on one line
    assert 'sosialtjenesteloven <span class="nowrap">§ 35</span>' in page.text


def test_documents_page_and_unknown_page(client: TestClient) -> None:
    page = client.get("/dokumenter")
    assert page.status_code == 200 and "/dokument/sotjl" in page.text
    missing = client.get("/finnes-ikke")
    assert missing.status_code == 404 and "Fant ikke siden" in missing.text


def test_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"


# Escaping ----------------------------------------------------------------------------------

EVIL = "<script>alert('x')</script>"


def test_wrap_escapes_every_piece() -> None:
    text = f"før {EVIL} etter & <b>"
    start = text.index("<script")
    html = render.wrap(text, [render.mark(start, start + len(EVIL)), render.link(0, 3, '/x?a="1"')])
    assert isinstance(html, Markup)
    assert "<script" not in html and "&lt;script&gt;" in html and "&amp; &lt;b&gt;" in html
    assert "<mark>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</mark>" in html
    assert 'href="/x?a=&#34;1&#34;"' in html
    excerpt = render.quote_excerpt(text, start, start + len(EVIL))
    assert "<script" not in excerpt and '<mark class="quote">&lt;script' in excerpt


def test_document_blocks_escape_text_and_link_refs() -> None:
    text = f"{EVIL} jf. sotjl § 35"
    source = Source("evil", Path("evil.txt"), Kind.REPORT, EVIL)
    block = Block(text, Role.PARAGRAPH, 1, ("1 Innledning",), 0, len(text))
    document = Document(source, text, (block,), "hash", ExtractionReport())
    ref_start = text.index("sotjl")
    ref = LegalRef("sotjl", "35", raw="sotjl § 35", char_start=ref_start, char_end=len(text))
    passage = Passage("evil:1", "evil", text, ("1 Innledning",), 0, len(text), legal_refs=(ref,))
    (view,) = render.document_blocks(document, [passage], "evil:1", lambda r: True)
    assert "<script" not in view.html and "&lt;script&gt;" in view.html
    assert '<mark class="passage current" data-passage="evil:1" id="p-evil:1">' in view.html
    assert '<a href="/paragraf?ref=sotjl+%C2%A7+35"' in view.html
    assert view.page == 1 and view.current


def test_pages_show_hostile_document_text_escaped(tmp_path: Path) -> None:
    """A document whose title and text hold markup is shown as text on every page."""
    from pipeline.index import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    body = (f"Rapport om KVP\n\n{EVIL} Kommunen skal tilby kvalifiseringsprogram etter "
            "sosialtjenesteloven § 35. <img src=x onerror=alert(1)> Deltakerne får stønad.\n")  # fmt: skip
    (corpus / "evil.txt").write_text(body, encoding="utf-8")
    (corpus / "MANIFEST.toml").write_text(
        f'[[document]]\nid = "evil"\nfile = "evil.txt"\nkind = "report"\nyear = 2024\n'
        f'title = "{EVIL} rapport"\n',
        encoding="utf-8",
    )
    encoder = cast("Encoder", HashingEncoder())
    build_index(corpus, tmp_path / "index", encoder=encoder)
    with TestClient(create_app(tmp_path / "index", encoder=encoder)) as evil_client:
        passage_id = evil_client.get("/api/documents/evil").json()["passage_ids"][0]
        pages = [
            evil_client.get("/dokumenter"),
            evil_client.get("/dokument/evil", params={"passasje": passage_id}),
            evil_client.get("/", params={"q": "kvalifiseringsprogram stønad"}),
            evil_client.get("/", params={"q": EVIL}),
            evil_client.get("/paragraf", params={"ref": "sotjl § 35"}),
            evil_client.get("/paragraf", params={"ref": EVIL}),
        ]
    for page in pages:
        assert page.status_code in (200, 400), page.text[:300]
        # the only script element is the app's own; hostile markup arrives as text
        assert page.text.count("<script") == 1, page.url
        assert "<img src=x" not in page.text
        assert "&lt;script&gt;" in page.text, page.url


def test_serve_refuses_a_missing_index(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pipeline.cli import app

    result = CliRunner().invoke(app, ["serve", "--index", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert "kvp build" in result.output


# A rebuilt index ---------------------------------------------------------------------------

FIRST = "Kommunen skal tilby kvalifiseringsprogram til dem som har vesentlig nedsatt arbeidsevne."
ADDED = "Deltakerne på Lillehammer fikk tett oppfølging av veilederen sin hver uke."


class GatedEncoder(HashingEncoder):
    """The hashing encoder, whose questions can be held at the gate (`hold`) until `go`."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.waiting = threading.Event()
        self.go = threading.Event()

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if self.hold:
            self.waiting.set()
            assert self.go.wait(30)
        return self.encode_passages(texts)


def write_corpus(folder: Path, texts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = ""
    for doc_id, text in texts.items():
        (folder / f"{doc_id}.txt").write_text(f"Rapport {doc_id}\n\n{text}\n", encoding="utf-8")
        manifest += (f'[[document]]\nid = "{doc_id}"\nfile = "{doc_id}.txt"\nkind = "report"\n'
                     f'year = 2024\ntitle = "Rapport {doc_id}"\n\n')  # fmt: skip
    (folder / "MANIFEST.toml").write_text(manifest, encoding="utf-8")
    return folder


def rebuilt(tmp_path: Path, encoder: HashingEncoder, texts: dict[str, str]) -> None:
    from pipeline.index import build_index

    corpus = write_corpus(tmp_path / "corpus", texts)
    build_index(corpus, tmp_path / "index", encoder=cast("Encoder", encoder))


def until(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_the_app_serves_a_rebuilt_index(tmp_path: Path) -> None:
    """`kvp build` swaps `current`; the running app serves the new build after the check
    interval, and closes the old one's store once no request uses it."""
    encoder = HashingEncoder()
    rebuilt(tmp_path, encoder, {"rapport-a": FIRST})
    app = create_app(tmp_path / "index", encoder=cast("Encoder", encoder), check_seconds=0.05)
    with TestClient(app) as client:
        assert client.get("/api/documents/rapport-b").status_code == 404
        old = app.state.resources.loaded
        rebuilt(tmp_path, encoder, {"rapport-a": FIRST, "rapport-b": ADDED})
        time.sleep(0.1)
        found = client.get("/api/documents/rapport-b")
        assert found.status_code == 200 and found.json()["title"] == "Rapport rapport-b"
        assert old.retired and old.closed  # no request was using it
        hits = client.get("/api/search", params={"q": "Lillehammer oppfølging"}).json()["hits"]
        assert hits[0]["doc_id"] == "rapport-b"
        assert client.get("/dokument/rapport-b").status_code == 200
        assert client.get("/api/health").json()["documents"] == 2


def test_a_request_started_before_the_swap_finishes_on_the_old_build(tmp_path: Path) -> None:
    encoder = GatedEncoder()
    rebuilt(tmp_path, encoder, {"rapport-a": FIRST})
    app = create_app(tmp_path / "index", encoder=cast("Encoder", encoder), check_seconds=0.05)
    with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
        old = app.state.resources.loaded
        encoder.hold = True
        slow = pool.submit(client.get, "/api/search", params={"q": "kvalifiseringsprogram"})
        assert encoder.waiting.wait(30)  # the search holds the old build, mid-way
        encoder.hold = False
        rebuilt(tmp_path, encoder, {"rapport-a": FIRST, "rapport-b": ADDED})  # deletes it too
        time.sleep(0.1)
        assert client.get("/api/documents/rapport-b").status_code == 200  # the new build
        assert old.retired and not old.closed  # still in use
        encoder.go.set()
        response = slow.result(timeout=30)
        assert response.status_code == 200
        assert {h["doc_id"] for h in response.json()["hits"]} == {"rapport-a"}
        assert until(lambda: old.closed)  # closed when that request ended


def test_a_new_build_that_fails_to_load_keeps_the_old_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import os

    encoder = HashingEncoder()
    rebuilt(tmp_path, encoder, {"rapport-a": FIRST})
    index = tmp_path / "index"
    app = create_app(index, encoder=cast("Encoder", encoder), check_seconds=0.05)
    with TestClient(app) as client:
        assert client.get("/api/documents/rapport-a").status_code == 200
        broken = index / "builds" / "broken"
        broken.mkdir()
        (broken / "manifest.json").write_text("{ not json", encoding="utf-8")
        (index / ".current.test").symlink_to(Path("builds") / "broken")
        os.replace(index / ".current.test", index / "current")
        time.sleep(0.1)
        with caplog.at_level("ERROR", logger="pipeline.web"):
            for _ in range(3):
                assert client.get("/api/documents/rapport-a").status_code == 200
                time.sleep(0.06)
        refused = [r for r in caplog.records if "cannot be loaded" in r.getMessage()]
        assert len(refused) == 1 and "broken" in refused[0].getMessage()  # logged once
        rebuilt(tmp_path, encoder, {"rapport-a": FIRST, "rapport-b": ADDED})
        time.sleep(0.1)
        assert client.get("/api/documents/rapport-b").status_code == 200
