"""Word documents (.docx): paragraph styles give the roles, tables stay in place, footnotes last.

Read with python-docx. The body is walked in document order, paragraphs and tables interleaved,
descending into content controls (``w:sdt``) that python-docx's own iterators skip: Word puts
cover pages and the table of contents there. Roles come from the paragraph style or the styles
it is based on: "Heading N"/"Overskrift N" (or an outline level) is a heading of level N, and
"Title"/"Tittel" is a heading of level 1, a sibling of "Heading 1" rather than a level above it
(the title is the document's own name, not a section every passage should repeat). List styles
and numbered paragraphs are list items, "Caption"/"Bildetekst" captions, "TOC N" entries TOC.
Footnotes, which python-docx does not expose, are read from ``word/footnotes.xml``.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import docx
from docx.document import Document
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import nsmap, qn
from docx.oxml.parser import parse_xml
from docx.text.paragraph import Paragraph
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type information

from pipeline.errors import EncryptedDocumentError, ExtractionError, OverBudgetError
from pipeline.extract.budget import MIB, count_start_tags
from pipeline.extract.cleanup import normalize_unicode, render_table
from pipeline.model import ExtractionReport, RawBlock, RawDocument, Repair, Role
from pipeline.settings import ExtractSettings

HEADING_STYLE_RE = re.compile(r"^(?:heading|overskrift)\s*([1-9])$", re.IGNORECASE)
TITLE_STYLES = frozenset({"title", "tittel"})
LIST_STYLE_RE = re.compile(r"^(?:list|punktliste|nummerert liste)", re.IGNORECASE)
CAPTION_STYLES = frozenset({"caption", "bildetekst", "figurtekst"})
TOC_STYLE_RE = re.compile(r"^(?:toc|innholdsfortegnelse|overskrift for innh)", re.IGNORECASE)
# Runs anywhere in a paragraph (hyperlinks, tracked insertions, fields, inline content
# controls) but in no paragraph inside it (a text box's), and no fallback copy of content.
RUNS = ".//w:r[count(ancestor::w:p) = $depth][not(ancestor::*[local-name()='Fallback'])]"
# Text boxes anchored in a paragraph, once: Word stores each twice, as DrawingML and as a VML
# fallback. A text box inside a text box is not read.
TEXT_BOXES = (
    ".//w:txbxContent[not(ancestor::*[local-name()='Fallback'])][not(ancestor::w:txbxContent)]"
)
NOTE_SEPARATORS = frozenset({"separator", "continuationSeparator", "continuationNotice"})
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc files and encrypted Office files
ROMAN_VALUES = (1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1)
ROMAN_NUMERALS = ("m", "cm", "d", "cd", "c", "xc", "l", "xl", "x", "ix", "v", "iv", "i")
# A damaged zip or deflate stream, a missing part, a wrong content type, broken XML (lxml's
# is a SyntaxError).
OPEN_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    KeyError,
    ValueError,
    PackageNotFoundError,
    SyntaxError,
)
RESAVE = "open and re-save it in Word or LibreOffice, or export it as PDF."
SPLIT = "split the document into smaller files, or export it as PDF."
RATIO_FROM = MIB  # smaller parts may compress better than text (styles.xml does 30×) at no cost
DEFAULT_SETTINGS = ExtractSettings()


def read(path: Path, settings: ExtractSettings = DEFAULT_SETTINGS) -> RawDocument:
    """Read a .docx file into raw blocks: the body in order, then its footnotes."""
    document = open_docx(path, settings)
    reader = BodyReader(document)
    for n, element in enumerate(body_elements(document.element.body)):
        if n == settings.docx_max_paragraphs:
            reason = f"has more than {settings.docx_max_paragraphs:,} paragraphs and tables"
            raise OverBudgetError(path, f"{reason} (ExtractSettings.docx_max_paragraphs); {SPLIT}")
        reader.element(element)
    footnotes = read_footnotes(document, reader)
    repairs = [Repair("footnote", note_id, block.label) for note_id, block in footnotes]
    repairs.extend(Repair("ligature", "", "") for _ in range(reader.ligatures))
    blocks = tuple(reader.blocks) + tuple(block for _, block in footnotes)
    metadata = read_metadata(document, reader.title)
    return RawDocument(blocks, ExtractionReport(repairs=tuple(repairs)), metadata)


def open_docx(path: Path, settings: ExtractSettings = DEFAULT_SETTINGS) -> Document:
    """The parsed document, or an ExtractionError that says what is wrong with the file."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if head.startswith(OLE_MAGIC):
        if "EncryptionInfo".encode("utf-16-le") in head:
            reason = "is password protected; remove the password in Word and save it again."
            raise EncryptedDocumentError(path, reason)
        raise ExtractionError(path, f"is an old Word .doc file, not DOCX; {RESAVE}")
    try:
        check_package(path, settings)
        return docx.Document(str(path))
    except OPEN_ERRORS as err:
        # str() of a KeyError is the repr of its message, quotes and all.
        detail = str(err.args[0] if isinstance(err, KeyError) and err.args else err)
        raise ExtractionError(path, f"not a readable DOCX file ({detail}); {RESAVE}") from err


def check_package(path: Path, settings: ExtractSettings) -> None:
    """Refuse a package that unpacks too large or into too many elements, before python-docx
    unpacks and parses all of it.

    The declared sizes can be trusted: zipfile stops at a member's declared size and then
    fails its CRC check, so a member that lies unpacks no further than it says.
    """
    with zipfile.ZipFile(path) as package:
        members = package.infolist()
        total = sum(m.file_size for m in members)
        if total > settings.docx_max_total_mib * MIB:
            unpacked = f"unpacks to {total / MIB:,.0f} MiB"
            limit = f"over the {settings.docx_max_total_mib} MiB limit"
            raise OverBudgetError(
                path, f"{unpacked}, {limit} (ExtractSettings.docx_max_total_mib); {SPLIT}"
            )
        for member in members:
            check_member(path, member, settings)
        elements = 0
        for member in members:
            if member.filename.endswith((".xml", ".rels")):  # the parts python-docx parses
                elements += member_elements(package, member, settings.docx_max_elements - elements)
        if elements > settings.docx_max_elements:
            reason = f"has more than {settings.docx_max_elements:,} XML elements"
            raise OverBudgetError(path, f"{reason} (ExtractSettings.docx_max_elements); {SPLIT}")


def check_member(path: Path, member: zipfile.ZipInfo, settings: ExtractSettings) -> None:
    """One part's declared unpacked size and compression ratio against the limits."""
    name, size = member.filename, member.file_size
    if size > settings.docx_max_part_mib * MIB:
        limit = f"over the {settings.docx_max_part_mib} MiB limit for one part"
        raise OverBudgetError(
            path,
            f"{name} unpacks to {size / MIB:,.0f} MiB, {limit} "
            f"(ExtractSettings.docx_max_part_mib); {SPLIT}",
        )
    ratio = size / max(member.compress_size, 1)
    if size > RATIO_FROM and ratio > settings.docx_max_ratio:
        raise OverBudgetError(
            path,
            f"{name} unpacks to {ratio:,.0f} times its packed size, over the limit of "
            f"{settings.docx_max_ratio} (ExtractSettings.docx_max_ratio): it looks like a zip "
            f"bomb. If it is a real document, {RESAVE}",
        )


def member_elements(package: zipfile.ZipFile, member: zipfile.ZipInfo, room: int) -> int:
    """The number of XML elements in a part, read in chunks; stops once past ``room``."""
    count = 0
    with package.open(member) as stream:
        while count <= room and (chunk := stream.read(MIB)):
            count += count_start_tags(chunk)
    return count


def body_elements(container: Any) -> Iterator[Any]:
    """The ``w:p`` and ``w:tbl`` elements of the body in order, content controls and text boxes
    opened."""
    for child in container.iterchildren():
        if child.tag == qn("w:p"):
            yield child
            for box in xpath(child, TEXT_BOXES):  # a text box's content follows its anchor
                yield from body_elements(box)
        elif child.tag == qn("w:tbl"):
            yield child
        elif child.tag == qn("w:sdt"):
            for content in child.iterchildren(qn("w:sdtContent")):
                yield from body_elements(content)
        elif child.tag == qn("w:customXml"):
            yield from body_elements(child)


def paragraph_text(p: Any) -> str:
    """A paragraph's text as written, tabs and line breaks included."""
    depth = xpath(p, "count(ancestor-or-self::w:p)")
    return "".join(run.text for run in xpath(p, RUNS, depth=depth))


@cache
def compiled(expr: str) -> Any:
    return etree.XPath(expr, namespaces=nsmap)


def xpath(element: Any, expr: str, **variables: object) -> Any:
    """A ``w:``-prefixed XPath, compiled once: python-docx's ``xpath()`` compiles every call."""
    return compiled(expr)(element, **variables)


class BodyReader:
    """Turns body elements into raw blocks, keeping list counters and the text repairs."""

    def __init__(self, document: Document) -> None:
        self.document = document
        self.blocks: list[RawBlock] = []
        self.ligatures = 0
        self.title = ""  # the first Title-style paragraph, for when core properties have none
        self.numbering = Numbering(document)
        self.style_cache: dict[str | None, list[Any]] = {}

    def styles(self, p: Any) -> list[Any]:
        """A paragraph's style chain, cached by style id: resolving one scans every style."""
        style_id = p.style  # the w:pStyle value, None for the default paragraph style
        if style_id not in self.style_cache:
            self.style_cache[style_id] = list(style_chain(Paragraph(p, self.document)))
        return self.style_cache[style_id]

    def clean(self, text: str) -> str:
        """Unicode normalised, ligatures counted, whitespace collapsed."""
        text, ligatures = normalize_unicode(text)
        self.ligatures += ligatures
        return " ".join(text.split())

    def element(self, element: Any) -> None:
        if element.tag == qn("w:tbl"):
            self.table(element)
            return
        text = self.clean(paragraph_text(element))
        if not text:
            return
        styles = self.styles(element)
        role, level = paragraph_role(element, styles)
        label = self.numbering.label(element, styles) if role is Role.LIST_ITEM else ""
        if role is Role.HEADING and not self.title and TITLE_STYLES & set(style_names(styles)):
            self.title = text
        self.blocks.append(RawBlock(text, role, level=level, label=label))

    def table(self, tbl: Any) -> None:
        """One TABLE block; a merged cell's text appears once, continued cells are empty."""
        rows: list[tuple[str, ...]] = []
        for tr in tbl.tr_lst:
            row = tuple(
                "" if tc.vMerge == "continue" else self.clean(cell_text(tc)) for tc in tr.tc_lst
            )
            if any(row):
                rows.append(row)
        if rows:
            self.blocks.append(RawBlock(render_table(rows), Role.TABLE, rows=tuple(rows)))


def cell_text(tc: Any) -> str:
    """A cell's paragraphs, nested tables included, as one line."""
    paragraphs = xpath(tc, ".//w:p[not(ancestor::*[local-name()='Fallback'])]")
    return " ".join(paragraph_text(p) for p in paragraphs)


def style_chain(paragraph: Paragraph) -> Iterator[Any]:
    """The paragraph's style (the default one if none is set) and its base styles, nearest first."""
    style, seen = paragraph.style, 0
    while style is not None and seen < 10:  # a base-style cycle in a broken file ends here
        yield style
        style, seen = style.base_style, seen + 1


def style_names(styles: list[Any]) -> list[str]:
    return [(style.name or "").strip().lower() for style in styles]


def paragraph_role(p: Any, styles: list[Any]) -> tuple[Role, int]:
    """The role and heading level that a paragraph's outline level, styles or numbering give it.

    The nearest style that says anything decides, so "KVP kapittel" based on "Heading 2" is a
    level-2 heading.
    """
    outline = xpath(p, "w:pPr/w:outlineLvl/@w:val")
    if outline and to_int(outline[0], 9) < 9:  # level 9 is Word's "body text"
        return Role.HEADING, int(outline[0]) + 1
    for style, name in zip(styles, style_names(styles), strict=True):
        heading = HEADING_STYLE_RE.match(name)
        if heading:
            return Role.HEADING, int(heading.group(1))
        if name in TITLE_STYLES:
            return Role.HEADING, 1
        if TOC_STYLE_RE.match(name):
            return Role.TOC, 0
        if name in CAPTION_STYLES:
            return Role.CAPTION, 0
        if LIST_STYLE_RE.match(name) or xpath(style.element, "w:pPr/w:numPr/w:numId"):
            return Role.LIST_ITEM, 0
    if xpath(p, "w:pPr/w:numPr/w:numId[@w:val!='0']"):
        return Role.LIST_ITEM, 0
    return Role.PARAGRAPH, 0


class Numbering:
    """List labels from ``word/numbering.xml``: "-" for bullets, the running number otherwise.

    Counters run per abstract list definition, so a list interrupted by a paragraph goes on
    counting as Word does; restarts through ``w:lvlOverride`` are not read.
    """

    def __init__(self, document: Document) -> None:
        self.abstract: dict[str, str] = {}  # numId → abstractNumId
        self.formats: dict[tuple[str, int], tuple[str, int]] = {}  # (abstract, ilvl) → format
        self.counters: dict[str, list[int]] = {}
        try:
            root = parse_xml(document.part.part_related_by(RT.NUMBERING).blob)
        except KeyError:
            return
        for num in root.iterfind(qn("w:num")):
            self.abstract[num.get(qn("w:numId"), "")] = val(num, "w:abstractNumId", "")
        for definition in root.iterfind(qn("w:abstractNum")):
            abstract_id = definition.get(qn("w:abstractNumId"), "")
            for lvl in definition.iterfind(qn("w:lvl")):
                level = to_int(lvl.get(qn("w:ilvl"), "0"), 0)
                fmt, start = val(lvl, "w:numFmt", "decimal"), to_int(val(lvl, "w:start", "1"), 1)
                self.formats[(abstract_id, level)] = (fmt, start)

    def label(self, p: Any, styles: list[Any]) -> str:
        """The bullet or number Word would show before the paragraph."""
        num_id, level = numbering_of(p, styles)
        abstract = self.abstract.get(num_id)
        fmt, start = self.formats.get((abstract or "", level), ("bullet", 1))
        if abstract is None or fmt in ("bullet", "none"):
            return "-"
        counts = self.counters.setdefault(abstract, [0] * 9)
        counts[level] = counts[level] + 1 if counts[level] else start
        counts[level + 1 :] = [0] * (8 - level)  # a new item restarts the deeper levels
        return format_number(counts[level], fmt)


def val(element: Any, tag: str, default: str) -> str:
    """The ``w:val`` of a child element such as ``<w:numFmt w:val="decimal"/>``."""
    child = element.find(qn(tag))
    value = None if child is None else child.get(qn("w:val"))
    return default if value is None else str(value)


def to_int(text: str, default: int) -> int:
    return int(text) if text.isdigit() else default


def numbering_of(p: Any, styles: list[Any]) -> tuple[str, int]:
    """The paragraph's list (numId) and level, set on the paragraph or by its style."""
    elements = [p, *(style.element for style in styles)]
    num_id = next((v[0] for e in elements if (v := xpath(e, "w:pPr/w:numPr/w:numId/@w:val"))), "")
    level = next((v[0] for e in elements if (v := xpath(e, "w:pPr/w:numPr/w:ilvl/@w:val"))), "0")
    return num_id, min(to_int(level, 0), 8)


def format_number(number: int, fmt: str) -> str:
    """A list number in Word's format: 3 → "3", "c", "C", "iii" or "III"."""
    if fmt in ("lowerLetter", "upperLetter"):
        letters = chr(ord("a") + (number - 1) % 26) * ((number - 1) // 26 + 1)
        return letters.upper() if fmt == "upperLetter" else letters
    if fmt in ("lowerRoman", "upperRoman"):
        roman, rest = "", number
        for value, numeral in zip(ROMAN_VALUES, ROMAN_NUMERALS, strict=True):
            count, rest = divmod(rest, value)
            roman += numeral * count
        return roman.upper() if fmt == "upperRoman" else roman
    return str(number)


def read_footnotes(document: Document, reader: BodyReader) -> list[tuple[str, RawBlock]]:
    """Footnotes as (id, block), labelled and ordered by their first reference in the body."""
    try:
        part = document.part.part_related_by(RT.FOOTNOTES)
    except KeyError:
        return []
    referenced = xpath(document.element.body, ".//w:footnoteReference/@w:id")
    order = {note_id: n for n, note_id in enumerate(dict.fromkeys(referenced), start=1)}
    notes: list[tuple[str, RawBlock]] = []
    for note in parse_xml(part.blob).iterfind(qn("w:footnote")):
        if note.get(qn("w:type"), "normal") in NOTE_SEPARATORS:  # the rule above the notes
            continue
        note_id = note.get(qn("w:id"), "")
        text = reader.clean(" ".join(paragraph_text(p) for p in note.iter(qn("w:p"))))
        if text:
            label = str(order.get(note_id, note_id))
            notes.append((note_id, RawBlock(text, Role.FOOTNOTE, label=label)))
    # Notes the body refers to come in reference order; any others keep their file order.
    notes.sort(key=lambda pair: (pair[0] not in order, order.get(pair[0], 0)))
    return notes


def read_metadata(document: Document, title_paragraph: str) -> tuple[tuple[str, str], ...]:
    """Title and year from the core properties, else the title from a Title-style paragraph."""
    metadata: dict[str, str] = {}
    # Without a core properties part python-docx invents one ("Word Document", today's date).
    if any(rel.reltype == RT.CORE_PROPERTIES for rel in document.part.package.rels.values()):
        core = document.core_properties
        title = " ".join(normalize_unicode(core.title or "")[0].split())
        if title:
            metadata["title"] = title
        if core.created is not None:
            metadata["year"] = str(core.created.year)
    if "title" not in metadata and title_paragraph:
        metadata["title"] = title_paragraph
    return tuple(metadata.items())
