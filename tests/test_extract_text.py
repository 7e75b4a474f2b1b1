"""Text files that carry the damage of an earlier PDF extraction."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipeline.extract import extract_file
from pipeline.model import Document, Role

WRAPPED = """\
1 Innledning

Kvalifiseringsprogrammet er et tilbud til personer med vesentlig nedsatt arbeids-
og inntektsevne. Programmet gir rett til kvalifiseringsstø-
nad, og de fleste Nav-
kontorene har egne veiledere for KVP-deltakere. Det har vært brukt over tid.1

1.1 Bakgrunn
Kommunene har ansvar for programmet, og veilederne følger opp deltakerne tett gjennom
hele programperioden. Vi har sett at dette er krevende for mange kontorer og
deltakere.

{SEPARATOR}
1 Arbeids- og velferdsdirektoratet, 2016.
\fKvalifiseringsrapport 2024

2

Figur 1.1 Deltakere i KVP etter alder. Prosent.

Programmet kan vare i inntil to år, og kan forlenges med ett år når særlige grunner
tilsier det.
\fKvalifiseringsrapport 2024

3

2 Metode

Vi har gjennomført intervjuer med veiledere ved seks kontorer i fire kommuner over
hele landet.
""".replace("{SEPARATOR}", " ")  # a line of spaces: how pdftotext sets off notes


def write(tmp_path: Path, text: str, name: str = "rapport.txt", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def wrapped(tmp_path: Path) -> Document:
    return extract_file(write(tmp_path, WRAPPED))


def body(document: Document) -> str:
    return "\n".join(b.text for b in document.blocks if b.role is not Role.FOOTNOTE)


def test_wrapped_lines_become_paragraphs_with_hyphenation_repaired(wrapped: Document) -> None:
    paragraph = next(b for b in wrapped.blocks if b.text.startswith("Kvalifiseringsprogrammet"))
    assert "kvalifiseringsstønad" in paragraph.text
    assert "arbeids- og inntektsevne" in paragraph.text  # suspended compound keeps "- og"
    assert "Nav-kontorene" in paragraph.text  # a real compound keeps its hyphen
    assert "stø-" not in paragraph.text and "\n" not in paragraph.text


def test_running_header_and_page_numbers_are_removed_and_recorded(wrapped: Document) -> None:
    assert "Kvalifiseringsrapport 2024" not in wrapped.text
    kinds = [(r.kind, r.text) for r in wrapped.report.removed]
    assert ("header", "Kvalifiseringsrapport 2024") in kinds
    assert ("page_number", "2") in kinds and ("page_number", "3") in kinds


def test_pages_are_recovered_from_the_printed_numbers(wrapped: Document) -> None:
    pages = {b.text.split()[0]: b.page for b in wrapped.blocks}
    assert pages["Programmet"] == 2
    assert pages["2"] == 3  # the heading "2 Metode"


def test_footnote_is_separated_and_its_marker_removed(wrapped: Document) -> None:
    footnote = next(b for b in wrapped.blocks if b.role is Role.FOOTNOTE)
    assert footnote.label == "1"
    assert footnote.text == "Arbeids- og velferdsdirektoratet, 2016."
    assert "over tid." in body(wrapped) and "tid.1" not in body(wrapped)
    assert wrapped.report.count("footnote") == 1
    assert wrapped.report.count("footnote_marker") == 1


def test_headings_give_section_paths(wrapped: Document) -> None:
    heading = next(b for b in wrapped.blocks if b.text == "1.1 Bakgrunn")
    assert heading.role is Role.HEADING
    after = next(b for b in wrapped.blocks if b.text.startswith("Kommunene har ansvar"))
    assert after.section == ("1 Innledning", "1.1 Bakgrunn")
    assert after.text.endswith("kontorer og deltakere.")


def test_caption_has_its_own_role(wrapped: Document) -> None:
    caption = next(b for b in wrapped.blocks if b.text.startswith("Figur 1.1"))
    assert caption.role is Role.CAPTION


def test_table_of_contents_with_dot_leaders(tmp_path: Path) -> None:
    text = (
        "Innholdsfortegnelse\n1 Innledning ........................ 3\n"
        "1.1 Bakgrunn ....................... 4\n2 Metode ........................... 7\n\n"
        "1 Innledning\n\nTeksten begynner her og handler om kvalifiseringsprogrammet.\n"
    )
    document = extract_file(write(tmp_path, text))
    roles = [b.role for b in document.blocks]
    assert roles[0] is Role.TOC
    assert document.blocks[1].role is Role.HEADING
    assert all(b.role is not Role.HEADING or "...." not in b.text for b in document.blocks)


def test_double_spaced_text_is_rejoined(tmp_path: Path) -> None:
    lines = [
        "Kvalifiseringsprogrammet ble innført i 2007 som et tilbud til personer med svært",
        "begrensede ytelser til livsopphold.",
        "Neste avsnitt handler om noe annet.",
        "Det fortsetter her med flere ord om programmet og hvordan det ble innført i Nav.",
    ]
    document = extract_file(write(tmp_path, "\n\n".join(lines) + "\n"))
    texts = [b.text for b in document.blocks]
    assert texts[0] == " ".join(lines[:2])
    assert texts[1].startswith("Neste avsnitt")


def test_lost_bullets_become_list_items(tmp_path: Path) -> None:
    text = (
        "Det er gjennomført intervju med veiledere og ledere ved kontoret i flere runder:\n\n"
        " NAV-leder (e-post intervju)\n\n Avdelingsleder ved avdeling «Fokus jobb»\n\n"
        " To jobbspesialister\n\nEtter hvert intervju er det utarbeidet referat.\n"
    )
    document = extract_file(write(tmp_path, text))
    items = [b.text for b in document.blocks if b.role is Role.LIST_ITEM]
    assert items == [
        "NAV-leder (e-post intervju)",
        "Avdelingsleder ved avdeling «Fokus jobb»",
        "To jobbspesialister",
    ]


@pytest.mark.parametrize("encoding", ["cp1252", "latin-1"])
def test_legacy_encodings_are_decoded(tmp_path: Path, encoding: str) -> None:
    text = "Søknad om kvalifiseringsstønad behandles av Nav-kontoret på Ås.\n"
    document = extract_file(write(tmp_path, text, encoding=encoding))
    assert document.text == text.strip()
    assert any(r.kind == "encoding" for r in document.report.repairs)


# The sample reports --------------------------------------------------------------------

FURNITURE = {
    "fafo-2021-35": ["Fafo-rapport 2021:35", "Velferdsordninger til unge"],
    "moss-revisjon-2018": ["østfold kommunerevisjon iks"],
}


@pytest.mark.parametrize("doc_id", sorted(FURNITURE))
def test_no_running_header_or_footer_survives(
    corpus_documents: dict[str, Document], doc_id: str
) -> None:
    document = corpus_documents[doc_id]
    for line in FURNITURE[doc_id]:
        assert any(line in r.text for r in document.report.removed)
        for block in document.blocks:
            assert not re.search(rf"(^|\n){re.escape(line)}\s*\d*($|\n)", block.text), block.text


def test_hyphenation_artefacts_are_gone_and_compounds_kept(
    corpus_documents: dict[str, Document],
) -> None:
    fafo = corpus_documents["fafo-2021-35"]
    assert "kvalifiseringsstø-" not in fafo.text and "kvalifiseringsstønad" in fafo.text
    assert fafo.report.count("hyphenation") > 500
    everything = " ".join(d.text for d in corpus_documents.values())
    assert "Nav-kontorene" in everything and "NAV-kontorene" in everything
    leftovers = re.findall(
        r"\b[a-zæøå]{3,}- (?!og\b|eller\b|til\b|samt\b|enn\b|som\b|and\b)[a-zæøå]+", fafo.text
    )
    assert leftovers == []


def test_headings_and_contents_are_recognised(corpus_documents: dict[str, Document]) -> None:
    fafo = corpus_documents["fafo-2021-35"]
    headings = {b.text for b in fafo.blocks if b.role is Role.HEADING}
    assert {"1 Innledning", "Sammendrag", "Forord", "6 Kommunenes finansiering av KVP"} <= headings
    chapter_8 = next(b for b in fafo.blocks if b.text.startswith("8 Endringer i regelverket"))
    assert chapter_8.role is Role.HEADING and chapter_8.page == 60
    for doc_id in ("uis-bachelor-2023", "oxford-research-2022"):
        toc = [b for b in corpus_documents[doc_id].blocks if b.role is Role.TOC]
        assert toc and "Innholdsfortegnelse" in toc[0].text


def test_footnotes_in_sample_reports(corpus_documents: dict[str, Document]) -> None:
    fafo = corpus_documents["fafo-2021-35"]
    first = next(b for b in fafo.blocks if b.role is Role.FOOTNOTE)
    assert first.label == "1" and first.text.startswith("Kvalifiseringsstønad (KVS)")
    oxford = corpus_documents["oxford-research-2022"]
    assert sum(b.role is Role.FOOTNOTE for b in oxford.blocks) >= 20
    assert "sosialtjenesteloven)¹" not in oxford.text


def test_offsets_slice_back_to_block_text(corpus_documents: dict[str, Document]) -> None:
    assert len(corpus_documents) == 7
    for document in corpus_documents.values():
        previous_end = 0
        for block in document.blocks:
            assert document.text[block.char_start : block.char_end] == block.text
            assert block.char_start >= previous_end
            previous_end = block.char_end


# Running heads that name the chapter -----------------------------------------------------

CHAPTERS = ["Innledning", "Bakgrunn og metode", "Deltakerne", "Oppfølging i kontorene"]
PAGES_PER_CHAPTER = [1, 2, 1, 3]  # a one-page chapter's head appears only once
CHAPTER_BODY = """\
Kommunene har ansvar for programmet, og veilederne følger opp deltakerne tett gjennom
hele programperioden med samtaler, tiltak og kontakt med arbeidsgivere i nærmiljøet. Det
er store forskjeller mellom kontorene i hvor mye tid veilederne har til hver deltaker.

Kilde: Spørreundersøkelse blant veiledere i 2023.
"""


def chapter_report(style: str, numbered: bool) -> str:
    """pdftotext-style pages whose running head is the chapter's title.

    "beside": the page number at the head's right end, on every page (Word);
    "footer": the head alone, the number at the foot of the page;
    "opening": no head on a chapter's first page, where the heading opens it (LaTeX).
    """
    pages, page = [], 0
    for n, (title, count) in enumerate(zip(CHAPTERS, PAGES_PER_CHAPTER, strict=True), 1):
        title = f"{n} {title}" if numbered else title
        for k in range(count):
            page += 1
            head = f"{title:<70}{page}" if style != "footer" else title
            if style == "opening" and k == 0:
                head = ""
            foot = f"\n\n\n{page:>40}\n" if style != "beside" else ""
            heading = f"{title}\n\n" if k == 0 else ""
            pages.append(f"\f{head}\n\n{heading}{CHAPTER_BODY}{foot}")
    return "".join(pages)


@pytest.mark.parametrize("numbered", [True, False], ids=["numbered", "unnumbered"])
@pytest.mark.parametrize("style", ["beside", "footer", "opening"])
def test_chapter_title_heads_are_removed_and_headings_kept(
    tmp_path: Path, style: str, numbered: bool
) -> None:
    document = extract_file(write(tmp_path, chapter_report(style, numbered)))
    headings = [(b.text, b.page) for b in document.blocks if b.role is Role.HEADING]
    titles = [f"{n} {t}" if numbered else t for n, t in enumerate(CHAPTERS, 1)]
    assert headings == list(zip(titles, [1, 2, 4, 5], strict=True))
    assert all(
        not any(t in b.text for t in CHAPTERS)
        for b in document.blocks
        if b.role is not Role.HEADING
    )
    heads = [" ".join(f.text.split()) for f in document.report.removed if f.kind == "header"]
    assert len(heads) == (3 if style == "opening" else 7)
    # A line repeated in the body of every page is body text, not furniture.
    assert document.text.count("Kilde: Spørreundersøkelse blant veiledere i 2023.") == 7


def test_a_heading_opening_a_page_below_the_last_pages_number_is_kept(tmp_path: Path) -> None:
    """A lone number across the page break belongs to the head between, not to the heading."""
    text = chapter_report("footer", numbered=False)
    document = extract_file(write(tmp_path, text))
    assert [b.text for b in document.blocks if b.role is Role.HEADING][1] == "Bakgrunn og metode"
    assert [f.page for f in document.report.removed if f.kind == "page_number"] == list(range(1, 8))


# Template residue in the sample reports ------------------------------------------------


def test_back_cover_template_markers_are_furniture(corpus_documents: dict[str, Document]) -> None:
    fafo = corpus_documents["fafo-2021-35"]
    assert "##" not in fafo.text
    template = [f.text for f in fafo.report.removed if f.kind == "template"]
    assert template == ["##Forfatter##", "##T", "ittel##"]
    back_cover = next(b for b in fafo.blocks if "kvalifisere for ulike ytelser" in b.text)
    assert back_cover.text.startswith("Unge ledige kan kvalifisere for ulike ytelser")
    for document in corpus_documents.values():
        assert not re.search(r"##\w|\w##|_{3,}", document.text), document.doc_id
