"""The HTML extractor: content without chrome, roles and levels, encodings, literal entities."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import EmptyDocumentError, ExtractionError
from pipeline.extract import extract_file
from pipeline.model import Document, Role

PAGE = """<!DOCTYPE html>
<html lang="no"><head><meta charset="utf-8"><title>Kvalifiseringsprogrammet – rundskriv</title>
<style>p { color: red; }</style><script>var meny = "skjult skript";</script></head>
<body>
<header><p>Toppmeny Nav</p></header>
<nav><ul><li>Hjem</li><li>Sosiale tjenester</li></ul></nav>
<div>Løs tekst om økonomisk stønad<br><br>og et nytt avsnitt</div>
<h1>Kvalifiseringsprogrammet</h1>
<p>Programmet er <b>hjemlet</b> i sosialtjenesteloven § 29 og skal gi tett oppfølging.</p>
<h2>Vilkår</h2>
<ol start="2"><li>arbeidsevnen er <em>vesentlig</em> nedsatt<ul><li>ved sykdom</li></ul></li>
<li><p>ingen eller svært begrensede ytelser</p></li></ol>
<table><caption>Tabell 1 Deltakere</caption>
<thead><tr><th>År</th><th>Antall</th></tr></thead>
<tbody><tr><td>2020</td><td><p>4 500</p><p>(foreløpig)</p></td></tr></tbody></table>
<figure><img src="figur.png" alt=""><figcaption>Figur 1 Utvikling i KVP</figcaption></figure>
<blockquote><p>«Programmet skal være helt eller delvis arbeidsrettet.»</p></blockquote>
<pre>§ 30  Program
  Første   ledd</pre>
<aside><p>Relaterte saker</p></aside>
<form><label>Søk</label><input name="q"></form>
<noscript>Slå på JavaScript</noscript>
<footer><p>Kontakt oss</p></footer>
</body></html>
"""


def write(tmp_path: Path, html: str | bytes, name: str = "side.html") -> Path:
    path = tmp_path / name
    if isinstance(html, str):
        path.write_text(html, encoding="utf-8")
    else:
        path.write_bytes(html)
    return path


@pytest.fixture
def page(tmp_path: Path) -> Document:
    return extract_file(write(tmp_path, PAGE))


def test_headings_levels_and_sections(page: Document) -> None:
    headings = [(b.text, b.level) for b in page.blocks if b.role is Role.HEADING]
    assert headings == [("Kvalifiseringsprogrammet", 1), ("Vilkår", 2)]
    table = next(b for b in page.blocks if b.role is Role.TABLE)
    assert table.section == ("Kvalifiseringsprogrammet", "Vilkår")


def test_inline_markup_does_not_split_a_paragraph(page: Document) -> None:
    paragraph = next(b for b in page.blocks if "§ 29" in b.text)
    assert paragraph.role is Role.PARAGRAPH
    assert paragraph.text == (
        "Programmet er hjemlet i sosialtjenesteloven § 29 og skal gi tett oppfølging."
    )


def test_loose_text_in_div_becomes_paragraphs(page: Document) -> None:
    texts = [b.text for b in page.blocks if b.role is Role.PARAGRAPH]
    assert texts[:2] == ["Løs tekst om økonomisk stønad", "og et nytt avsnitt"]


def test_list_items_with_labels(page: Document) -> None:
    items = [(b.label, b.text) for b in page.blocks if b.role is Role.LIST_ITEM]
    assert items == [
        ("2", "arbeidsevnen er vesentlig nedsatt"),
        ("-", "ved sykdom"),
        ("3", "ingen eller svært begrensede ytelser"),
    ]


def test_table_rows_and_captions(page: Document) -> None:
    table = next(b for b in page.blocks if b.role is Role.TABLE)
    assert table.rows == (("År", "Antall"), ("2020", "4 500 (foreløpig)"))
    assert table.text == "År | Antall\n2020 | 4 500 (foreløpig)"
    captions = [b.text for b in page.blocks if b.role is Role.CAPTION]
    assert captions == ["Tabell 1 Deltakere", "Figur 1 Utvikling i KVP"]


def test_blockquote_and_pre_are_paragraphs(page: Document) -> None:
    texts = [b.text for b in page.blocks if b.role is Role.PARAGRAPH]
    assert "«Programmet skal være helt eller delvis arbeidsrettet.»" in texts
    assert "§ 30 Program\nFørste ledd" in texts


CHROME_TEXTS = ["skjult skript", "color: red", "Toppmeny", "Sosiale tjenester", "Relaterte saker"]


@pytest.mark.parametrize("chrome", [*CHROME_TEXTS, "Søk", "JavaScript", "Kontakt oss"])
def test_page_chrome_is_dropped(page: Document, chrome: str) -> None:
    assert chrome not in page.text


def test_offsets_point_at_block_text(page: Document) -> None:
    for block in page.blocks:
        assert page.text[block.char_start : block.char_end] == block.text


def test_title_element_names_the_source(page: Document) -> None:
    assert page.source.title == "Kvalifiseringsprogrammet – rundskriv"


def test_escaped_markup_stays_literal_text(tmp_path: Path) -> None:
    html = "<p>Skriv &lt;b&gt;fet&lt;/b&gt; og &lt;script&gt; som tekst.<!-- kommentar --></p>"
    doc = extract_file(write(tmp_path, html))
    assert doc.text == "Skriv <b>fet</b> og <script> som tekst."


def test_main_element_is_all_that_is_read(tmp_path: Path) -> None:
    html = (
        "<body><div><p>Del denne siden</p></div><main><article><header><h1>KVP</h1></header>"
        "<p>Innhold om § 29.</p></article></main><div><p>Lenker</p></div></body>"
    )
    doc = extract_file(write(tmp_path, html))
    assert [(b.role, b.text) for b in doc.blocks] == [
        (Role.HEADING, "KVP"),
        (Role.PARAGRAPH, "Innhold om § 29."),
    ]


def test_every_article_is_read_without_main(tmp_path: Path) -> None:
    html = (
        "<body><p>Meny</p><article><h2>Vedtak</h2><p>Første sak.</p></article>"
        "<div>Reklame</div><article><h2>Klage</h2><p>Andre sak.</p></article></body>"
    )
    doc = extract_file(write(tmp_path, html))
    assert [b.text for b in doc.blocks] == ["Vedtak", "Første sak.", "Klage", "Andre sak."]


def test_form_wrapping_the_page_keeps_its_content(tmp_path: Path) -> None:
    html = (
        '<body><form action="/side.aspx"><label>Søk</label><input name="q"><button>Finn</button>'
        "<h1>Kvalifiseringsprogrammet</h1><p>Innhold om § 29.</p></form></body>"
    )
    doc = extract_file(write(tmp_path, html))
    assert [b.text for b in doc.blocks] == ["Kvalifiseringsprogrammet", "Innhold om § 29."]


def test_layout_table_holding_headings_is_read_as_text(tmp_path: Path) -> None:
    cell = "<h2>Stønad</h2><p>Kvalifiseringsstønad gis etter § 35.</p>"
    html = f"<table><tr><td>{cell}</td></tr></table>"
    doc = extract_file(write(tmp_path, html))
    assert [b.role for b in doc.blocks] == [Role.HEADING, Role.PARAGRAPH]


def test_ligatures_are_expanded_and_counted(tmp_path: Path) -> None:
    doc = extract_file(write(tmp_path, "<p>Kvaliﬁseringsprogrammet</p>"))
    assert doc.text == "Kvalifiseringsprogrammet"
    assert doc.report.count("ligature") == 1


@pytest.mark.parametrize(
    ("head", "body_encoding", "repaired"),
    [
        ("", "cp1252", "cp1252"),
        ('<meta charset="windows-1252">', "cp1252", "cp1252"),
        (
            '<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">',
            "cp1252",
            "cp1252",
        ),
        ('<meta charset="iso-8859-1">', "utf-8", None),  # a stale declaration on a UTF-8 page
        ('<meta charset="utf-8">', "utf-8-sig", None),
    ],
    ids=["undeclared-cp1252", "declared-cp1252", "declared-latin1", "wrong-meta", "utf8-bom"],
)
def test_encodings(tmp_path: Path, head: str, body_encoding: str, repaired: str | None) -> None:
    text = "Søknad om stønad – «KVP» § 29: æøå ÆØÅ"
    html = f"<html><head>{head}</head><body><p>{text}</p></body></html>"
    doc = extract_file(write(tmp_path, html.encode(body_encoding)))
    assert doc.text == text
    encodings = [r.before for r in doc.report.repairs if r.kind == "encoding"]
    assert encodings == ([repaired] if repaired else [])


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>Tom</title></head><body></body></html>",
        "<html><body><nav>Meny</nav><script>x = 1</script><!-- bare kommentar --></body></html>",
        "<div>   &nbsp; </div>",
    ],
    ids=["no-body", "only-chrome", "only-whitespace"],
)
def test_page_without_text_is_empty(tmp_path: Path, html: str) -> None:
    with pytest.raises(EmptyDocumentError, match="no text could be extracted"):
        extract_file(write(tmp_path, html))


def test_binary_file_is_not_html(tmp_path: Path) -> None:
    with pytest.raises(ExtractionError, match=r"bilde\.html: not a readable HTML file"):
        extract_file(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", name="bilde.html"))
