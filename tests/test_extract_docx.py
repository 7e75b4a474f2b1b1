"""The DOCX extractor: roles from styles, document order, tables, footnotes, metadata, errors."""

from __future__ import annotations

import datetime
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml.parser import parse_xml

from pipeline.errors import EncryptedDocumentError, ExtractionError
from pipeline.extract import extract_file
from pipeline.extract.docx import format_number
from pipeline.model import Document, Role

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def build_docx(path: Path, *, title: str = "Rundskriv om kvalifiseringsprogrammet") -> Path:
    """A small Norwegian circular: title, headings, a list, a table with a merged row, a caption."""
    document = docx.Document()
    document.core_properties.title = title
    document.core_properties.created = datetime.datetime(2021, 3, 1, tzinfo=datetime.UTC)
    document.add_paragraph("Rundskrivet", style="Title")
    document.add_heading("Kvalifiseringsprogrammet", level=1)
    document.add_paragraph("Programmet er hjemlet i sosialtjenesteloven § 29.")
    document.add_paragraph("")  # an empty paragraph: skipped
    document.add_paragraph("arbeidsrettede tiltak", style="List Bullet")
    document.add_paragraph("opplæring og øvrige tiltak", style="List Bullet")
    document.add_heading("Stønad", level=2)
    document.add_paragraph("Før tabellen.")
    table = document.add_table(rows=3, cols=2)
    for (r, c), text in {
        (0, 0): "År",
        (0, 1): "Deltakere",
        (1, 0): "2020",
        (1, 1): "4 500",
    }.items():
        table.cell(r, c).text = text
    table.cell(2, 0).merge(table.cell(2, 1)).text = "Kilde: Nav"
    document.add_paragraph("Tabell 1 Deltakere i KVP", style="Caption")
    document.add_paragraph("Etter tabellen, med æøå.")
    document.save(str(path))
    return path


@pytest.fixture
def circular(tmp_path: Path) -> Document:
    return extract_file(build_docx(tmp_path / "rundskriv.docx"))


def test_roles_levels_and_sections(circular: Document) -> None:
    got = [(b.role, b.level, b.text) for b in circular.blocks]
    assert got[:3] == [
        (Role.HEADING, 1, "Rundskrivet"),
        (Role.HEADING, 1, "Kvalifiseringsprogrammet"),
        (Role.PARAGRAPH, 0, "Programmet er hjemlet i sosialtjenesteloven § 29."),
    ]
    items = [b for b in circular.blocks if b.role is Role.LIST_ITEM]
    assert [(b.text, b.label) for b in items] == [
        ("arbeidsrettede tiltak", "-"),
        ("opplæring og øvrige tiltak", "-"),
    ]
    after = next(b for b in circular.blocks if b.text.startswith("Etter tabellen"))
    assert after.section == ("Kvalifiseringsprogrammet", "Stønad")
    assert after.text == "Etter tabellen, med æøå."
    assert next(b for b in circular.blocks if b.role is Role.CAPTION).text == (
        "Tabell 1 Deltakere i KVP"
    )
    assert all(b.text for b in circular.blocks)  # the empty paragraph left no block


def test_paragraphs_and_tables_keep_document_order(circular: Document) -> None:
    texts = [b.text.split("\n")[0] for b in circular.blocks]
    assert texts.index("Før tabellen.") + 1 == texts.index("År | Deltakere")
    assert texts.index("År | Deltakere") + 1 == texts.index("Tabell 1 Deltakere i KVP")


def test_table_rows_with_merged_cell_once(circular: Document) -> None:
    table = next(b for b in circular.blocks if b.role is Role.TABLE)
    assert table.rows == (("År", "Deltakere"), ("2020", "4 500"), ("Kilde: Nav",))
    assert table.text == "År | Deltakere\n2020 | 4 500\nKilde: Nav"


def test_offsets_point_at_block_text(circular: Document) -> None:
    for block in circular.blocks:
        assert circular.text[block.char_start : block.char_end] == block.text


def test_core_properties_give_title_and_year(circular: Document) -> None:
    assert circular.source.title == "Rundskriv om kvalifiseringsprogrammet"
    assert circular.source.year == 2021


def test_title_paragraph_when_core_title_is_empty(tmp_path: Path) -> None:
    doc = extract_file(build_docx(tmp_path / "notat.docx", title=""))
    assert doc.source.title == "Rundskrivet"


@pytest.mark.parametrize(
    ("style", "role", "level"),
    [
        ("Overskrift 2", Role.HEADING, 2),
        ("Tittel", Role.HEADING, 1),
        ("Listeavsnitt", Role.LIST_ITEM, 0),
        ("Bildetekst", Role.CAPTION, 0),
        ("TOC 1", Role.TOC, 0),
        ("Brødtekst", Role.PARAGRAPH, 0),
    ],
)
def test_norwegian_and_custom_style_names(
    tmp_path: Path, style: str, role: Role, level: int
) -> None:
    document = docx.Document()
    document.styles.add_style(style, WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("Vilkår for deltakelse", style=style)
    path = tmp_path / "stiler.docx"
    document.save(str(path))
    block = extract_file(path).blocks[0]
    assert (block.role, block.level) == (role, level)


def test_style_based_on_a_heading_is_a_heading(tmp_path: Path) -> None:
    document = docx.Document()
    custom = document.styles.add_style("KVP kapittel", WD_STYLE_TYPE.PARAGRAPH)
    custom.base_style = document.styles["Heading 3"]
    document.add_paragraph("3.1 Inntektssikring", style="KVP kapittel")
    path = tmp_path / "arvet.docx"
    document.save(str(path))
    block = extract_file(path).blocks[0]
    assert (block.role, block.level) == (Role.HEADING, 3)


def test_numbered_list_counts(tmp_path: Path) -> None:
    document = docx.Document()
    for text in ("søknad", "vedtak", "klage"):
        document.add_paragraph(text, style="List Number")
    path = tmp_path / "nummer.docx"
    document.save(str(path))
    assert [b.label for b in extract_file(path).blocks] == ["1", "2", "3"]


def test_content_control_text_is_read(tmp_path: Path) -> None:
    """Word keeps cover pages and the table of contents in w:sdt, which python-docx skips."""
    document = docx.Document()
    document.add_paragraph("Innledning")
    sdt = parse_xml(
        f'<w:sdt xmlns:w="{W_NS}"><w:sdtContent><w:p><w:r><w:t>Forside om KVP</w:t></w:r>'
        "</w:p></w:sdtContent></w:sdt>"
    )
    document.element.body.insert(0, sdt)
    path = tmp_path / "forside.docx"
    document.save(str(path))
    assert [b.text for b in extract_file(path).blocks] == ["Forside om KVP", "Innledning"]


MC_NS = "http://schemas.openxmlformats.org/markup-compatibility/2006"
BOX = "<w:txbxContent><w:p><w:r><w:t>Faktaboks: KVP i tall</w:t></w:r></w:p></w:txbxContent>"


@pytest.mark.parametrize(
    ("inner", "expected"),
    [
        (
            '<w:hyperlink r:id="rId1"><w:r><w:t>§ 29</w:t></w:r></w:hyperlink>'
            "<w:ins><w:r><w:t> (endret)</w:t></w:r></w:ins>"
            "<w:del><w:r><w:delText> slettet</w:delText></w:r></w:del>",
            ["Se § 29 (endret)"],
        ),
        (
            f'<w:r><mc:AlternateContent xmlns:mc="{MC_NS}"><mc:Choice Requires="wps">'
            f"<w:drawing>{BOX}</w:drawing></mc:Choice><mc:Fallback><w:pict>{BOX}</w:pict>"
            "</mc:Fallback></mc:AlternateContent></w:r>",
            ["Se", "Faktaboks: KVP i tall"],
        ),
    ],
    ids=["links-and-tracked-changes", "text-box-once"],
)
def test_paragraph_text_from_runs_anywhere(tmp_path: Path, inner: str, expected: list[str]) -> None:
    r_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    document = docx.Document()
    paragraph = parse_xml(
        f'<w:p xmlns:w="{W_NS}" xmlns:r="{r_ns}"><w:r><w:t xml:space="preserve">Se </w:t></w:r>'
        f"{inner}</w:p>"
    )
    document.element.body.insert(0, paragraph)
    path = tmp_path / "runs.docx"
    document.save(str(path))
    assert [b.text for b in extract_file(path).blocks] == expected


def add_footnotes(path: Path, notes: dict[int, str]) -> None:
    """Give a python-docx file a footnotes part (python-docx cannot write one) and references."""
    with zipfile.ZipFile(path) as source:
        parts = {name: source.read(name) for name in source.namelist()}
    body = "".join(
        f'<w:footnote w:id="{i}"><w:p><w:r><w:footnoteRef/></w:r><w:r><w:t>{text}</w:t></w:r>'
        "</w:p></w:footnote>"
        for i, text in notes.items()
    )
    separator = '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p>'
    parts["word/footnotes.xml"] = (
        f'<w:footnotes xmlns:w="{W_NS}">{separator}</w:footnote>{body}</w:footnotes>'
    ).encode()
    refs = "".join(f'<w:r><w:footnoteReference w:id="{i}"/></w:r>' for i in notes)
    parts["word/document.xml"] = parts["word/document.xml"].replace(
        b"</w:p>", f"{refs}</w:p>".encode(), 1
    )
    rel = (
        '<Relationship Id="rId99" Target="footnotes.xml" Type="http://schemas.openxmlformats.org'
        '/officeDocument/2006/relationships/footnotes"/></Relationships>'
    )
    rels = "word/_rels/document.xml.rels"
    parts[rels] = parts[rels].replace(b"</Relationships>", rel.encode())
    override = (
        '<Override PartName="/word/footnotes.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.wordprocessingml.footnotes+xml"/></Types>'
    )
    types = "[Content_Types].xml"
    parts[types] = parts[types].replace(b"</Types>", override.encode())
    with zipfile.ZipFile(path, "w") as target:
        for name, data in parts.items():
            target.writestr(name, data)


def test_footnotes_are_appended_and_counted(tmp_path: Path) -> None:
    path = build_docx(tmp_path / "fotnoter.docx")
    add_footnotes(path, {1: "Jf. sosialtjenesteloven § 29.", 2: "Prop. 1 S (2020–2021)."})
    doc = extract_file(path)
    notes = [(b.label, b.text) for b in doc.blocks if b.role is Role.FOOTNOTE]
    assert notes == [("1", "Jf. sosialtjenesteloven § 29."), ("2", "Prop. 1 S (2020–2021).")]
    assert doc.blocks[-1].role is Role.FOOTNOTE
    assert doc.report.count("footnote") == 2
    assert "separator" not in doc.text


@pytest.mark.parametrize(
    ("number", "fmt", "label"),
    [
        (3, "decimal", "3"),
        (3, "lowerLetter", "c"),
        (28, "lowerLetter", "bb"),
        (4, "upperRoman", "IV"),
        (9, "lowerRoman", "ix"),
    ],
)
def test_format_number(number: int, fmt: str, label: str) -> None:
    assert format_number(number, fmt) == label


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(256)) * 8, "not a readable DOCX file"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "old Word .doc file"),
    ],
    ids=["random-bytes", "old-doc"],
)
def test_unreadable_bytes_name_the_fix(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "ødelagt.docx"
    path.write_bytes(content)
    with pytest.raises(ExtractionError, match=f"ødelagt.docx: .*{message}.*re-save it"):
        extract_file(path)


def test_zip_without_document_part(tmp_path: Path) -> None:
    path = tmp_path / "tom.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("word/styles.xml", "<w:styles/>")
    with pytest.raises(ExtractionError, match="not a readable DOCX file"):
        extract_file(path)


def test_docx_missing_word_document_xml(tmp_path: Path) -> None:
    good = build_docx(tmp_path / "god.docx")
    path = tmp_path / "mangler.docx"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            if name != "word/document.xml":
                target.writestr(name, source.read(name))
    with pytest.raises(ExtractionError, match=r"not a readable DOCX file \(.*word/document.xml"):
        extract_file(path)


def test_encrypted_docx(tmp_path: Path) -> None:
    path = tmp_path / "passord.docx"
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100
    path.write_bytes(ole + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 100)
    with pytest.raises(EncryptedDocumentError, match="password"):
        extract_file(path)
