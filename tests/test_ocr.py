"""OCR of PDF pages without a text layer (pipeline/extract/pdf/ocr.py), and the OCR mark on
blocks, passages, the store, the JSON views, the CLI and the web pages.

The scans are generated (tests/pdf_factory.py `SCAN_PAGES`): DejaVu Serif drawn with Pillow
at 300 dpi, slightly rotated and blurred, as the only content of each page. Tests that run
Tesseract are marked slow; without Tesseract and its Norwegian data they are skipped (CI
installs both, see .ci/run).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

import pytest
from typer.testing import CliRunner

from pipeline.errors import EmptyDocumentError, SettingsError
from pipeline.extract import extract_file
from pipeline.extract.pdf import ocr, read
from pipeline.model import Document, Kind, Repair, Role
from pipeline.segment import segment
from pipeline.serialize import (
    citation_to_dict,
    document_from_dict,
    hit_to_dict,
    passage_from_dict,
    passage_row,
    ref_row,
    to_dict,
)
from pipeline.settings import ExtractSettings, Settings
from tests import pdf_factory
from tests.pdf_factory import SCAN_PAGES, scan_reference

if TYPE_CHECKING:
    from pipeline.embed import Encoder

needs_tesseract = pytest.mark.skipif(
    ocr.unavailable(ExtractSettings()) is not None,
    reason="needs Tesseract with Norwegian data (apt-get install tesseract-ocr tesseract-ocr-nor)",
)
MAX_CER = 0.02  # measured 0.1 % on these pages (one "ü" read as "u"); a lost "æøå" costs ~3 %


def levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def cer(found: str, reference: str) -> float:
    """Character error rate: edit distance over the reference's length, whitespace normalised."""
    found, reference = " ".join(found.split()), " ".join(reference.split())
    return levenshtein(found, reference) / len(reference)


@pytest.fixture(scope="module")
def pdf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ocr")


@pytest.fixture(scope="module")
def scan_path(pdf_dir: Path) -> Path:
    path = pdf_factory.build_image_scan(pdf_dir / "skannet-rapport.pdf")
    if path is None:
        pytest.skip(f"needs {pdf_factory.SERIF} to draw the scanned pages")
    return path


@pytest.fixture(scope="module")
def mixed_path(pdf_dir: Path) -> Path:
    path = pdf_factory.build_mixed_scan(pdf_dir / "delvis-skannet.pdf")
    if path is None:
        pytest.skip(f"needs {pdf_factory.SERIF} to draw the scanned page")
    return path


@pytest.fixture(scope="module")
def scanned(scan_path: Path) -> Document:
    return extract_file(scan_path)


@pytest.fixture(scope="module")
def mixed(mixed_path: Path) -> Document:
    return extract_file(mixed_path)


@pytest.fixture
def no_tesseract(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ocr, "find_tesseract", lambda: None)


# A scanned document ------------------------------------------------------------------------


@pytest.mark.slow
@needs_tesseract
def test_a_scanned_pdf_is_read_with_few_errors(scanned: Document) -> None:
    reference = "\n\n".join(scan_reference(page) for page in SCAN_PAGES)
    assert cer(scanned.text, reference) < MAX_CER
    for word in ("oppfølging", "Særlig", "Tromsø", "første", "Økonomi", "høyere", "Bærum"):
        assert word in scanned.text


@pytest.mark.slow
@needs_tesseract
def test_scanned_pages_form_headings_and_paragraphs(scanned: Document) -> None:
    expected = [
        (Role(kind), page) for page, blocks in enumerate(SCAN_PAGES, 1) for kind, _ in blocks
    ]
    assert [(b.role, b.page) for b in scanned.blocks] == expected
    assert [b.section for b in scanned.blocks if b.page == 2][-1] == ("4 Økonomi og resultater",)
    assert all(b.ocr for b in scanned.blocks)
    assert all(scanned.text[b.char_start : b.char_end] == b.text for b in scanned.blocks)


@pytest.mark.slow
@needs_tesseract
def test_scanned_pages_are_cleaned_and_reported(scanned: Document) -> None:
    report = scanned.report
    assert report.ocr_pages == (1, 2) and report.pages_without_text == (1, 2)
    assert report.warnings == ()
    assert [(f.text, f.kind) for f in report.removed] == [
        ("Side 1", "page_number"),
        ("Side 2", "page_number"),
    ]
    assert Repair("hyphenation", "arbeids-|trening", "arbeidstrening", 1) in report.repairs
    # Tesseract's Norwegian model has no §: it reads "$ 29", which is repaired.
    assert Repair("section_sign", "$ 29", "§ 29", 1) in report.repairs
    assert "Etter § 29 i sosialtjenesteloven" in scanned.text


@pytest.mark.slow
@needs_tesseract
def test_passages_of_a_scan_are_marked(scanned: Document) -> None:
    passages = segment(scanned)
    assert passages and all(p.ocr for p in passages)


# A document with a text page and a scanned page -------------------------------------------


@pytest.mark.slow
@needs_tesseract
def test_a_mixed_pdf_gets_both_pages_and_marks_the_scanned_one(mixed: Document) -> None:
    assert {(b.page, b.ocr) for b in mixed.blocks} == {(1, False), (2, True)}
    assert mixed.report.ocr_pages == (2,) and mixed.report.pages_without_text == (2,)
    assert [b.text for b in mixed.blocks if b.role is Role.HEADING] == [
        "2 Innledning",
        "3 Tiltak og oppfølging",
    ]
    scanned_text = " ".join(b.text for b in mixed.blocks if b.ocr)
    assert cer(scanned_text, scan_reference(SCAN_PAGES[0])) < MAX_CER
    passages = segment(mixed)
    assert {(p.page_start, p.ocr) for p in passages} == {(1, False), (2, True)}


@pytest.mark.slow
@needs_tesseract
def test_kvp_extract_marks_ocr_blocks(mixed_path: Path) -> None:
    from pipeline.cli import app

    result = CliRunner().invoke(app, ["extract", str(mixed_path)])
    assert result.exit_code == 0, result.output
    assert "read by OCR (check the text): pages [2]" in result.stdout
    assert "[  p.2] heading   3 Tiltak og oppfølging (OCR)" in result.stdout
    assert "[  p.1] heading   2 Innledning\n" in result.stdout


# When OCR cannot or may not run -------------------------------------------------------------


def test_without_tesseract_a_scan_is_refused_with_the_packages_to_install(
    pdf_dir: Path, no_tesseract: None
) -> None:
    path = pdf_factory.build_scanned(pdf_dir / "skannet.pdf")
    with pytest.raises(
        EmptyDocumentError,
        match=r"skannet\.pdf: none of its 2 pages has a text layer \(a scanned document\?\) and "
        r"Tesseract is not installed; install tesseract-ocr tesseract-ocr-nor \(Debian\), "
        r"or run OCR on it \(e\.g\. ocrmypdf\) and add that\.",
    ):
        read(path)


def test_without_tesseract_a_scanned_page_is_reported(pdf_dir: Path, no_tesseract: None) -> None:
    doc = extract_file(pdf_factory.build_partly_scanned(pdf_dir / "delvis.pdf"))
    assert doc.report.warnings == (
        "page 2 has no text layer (scanned image?) and was not read: Tesseract is not "
        "installed; install tesseract-ocr tesseract-ocr-nor (Debian) to include it",
    )
    assert [b.page for b in doc.blocks] == [1, 1, 3]
    assert doc.report.ocr_pages == () and not any(b.ocr for b in doc.blocks)


def test_without_the_norwegian_data_the_message_names_its_package(
    pdf_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "find_tesseract", lambda: "/usr/bin/tesseract")
    monkeypatch.setattr(ocr, "tesseract_info", lambda _: ("tesseract 5.3.0", frozenset({"eng"})))
    path = pdf_factory.build_scanned(pdf_dir / "skannet-uten-norsk.pdf")
    with pytest.raises(
        EmptyDocumentError, match=r"no language data for nor; install tesseract-ocr-nor, or run"
    ):
        read(path)


def test_ocr_turned_off(pdf_dir: Path) -> None:
    path = pdf_factory.build_scanned(pdf_dir / "skannet-av.pdf")
    with pytest.raises(EmptyDocumentError, match=r"OCR is turned off; turn it on \(Extract"):
        extract_file(path, ExtractSettings(ocr=False))
    doc = extract_file(pdf_factory.build_partly_scanned(pdf_dir / "delvis-av.pdf"),
                       ExtractSettings(ocr=False))  # fmt: skip
    assert doc.report.warnings[0].endswith("was not read: OCR is turned off; turn it on "
                                           "(ExtractSettings.ocr) to include it")  # fmt: skip


@needs_tesseract
def test_pages_whose_images_are_too_coarse_are_not_read(pdf_dir: Path) -> None:
    path = pdf_factory.build_scanned(pdf_dir / "skannet-grovt.pdf")  # 8 × 8 pixels a page
    with pytest.raises(
        EmptyDocumentError,
        match=r"and its images are too coarse for OCR \(1 dpi; at least 50 is needed\); scan it "
        r"at 300 dpi, or run OCR",
    ):
        read(path)


@pytest.mark.slow
@needs_tesseract
def test_ocr_finding_no_text_says_so(pdf_dir: Path) -> None:
    path = pdf_factory.build_blank_scan(pdf_dir / "skannet-blankt.pdf")
    with pytest.raises(EmptyDocumentError, match=r"and OCR found no text on them; check that"):
        read(path)


@needs_tesseract
def test_a_page_that_takes_too_long_is_stopped(scan_path: Path) -> None:
    with pytest.raises(
        EmptyDocumentError,
        match=r"OCR took longer than the 0\.01 s allowed per page \(ExtractSettings\."
        r"ocr_page_seconds\); raise the limit, or run OCR",
    ):
        read(scan_path, ExtractSettings(ocr_page_seconds=0.01))


@pytest.mark.slow
@needs_tesseract
def test_pages_beyond_the_cap_are_reported(scan_path: Path) -> None:
    raw = read(scan_path, ExtractSettings(ocr_max_pages=1))
    assert {b.page for b in raw.blocks} == {1} and raw.report.ocr_pages == (1,)
    assert raw.report.warnings == (
        "page 2 has no text layer (scanned image?) and was not read: OCR reads at most 1 "
        "pages per document (ExtractSettings.ocr_max_pages); raise the limit to include it",
    )
    with pytest.raises(EmptyDocumentError, match=r"OCR reads at most 0 pages per document"):
        read(scan_path, ExtractSettings(ocr_max_pages=0))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ocr_language": "nor; rm -rf"}, r"ocr_language 'nor; rm -rf' is not a Tesseract lang"),
        ({"ocr_language": ""}, r"give codes such as nor or nor\+eng"),
        ({"ocr_dpi": 50}, r"ocr_dpi must lie between 70 and 600, not 50\."),
        ({"ocr_page_seconds": 0}, r"ocr_page_seconds must be above 0 and at most 3600, not 0\."),
        ({"ocr_max_pages": -1}, r"ocr_max_pages must be 0 or more, not -1\."),
    ],
)
def test_bad_extract_settings_are_refused(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        ExtractSettings(**values)  # type: ignore[arg-type]


def test_extract_settings_are_part_of_the_settings_record() -> None:
    settings = Settings(extract=ExtractSettings(ocr=False, ocr_language="nor+eng"))
    assert settings.to_dict()["extract"]["ocr"] is False
    assert Settings.from_dict(settings.to_dict()) == settings
    with pytest.raises(SettingsError, match=r"unknown ExtractSettings keys \['ocr_engine'\]"):
        Settings.from_dict({"extract": {"ocr_engine": "x"}})


# hOCR to characters ------------------------------------------------------------------------

HOCR = """<?xml version="1.0" encoding="UTF-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><body>
<div class='ocr_page' title='image "stdin"; bbox 0 0 2481 3508; ppageno 0'>
<p class='ocr_par'>
<span class='ocr_line' title="bbox 238 302 1609 345; baseline 0 -9; x_size 43; x_descenders 9">
<span class='ocrx_word' title='bbox 238 302 480 345; x_wconf 92'>Etter</span>
<span class='ocrx_word' title='bbox 500 302 520 336; x_wconf 90'>$</span>
<span class='ocrx_word' title='bbox 540 302 600 336; x_wconf 96'>29</span>
<span class='ocrx_word' title='bbox 620 302 700 336; x_wconf 96'>og</span>
<span class='ocrx_word' title='bbox 720 302 760 336; x_wconf 96'>($35</span>
</span>
<span class='ocr_line' title="bbox 238 400 900 440; baseline 0 -9; x_size 43; x_descenders 9">
<span class='ocrx_word' title='bbox 238 400 300 440; x_wconf 12'>~~</span>
<span class='ocrx_word' title='bbox 320 400 400 440; x_wconf 20'>ee</span>
</span>
<span class='ocr_header' title="bbox 238 500 900 560; baseline 0.01 -12; x_size 60; x_descenders 12">
<span class='ocrx_word' title='bbox 238 500 600 560; x_wconf 95'><strong>Økonomi</strong></span>
<span class='ocrx_word' title='bbox 620 500 700 560; x_wconf 95'> </span>
</span>
</p></div></body></html>
""".encode()


def test_hocr_lines_become_words_with_their_line_height() -> None:
    lines = ocr.parse_hocr(HOCR)
    assert [[w.text for w in line.words] for line in lines] == [
        ["Etter", "$", "29", "og", "($35"],
        ["Økonomi"],  # the line of specks (confidence 16) is dropped; a blank word too
    ]
    first = lines[0].words
    assert {(w.top, w.bottom) for w in first} == {(302, 345)}  # from the baseline and x_size
    assert lines[1].size == 60 and (lines[1].words[0].top, lines[1].words[0].bottom) == (500, 560)


def test_section_signs_read_as_dollars_are_repaired() -> None:
    lines, repairs = ocr.section_signs(ocr.parse_hocr(HOCR), page=4)
    assert [w.text for w in lines[0].words] == ["Etter", "§", "29", "og", "(§35"]
    assert repairs == [
        Repair("section_sign", "$ 29", "§ 29", 4),
        Repair("section_sign", "($35", "(§35", 4),
    ]


def test_a_scan_page_in_a_text_document_takes_the_body_size() -> None:
    from pipeline.extract.pdf.layout import Char, Page

    text = Page(1, 595, 842, [Char("Tekst", 50, 80, 100, 111, 11.0, False)] * 3, [], False)
    scan = ocr.Scan(ocr.parse_hocr(HOCR), 2481, 3508)
    page = ocr.page_of(Page(2, 595, 842, [], [], True), scan)
    scaled = ocr.match_body({2: page}, [text])[2]
    sizes = [c.size for c in scaled.chars]
    assert sorted(set(sizes))[0] == 11.0 and max(sizes) > 1.15 * 11  # the heading stays larger


# The mark downstream -----------------------------------------------------------------------


def test_ocr_flags_survive_the_record_round_trip(tmp_path: Path) -> None:
    from pipeline.store import SQLiteStore, write_store

    doc = extract_file(Path(__file__).parent.parent / "corpus" / "law" / "sosialtjenesteloven.md")
    blocks = (replace(doc.blocks[0], ocr=True), *doc.blocks[1:])
    doc = replace(doc, blocks=blocks, report=replace(doc.report, ocr_pages=(1,)))
    passages = [replace(p, ocr=i == 0) for i, p in enumerate(segment(doc))]
    write_store(tmp_path / "store.sqlite", [doc], passages)
    store = SQLiteStore(tmp_path / "store.sqlite")
    try:
        assert store.documents()[doc.doc_id] == doc
        assert [p.ocr for p in store.passages()] == [p.ocr for p in passages]
    finally:
        store.close()
    # Records written before OCR have no flags: they read as not OCR'd.
    old = to_dict(passages[0])
    del old["ocr"]
    assert passage_from_dict(old).ocr is False
    data = to_dict(doc)
    del data["report"]["ocr_pages"]
    for block in data["blocks"]:
        del block["ocr"]
    assert document_from_dict(data).report.ocr_pages == ()
    assert not any(b.ocr for b in document_from_dict(data).blocks)


def test_views_of_a_passage_carry_the_flag() -> None:
    from pipeline.model import Citation, Hit

    doc = extract_file(Path(__file__).parent.parent / "corpus" / "law" / "sosialtjenesteloven.md")
    passage = replace(segment(doc)[0], ocr=True, page_start=2, page_end=2)
    assert passage_row(passage, doc)["ocr"] is True
    assert ref_row(passage, doc.source, statute=True)["ocr"] is True
    assert hit_to_dict(Hit(passage, 0.5), doc.source)["ocr"] is True
    citation = Citation(passage.passage_id, doc.doc_id, "Loven", Kind.LAW, (), "", 2,
                        passage.text[:10], 0, 10, 0.9)  # fmt: skip
    assert citation_to_dict(citation, passage.text, ocr=True)["ocr"] is True
    assert citation_to_dict(citation, passage.text)["ocr"] is False


def test_cli_citations_note_ocr_beside_the_page() -> None:
    from pipeline.cli.retrieval import citation_label, page_label

    assert page_label(3, True) == "s. 3 (OCR)" and page_label(3, False) == "s. 3"
    assert page_label(None, True) == "(OCR)" and page_label(None, False) == ""
    item = {"title": "Rapport", "year": 2020, "locator": "", "section": "Tiltak", "page": 3,
            "ocr": True}  # fmt: skip
    assert citation_label(item) == "Rapport (2020) — Tiltak, s. 3 (OCR)"


@pytest.mark.slow
@needs_tesseract
def test_web_pages_and_api_show_the_ocr_mark(mixed_path: Path, tmp_path: Path) -> None:
    import shutil

    from fastapi.testclient import TestClient

    from pipeline.index import build_index
    from pipeline.web import create_app
    from tests.helpers import HashingEncoder

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(mixed_path, corpus / "rapport.pdf")
    (corpus / "MANIFEST.toml").write_text(
        '[[document]]\nid = "rapport"\nfile = "rapport.pdf"\nkind = "report"\n'
        'title = "Skannet rapport"\nyear = 2020\n',
        encoding="utf-8",
    )
    encoder = cast("Encoder", HashingEncoder())
    build_index(corpus, tmp_path / "index", encoder=encoder)
    with TestClient(create_app(tmp_path / "index", encoder=encoder)) as client:
        hits = client.get("/api/search", params={"q": "veileder ved Nav-kontoret"}).json()["hits"]
        assert {(h["page"], h["ocr"]) for h in hits} == {(1, False), (2, True)}
        page = client.get("/dokument/rapport").text
        assert page.count('class="tag ocr"') == 1
        assert '<p class="page-marker">s. 2 <span class="tag ocr"' in page
        passage = client.get(f"/api/passages/{hits[0]['passage_id']}").json()
        assert passage["ocr"] is (hits[0]["page"] == 2)
    assert json.loads(json.dumps(hits))  # plain JSON
