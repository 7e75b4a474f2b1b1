"""HTML (saved web pages, Lovdata and regjeringen.no exports): the content, not the page chrome.

Parsed with BeautifulSoup on lxml. Navigation, scripts and other chrome are dropped; a page's
``<main>`` is all that is read, or else its ``<article>`` elements. Block elements become blocks
(h1–h6 headings with their level, paragraphs, list items, tables, captions); inline markup such
as ``<b>`` never splits a paragraph, and loose text directly inside a ``<div>`` becomes a
paragraph of its own. Entities are decoded once by the parser, so ``&lt;b&gt;`` stays the
literal text "<b>" while real tags never reach the text.
"""

from __future__ import annotations

import codecs
import contextlib
import re
from collections.abc import Iterator
from itertools import takewhile
from pathlib import Path

from bs4 import BeautifulSoup
from bs4.element import NavigableString, PageElement, PreformattedString, Tag

from pipeline.errors import ExtractionError, OverBudgetError
from pipeline.extract.budget import MIB, count_start_tags
from pipeline.extract.cleanup import decode_text, normalize_unicode, render_table
from pipeline.model import ExtractionReport, RawBlock, RawDocument, Repair, Role
from pipeline.settings import ExtractSettings

CHROME = ("script", "style", "nav", "aside", "noscript", "template", "iframe", "svg")
# Form controls are chrome; a form is too, unless it wraps the page (ASP.NET pages put the
# whole body in one <form>), in which case only its controls go.
CONTROLS = ("button", "label", "select", "textarea")
# header/footer are page chrome at page level, but an article's own header holds its title.
PAGE_LEVEL = ("header", "footer")
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
LISTS = frozenset({"ul", "ol"})
# Elements that start a new block; everything else is inline and joins the running text.
BLOCK_TAGS = (
    HEADINGS
    | LISTS
    | {
        *("address", "article", "aside", "blockquote", "body", "caption", "center", "dd"),
        *("details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer"),
        *("form", "header", "hgroup", "hr", "html", "li", "main", "nav", "p", "pre", "section"),
        *("summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr"),
    }
)
BLOCK_LIST = sorted(BLOCK_TAGS)  # inline markup that wraps blocks is read as a container
BR = "\x1e"  # a <br> while collecting text: whitespace to str.split(), but still visible
PARAGRAPH_BREAK_RE = re.compile(f"{BR}[^\\S{BR}]*{BR}")  # <br><br> separates loose paragraphs
META_CHARSET_RE = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
# WHATWG: browsers read these labels as windows-1252, and so do the pages' authors.
LATIN1_CODECS = frozenset({"ascii", "iso8859-1", "latin-1"})
SPLIT = "split the page into smaller files, or print it to PDF."
DEFAULT_SETTINGS = ExtractSettings()


def read(path: Path, settings: ExtractSettings = DEFAULT_SETTINGS) -> RawDocument:
    """Read an HTML file into raw blocks."""
    size = path.stat().st_size
    if size > settings.html_max_mib * MIB:
        limit = f"over the {settings.html_max_mib} MiB limit (ExtractSettings.html_max_mib)"
        raise OverBudgetError(path, f"is {size / MIB:,.0f} MiB, {limit}; {SPLIT}")
    try:
        markup, encoding = decode_html(path.read_bytes())
    except ValueError as err:
        reason = f"not a readable HTML file ({err}); save the page again as HTML text."
        raise ExtractionError(path, reason) from err
    # Counted before parsing: BeautifulSoup's tree takes ~1.8 KB per element.
    elements = count_start_tags(markup)
    if elements > settings.html_max_elements:
        reason = f"has {elements:,} elements, over the limit of {settings.html_max_elements:,}"
        raise OverBudgetError(path, f"{reason} (ExtractSettings.html_max_elements); {SPLIT}")
    soup = BeautifulSoup(markup, "lxml")
    title = soup.title.get_text() if soup.title else ""
    strip_chrome(soup)
    walker = Walker()
    try:
        for root in content_roots(soup):
            walker.container(root)
    except RecursionError as err:  # the walk recurses once per level of element nesting
        reason = "nests its elements too deeply to be read; print the page to PDF instead."
        raise ExtractionError(path, reason) from err
    repairs: list[Repair] = []
    if encoding not in ("utf-8", "utf-8-sig"):
        repairs.append(Repair("encoding", encoding, "utf-8"))
    repairs.extend(Repair("ligature", "", "") for _ in range(walker.ligatures))
    title = walker.clean(title)
    report = ExtractionReport(repairs=tuple(repairs))
    return RawDocument(tuple(walker.blocks), report, (("title", title),) if title else ())


def strip_chrome(soup: BeautifulSoup) -> None:
    """Remove navigation, scripts, page headers and footers, forms and hidden elements."""
    for tag in soup.find_all([*CHROME, *CONTROLS]):
        tag.decompose()
    for form in soup.find_all("form"):
        if form.find(["main", "article", *HEADINGS]) is None:
            form.decompose()
    for tag in soup.find_all(PAGE_LEVEL):
        if tag.find_parent(("article", "main", "section")) is None:
            tag.decompose()
    for tag in soup.find_all(hidden=True):  # the hidden attribute: never shown to a reader
        tag.decompose()


def content_roots(soup: BeautifulSoup) -> list[Tag]:
    """What to read: the <main> element, else every outermost <article>, else the body."""
    main = soup.find("main")
    if isinstance(main, Tag):
        return [main]
    articles = outermost(soup, {"article"})
    body = soup.body
    return articles or [body if body is not None else soup]


def decode_html(data: bytes) -> tuple[str, str]:
    """The page's text and the encoding it was read with.

    Valid UTF-8 wins even over a ``<meta charset>`` (pages re-saved as UTF-8 by an editor that
    kept an old ``iso-8859-1`` tag are common; real Latin-1 text is almost never valid UTF-8).
    Otherwise a declared charset is honoured before cleanup's cp1252/latin-1 guesses.
    """
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16"), "utf-16"
    text, encoding = decode_text(data)  # raises ValueError for binary data
    declared = declared_codec(data)
    if encoding != "utf-8-sig" and declared not in ("", encoding):
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode(declared), declared
    return text, encoding


def declared_codec(data: bytes) -> str:
    """The Python codec a page's ``<meta charset>`` names, or "" when none or unknown."""
    match = META_CHARSET_RE.search(data[:4096])
    try:
        codec = codecs.lookup(match.group(1).decode("ascii")).name if match else ""
    except (LookupError, UnicodeDecodeError):
        return ""
    return "cp1252" if codec in LATIN1_CODECS else codec


class Walker:
    """Walks the content tree in reading order and collects raw blocks."""

    def __init__(self) -> None:
        self.blocks: list[RawBlock] = []
        self.ligatures = 0
        self.run: list[str] = []  # loose inline text waiting for the next block boundary

    def clean(self, text: str, *, keep_lines: bool = False) -> str:
        """Unicode normalised, ligatures counted, whitespace collapsed (or kept per line)."""
        text, ligatures = normalize_unicode(text)
        self.ligatures += ligatures
        if not keep_lines:
            return " ".join(text.split())
        return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())

    def add(
        self, text: str, role: Role, *, level: int = 0, label: str = "", keep_lines: bool = False
    ) -> None:
        """A block from the element's text, unless that text is empty."""
        text = self.clean(text, keep_lines=keep_lines)
        if text:
            self.blocks.append(RawBlock(text, role, level=level, label=label))

    def flush(self) -> None:
        """Loose text gathered inside a container becomes paragraphs, split at ``<br><br>``."""
        for part in PARAGRAPH_BREAK_RE.split("".join(self.run)):
            self.add(part, Role.PARAGRAPH)
        self.run = []

    def container(self, element: Tag) -> None:
        """A block container: inline runs become paragraphs, block children are read in turn."""
        for child in element.children:
            if not isinstance(child, Tag):
                self.run.append(text_of(child))
            elif child.name == "br":
                self.run.append(BR)
            elif child.name in BLOCK_TAGS or child.find(BLOCK_LIST) is not None:
                self.flush()
                self.block(child)
            else:
                self.run.append(inline_text(child))
        self.flush()

    def block(self, element: Tag) -> None:
        """One block-level element, by its tag."""
        name = element.name
        if name in HEADINGS:
            self.add(inline_text(element), Role.HEADING, level=int(name[1]))
        elif name in ("p", "dt"):
            self.add(inline_text(element), Role.PARAGRAPH)
        elif name in LISTS:
            self.list_items(element)
        elif name == "li":  # a stray item outside any list
            self.list_item(element, "-")
        elif name == "table" and not element.find([*HEADINGS, "table"]):
            # A table that holds headings or tables is page layout: read its cells as text.
            self.table(element)
        elif name in ("figcaption", "caption"):
            self.add(inline_text(element), Role.CAPTION)
        elif name == "pre":  # preformatted: its line breaks are part of the text
            self.add(element.get_text(), Role.PARAGRAPH, keep_lines=True)
        elif name != "hr":
            # div, section, blockquote, figure, dd, a layout table holding headings, …
            self.container(element)

    def list_items(self, element: Tag) -> None:
        """The items of ul/ol: "-" for bullets, the item's number in an ordered list."""
        number = int_attr(element, "start", 1)
        for item in element.find_all("li", recursive=False):
            number = int_attr(item, "value", number)
            self.list_item(item, str(number) if element.name == "ol" else "-")
            number += 1

    def list_item(self, item: Tag, label: str) -> None:
        """An item's own text, then its nested lists and tables as blocks of their own."""
        self.add(inline_text(item, LISTS | {"table"}), Role.LIST_ITEM, label=label)
        for nested in outermost(item, LISTS | {"table"}):
            self.block(nested)

    def table(self, element: Tag) -> None:
        """A data table: its caption first, then one block with the rows' cell texts."""
        for caption in element.find_all("caption", recursive=False):
            self.add(inline_text(caption), Role.CAPTION)
        rows: list[tuple[str, ...]] = []
        for tr in element.find_all("tr"):  # a data table holds no nested tables
            cells = tr.find_all(("td", "th"), recursive=False)
            row = tuple(self.clean(inline_text(cell)) for cell in cells)
            if any(row):
                rows.append(row)
        if rows:
            self.blocks.append(RawBlock(render_table(rows), Role.TABLE, rows=tuple(rows)))


def inline_text(element: Tag, skip: frozenset[str] = frozenset()) -> str:
    """All text under an element; block boundaries inside it become spaces, tags vanish."""
    return "".join(_strings(element, skip))


def _strings(element: Tag, skip: frozenset[str]) -> Iterator[str]:
    for child in element.children:
        if not isinstance(child, Tag):
            yield text_of(child)
        elif child.name == "br":
            yield BR
        elif child.name in BLOCK_TAGS and child.name not in skip:
            yield f" {inline_text(child, skip)} "  # "<td><p>a</p><p>b</p></td>" reads "a b"
        elif child.name not in skip:
            yield from _strings(child, skip)


def text_of(node: PageElement) -> str:
    """A text node's text; comments, doctypes and processing instructions are not content."""
    if isinstance(node, NavigableString) and not isinstance(node, PreformattedString):
        return str(node)
    return ""


def outermost(element: Tag, names: frozenset[str] | set[str]) -> list[Tag]:
    """Descendants named ``names`` that are not inside another such descendant of ``element``."""
    return [
        tag
        for tag in element.find_all(tuple(names))
        if not any(p.name in names for p in takewhile(lambda p: p is not element, tag.parents))
    ]


def int_attr(element: Tag, name: str, default: int) -> int:
    """An integer attribute such as ``<ol start="3">``, or the default when absent or odd."""
    value = element.get(name)
    return int(value) if isinstance(value, str) and value.strip().isdigit() else default
