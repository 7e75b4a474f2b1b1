"""PDF (the reports): characters to reading-order blocks, with page furniture removed.

Read with pdfplumber, working from its positioned characters rather than its text so that
the layout decisions are ours and explainable:

* ``page`` on every block is the physical page (1-based index into the file), not the
  number printed on it; printed numbers are removed as furniture and kept in the report.
* Running headers, footers and page numbers are lines in the top or bottom tenth of a page
  that repeat, with digits ignored, on at least two pages ("Rapport 2021 side 3" ~ "… side
  4"), or lines there that read as a page number with a word ("Side 3 av 10"). A bare "3"
  counts only when it repeats, so a one-page PDF keeps its lines; headings never count.
* Two columns are found from a vertical gutter: the widest band of x-positions near the
  middle that the fewest lines cross, with full text columns on both sides. Lines crossing
  it (a title, a closing paragraph) cut the page into bands, each read left column, then
  right. Three or more columns are not recognised.
* Tables are pdfplumber's ruled tables; their characters are kept out of the paragraphs.
* Footnotes are small-font lines at the foot of a page or column that start with the next
  footnote number (or 1). Markers glued to body words are dropped: raised small digits
  always, plain digits ("over tid.1") when a footnote on the same page has that number.
* Headings are lines clearly larger than the body size, or short bold lines. Numbered
  headings get level 0 (the assembler counts the numbering); larger unnumbered ones take
  the depth of numbered headings of their size, or their size rank when there are none.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import accumulate, pairwise
from pathlib import Path
from typing import Any

import pdfplumber
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from pipeline.errors import EmptyDocumentError, EncryptedDocumentError, ExtractionError
from pipeline.extract import NUMBERED_HEADING_RE, cleanup
from pipeline.model import ExtractionReport, Furniture, RawBlock, RawDocument, Repair, Role

BAND = 0.1  # share of the page height, top and bottom, where furniture is looked for
HEADING_RATIO = 1.15  # a heading's size against the body size
SMALL_RATIO = 0.9  # footnote text against the body size
SUPERSCRIPT_RATIO = 0.8  # a footnote marker's size against its line's
BOLD_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
PAGE_NUMBER_RE = re.compile(
    r"^(?:(?:side|page|s\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?"
    r"(?:\s*(?:av|of|/)\s*\d{1,4})?$",
    re.IGNORECASE,
)
WORDED_NUMBER_RE = re.compile(r"^(?:side|page|s\.)\s*\d", re.IGNORECASE)
FOOTNOTE_RE = re.compile(r"^(\d{1,3})(?:[.)]?\s+|(?=[^\W\d_]))(.+)$")
CAPTION_RE = re.compile(r"^(?:Figur|Tabell|Figure|Table|Fig\.)\s*\d+(?:[.-]\d+)*\s*([:.–—-])?")
BULLET_RE = re.compile(r"^([•▪●◦‣·\uf0b7\uf0a7\-–]|\(?[a-z1-9]\))\s+(\S.*)$")
TOC_RE = re.compile(r"(?:\.\s?){4,}\s*\d+$|…\s*\d+$")  # "2.1 Metode ........ 12"
GLUED_MARKER_RE = re.compile(r"([^\W\d_]*[a-zæøå][.,;:]?)(\d{1,3})(?=[\s.,;:!?)]|$)")
SENTENCE_END = (".", "!", "?", ":", ";")
# Some PDFs draw "å" as "a" plus a spacing ring; make the ring combining so NFC rejoins them.
ACCENTS = {"˚": "\u030a", "¨": "\u0308", "´": "\u0301", "`": "\u0300", "^": "\u0302"}


@dataclass(frozen=True, slots=True)
class Char:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool


@dataclass(slots=True)
class Line:
    """One row of characters; ``markers`` are the raised footnote markers taken out of it."""

    chars: list[Char]
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    bold: bool
    markers: list[str]


@dataclass(frozen=True, slots=True)
class Table:
    x0: float
    x1: float
    top: float
    bottom: float
    rows: tuple[tuple[str, ...], ...]


@dataclass(slots=True)
class Page:
    number: int
    width: float
    height: float
    chars: list[Char]
    tables: list[Table]
    has_images: bool


Item = Line | Table


@dataclass(slots=True)
class Draft:
    """A block being built; its lines are joined (and de-hyphenated) once the lexicon is known."""

    role: Role
    page: int
    lines: list[str]
    last: Line | None = None
    x0: float = 0.0
    size: float = 0.0
    level: int = 0
    label: str = ""
    rows: tuple[tuple[str, ...], ...] = ()


def read(path: Path) -> RawDocument:
    """Read a PDF into raw blocks in reading order, with furniture and repairs reported."""
    if path.stat().st_size == 0:
        raise EmptyDocumentError(path, "the file is empty (0 bytes); replace it with the document.")
    pages, title = load(path)
    blank = [p.number for p in pages if not p.chars and not p.tables]
    scanned = [p.number for p in pages if p.number in blank and p.has_images]
    if pages and len(scanned) == len(pages):
        raise EmptyDocumentError(
            path,
            f"none of its {len(pages)} pages has a text layer (a "
            "scanned document?); run OCR on it (e.g. ocrmypdf) and add that.",
        )
    body = body_size([c for page in pages for c in page.chars])
    body_chars, furniture = strip_furniture(pages, body)
    layouts = [reading_order(page, chars) for page, chars in zip(pages, body_chars, strict=True)]
    builder = Builder(body, paragraph_gap(layouts, body))
    for page, regions in zip(pages, layouts, strict=True):
        builder.add_page(page.number, regions)
    assign_levels(builder.drafts, body)
    texts = [line for d in builder.drafts for line in d.lines]
    texts += [cell for d in builder.drafts for row in d.rows for cell in row]
    blocks, repairs = finish(builder.drafts, cleanup.build_lexicon(texts))
    warnings = [
        f"page {n} has no text layer (scanned image?); run OCR to include it" for n in scanned
    ]
    garbled = sorted({d.page for d in builder.drafts if any("(cid:" in t for t in d.lines)})
    if garbled:
        warnings.append(f"pages {garbled} use fonts without a Unicode map; some text is garbled")
    report = ExtractionReport(
        tuple(furniture),
        tuple(builder.repairs + repairs),
        tuple(warnings),
        len(pages),
        tuple(blank),
    )
    return RawDocument(tuple(blocks), report, (("title", title),) if title else ())


def load(path: Path) -> tuple[list[Page], str]:
    """Every page's characters and tables, and the title from the PDF's metadata."""
    try:
        with pdfplumber.open(path) as pdf:
            pages = []
            for number, page in enumerate(pdf.pages, start=1):
                pages.append(load_page(page, number))
                page.close()  # drop pdfplumber's per-page caches: long reports stay small
            title = pdf.metadata.get("Title")
    except (PdfminerException, MalformedPDFException, PSException) as err:
        cause = err.args[0] if isinstance(err, PdfminerException) and err.args else err
        if isinstance(cause, PDFEncryptionError):
            raise EncryptedDocumentError(
                path,
                "the PDF is password protected; save an unprotected copy and add that instead.",
            ) from err
        detail = f"{type(cause).__name__}: {cause}" if isinstance(cause, Exception) else cause
        raise ExtractionError(
            path,
            f"not a readable PDF ({detail}); the file is damaged, "
            "truncated or not a PDF: download or export it again.",
        ) from err
    title = cleanup.normalize_unicode(title)[0].strip() if isinstance(title, str) else ""
    # Word and similar tools fill Title with the file name; that is no title.
    if re.search(r"^(Microsoft Word - |untitled)|\.(docx?|pdf|indd)$", title, re.IGNORECASE):
        title = ""
    return pages, title


def load_page(page: Any, number: int) -> Page:
    """A page's upright characters outside tables, and its ruled tables."""
    tables: list[Table] = []
    if any(kind in page.objects for kind in ("rect", "line", "curve")):
        for found in page.find_tables():
            rows = tuple(tuple(cell or "" for cell in row) for row in found.extract())
            cells = [cell for row in rows for cell in row]
            # A chart's bars also form a grid; a table has text in a good share of its cells.
            if len(rows) >= 2 and len(rows[0]) >= 2 and sum(map(bool, cells)) >= len(cells) / 4:
                x0, top, x1, bottom = found.bbox
                tables.append(Table(x0, x1, top, bottom, rows))
    chars = []
    for c in page.chars:
        if not c.get("upright", True) or not c["text"].strip():
            continue  # rotated margin text; spaces are re-inserted from the gaps
        cx, cy = (c["x0"] + c["x1"]) / 2, (c["top"] + c["bottom"]) / 2
        if any(t.x0 <= cx <= t.x1 and t.top <= cy <= t.bottom for t in tables):
            continue
        bold = bool(BOLD_RE.search(c.get("fontname", "")))
        chars.append(Char(c["text"], c["x0"], c["x1"], c["top"], c["bottom"], c["size"], bold))
    return Page(number, page.width, page.height, chars, tables, bool(page.images))


def group_rows(chars: list[Char]) -> list[list[Char]]:
    """Characters in rows, top to bottom; a raised marker joins the row it overlaps."""
    rows: list[list[Char]] = []
    spans: list[tuple[float, float]] = []  # each row's tallest character, its reference
    for c in sorted(chars, key=lambda c: (c.top, c.x0)):
        for i in range(len(rows) - 1, max(-1, len(rows) - 5), -1):
            top, bottom = spans[i]
            if min(bottom, c.bottom) - max(top, c.top) >= 0.5 * min(bottom - top, c.bottom - c.top):
                rows[i].append(c)
                if c.bottom - c.top > bottom - top:
                    spans[i] = (c.top, c.bottom)
                break
        else:
            rows.append([c])
            spans.append((c.top, c.bottom))
    return [sorted(row, key=lambda c: c.x0) for row in rows]


def make_line(chars: list[Char]) -> Line:
    """A row as text, spaces from the gaps, with raised footnote markers set apart."""
    size = Counter(round(c.size, 1) for c in chars).most_common(1)[0][0]
    main = [c for c in chars if abs(c.size - size) < 0.5] or chars
    top, bottom = min(c.top for c in main), max(c.bottom for c in main)
    out, marker, markers, prev = "", "", [], None
    for c in chars:
        if prev and c.text == prev.text and abs(c.x0 - prev.x0) < 0.3 * (prev.x1 - prev.x0):
            continue  # the same glyph printed twice to fake bold
        gap = c.x0 - prev.x1 if prev else 0.0
        raised = c.size < SUPERSCRIPT_RATIO * size and c.bottom < bottom - 0.15 * size
        if raised and c.text.isdigit() and out and gap < 0.17 * size and not out.endswith(" "):
            marker += c.text  # a raised number glued to the word before it: a footnote marker
        else:
            if marker:
                markers.append(out.rsplit(" ", 1)[-1] + marker)
                marker = ""
            text = ACCENTS.get(c.text, c.text) if gap < 0 else c.text
            out += (" " if out and gap > 0.17 * max(size, c.size) else "") + text
        prev = c
    if marker:
        markers.append(out.rsplit(" ", 1)[-1] + marker)
    bold = sum(c.bold for c in chars) >= 0.9 * len(chars)
    return Line(chars, out, chars[0].x0, max(c.x1 for c in chars), top, bottom, size, bold, markers)


def lines_of(chars: list[Char]) -> list[Line]:
    return [make_line(row) for row in group_rows(chars)]


def strip_furniture(pages: list[Page], body: float) -> tuple[list[list[Char]], list[Furniture]]:
    """Each page's characters without its headers, footers and page numbers, and those lines."""

    def key(text: str) -> str:
        return re.sub(r"\d+", "#", " ".join(text.lower().split()))

    candidates: list[tuple[Page, str, Line]] = []
    seen: Counter[tuple[str, str]] = Counter()
    for page in pages:
        depth = page.height * BAND
        top = [(page, "header", ln) for ln in lines_of([c for c in page.chars if c.top < depth])]
        low = [c for c in page.chars if c.bottom > page.height - depth]
        found = top + [(page, "footer", ln) for ln in lines_of(low)]
        seen.update({(band, key(ln.text)) for _, band, ln in found})  # once per page
        candidates += found
    removed: set[int] = set()
    furniture = []
    for page, band, line in candidates:
        repeated = seen[(band, key(line.text))] >= 2
        worded = bool(WORDED_NUMBER_RE.match(line.text))
        number = bool(PAGE_NUMBER_RE.match(line.text)) and (repeated or worded)
        # A heading is not furniture, even when chapters open on pages alike ("Vedlegg 2").
        if (repeated or number) and line.size < body * HEADING_RATIO:
            furniture.append(Furniture(line.text, "page_number" if number else band, page.number))
            removed.update(id(c) for c in line.chars)
    return [[c for c in page.chars if id(c) not in removed] for page in pages], furniture


def split_at_gaps(row: list[Char]) -> list[list[Char]]:
    """A row cut where the space is far wider than a word space, as at a column gutter."""
    parts = [[row[0]]]
    for prev, c in pairwise(row):
        if c.x0 - prev.x1 > max(prev.size, c.size):
            parts.append([])
        parts[-1].append(c)
    return parts


def find_gutter(frags: list[Line], width: float) -> tuple[float, float] | None:
    """The x-range between two text columns, or None for a one-column page."""
    lo, hi = int(width * 0.3), int(width * 0.7)
    diff = [0] * (hi - lo + 1)
    for f in frags:
        a, b = max(lo, int(f.x0)), min(hi, int(f.x1) + 1)
        if a < b:
            diff[a - lo] += 1
            diff[b - lo] -= 1
    coverage = list(accumulate(diff[:-1]))
    least = min(coverage, default=0)
    if least > max(2, len(frags) // 4):  # a few lines (a title, a closing line) may cross it
        return None
    best, start = (0, 0), None
    for x, covered in enumerate([*coverage, least + 1]):
        if covered == least and start is None:
            start = x
        elif covered != least and start is not None:
            best, start = max(best, (x - start, start)), None
    g0, g1 = lo + best[1], lo + best[1] + best[0]
    left = [f for f in frags if f.x1 <= g0 + 1]
    right = [f for f in frags if f.x0 >= g1 - 1]
    if best[0] < 8 or len(left) < 5 or len(right) < 5:
        return None
    # Text columns fill their width; a form's labels and values do not.
    left_width = max(1, g0 - min(f.x0 for f in left))
    right_width = max(1, max(f.x1 for f in right) - g1)
    fill = min(
        statistics.median(f.x1 - f.x0 for f in left) / left_width,
        statistics.median(f.x1 - f.x0 for f in right) / right_width,
    )
    return (g0, g1) if fill > 0.6 else None


def reading_order(page: Page, chars: list[Char]) -> list[list[Item]]:
    """The page as regions in reading order, each region's lines and tables top to bottom."""
    rows = group_rows(chars)
    frags = [make_line(part) for row in rows for part in split_at_gaps(row)]
    gutter = find_gutter(frags, page.width)
    if gutter is None:
        items: list[Item] = [*map(make_line, rows), *page.tables]
        return [sorted(items, key=lambda it: it.top)] if items else []
    g0, g1 = gutter
    regions: list[list[Item]] = []
    full: list[Item] = []
    columns: tuple[list[Item], list[Item]] = ([], [])
    everything: list[Item] = [*frags, *page.tables]
    for item in sorted(everything, key=lambda it: it.top):
        if item.x0 < g1 - 1 and item.x1 > g0 + 1:  # crosses the gutter: the columns end here
            regions += [regroup(columns[0]), regroup(columns[1])]
            columns = ([], [])
            full.append(item)
        else:
            if full:
                regions.append(regroup(full))
                full = []
            columns[0 if item.x1 <= g0 + 1 else 1].append(item)
    regions += [regroup(full), regroup(columns[0]), regroup(columns[1])]
    return [region for region in regions if region]


def regroup(items: list[Item]) -> list[Item]:
    """Fragments of one region back into whole lines, tables kept, top to bottom."""
    chars = [c for it in items if isinstance(it, Line) for c in it.chars]
    merged: list[Item] = [*lines_of(chars), *(it for it in items if isinstance(it, Table))]
    return sorted(merged, key=lambda it: it.top)


def body_size(chars: list[Char]) -> float:
    """The most common character size: the size of the running text."""
    sizes = Counter(round(c.size * 2) / 2 for c in chars)
    return sizes.most_common(1)[0][0] if sizes else 10.0


def paragraph_gap(layouts: list[list[list[Item]]], body: float) -> float:
    """The vertical gap above which two body lines belong to different paragraphs."""
    gaps = [
        b.top - a.bottom
        for regions in layouts
        for region in regions
        for a, b in pairwise(region)
        if isinstance(a, Line)
        and isinstance(b, Line)
        and abs(a.size - body) < 0.5
        and abs(b.size - body) < 0.5
        and 0 <= b.top - a.bottom < 2 * body
    ]
    usual = statistics.median(gaps) if gaps else 0.3 * body
    return max(usual * 1.5, usual + 0.3 * body)


@dataclass
class Builder:
    """Turns each page's regions into drafts, joining the lines that form one block."""

    body: float
    gap: float
    drafts: list[Draft] = field(default_factory=list)
    repairs: list[Repair] = field(default_factory=list)
    open: Draft | None = None  # the block the next line may continue, even on the next page
    right: float = 0.0  # the current region's right edge
    labels: set[str] = field(default_factory=set)  # this page's footnote numbers
    note: int = 0  # the last footnote number: the next must follow it or restart at 1

    def add_page(self, number: int, regions: list[list[Item]]) -> None:
        split, notes = [], []
        for region in regions:
            items, lines = split_footnotes(region, self.body, self.note)
            found = footnote_drafts(lines, number)
            self.note = int(found[-1].label) if found else self.note
            split.append(items)
            notes += found
        self.labels = {d.label for d in notes}
        self.repairs += [Repair("footnote", d.label, "", number) for d in notes]
        for items in split:
            self.right = max((it.x1 for it in items), default=0.0)
            for i, item in enumerate(items):
                if isinstance(item, Table):
                    self.drafts.append(Draft(Role.TABLE, number, [], rows=item.rows))
                    self.open = None
                else:
                    self.add_line(item, number, first=i == 0)
        self.drafts += notes

    def add_line(self, line: Line, page: int, first: bool) -> None:
        self.repairs += [
            Repair("ligature", lig, plain, page)
            for lig, plain in cleanup.LIGATURES.items()
            for _ in range(line.text.count(lig))
        ]
        self.repairs += [
            Repair("footnote_marker", m, m.rstrip("0123456789"), page) for m in line.markers
        ]
        role, label, text = classify(line, cleanup.normalize_unicode(line.text)[0], self.body)
        if role is not Role.HEADING:
            text = self.unglue(text, page)
        if self.open and self.continues(self.open, line, role, label, first):
            self.open.lines.append(text)
            self.open.last = line
            return
        self.open = Draft(role, page, [text], line, line.x0, round(line.size * 2) / 2, label=label)
        self.drafts.append(self.open)

    def continues(self, draft: Draft, line: Line, role: Role, label: str, first: bool) -> bool:
        """Whether a line carries on the open block rather than starting a new one."""
        prev = draft.last
        if prev is None or abs(line.size - prev.size) > 0.1 * prev.size or label:
            return False
        carries = role is Role.PARAGRAPH and draft.role in (Role.CAPTION, Role.LIST_ITEM)
        if role is Role.TOC or (draft.role is not role and not carries):
            return False
        if first:  # a new column or page: only a sentence that visibly runs on
            runs_on = not prev.text.endswith(SENTENCE_END) and line.text[:1].islower()
            return runs_on and role is Role.PARAGRAPH and draft.role is Role.PARAGRAPH
        gap = line.top - prev.bottom
        if gap > self.gap * line.size / self.body or gap < -0.5 * line.size:
            return False
        if role is Role.HEADING:
            return not NUMBERED_HEADING_RE.match(line.text)
        if draft.role is Role.LIST_ITEM:
            return line.x0 > draft.x0 + 0.5 * line.size  # hanging indent under the bullet
        if line.x0 > prev.x0 + 0.8 * line.size:
            return False  # a first-line indent opens a paragraph
        short = prev.x1 < self.right - 0.2 * (self.right - draft.x0)
        return not (short and prev.text.endswith(SENTENCE_END))

    def unglue(self, text: str, page: int) -> str:
        """Drop plain digits glued to a word when they are a footnote number on this page."""

        def fix(match: re.Match[str]) -> str:
            if match.group(2) not in self.labels:
                return match.group(0)
            self.repairs.append(Repair("footnote_marker", match.group(0), match.group(1), page))
            return match.group(1)

        return GLUED_MARKER_RE.sub(fix, text) if self.labels else text


def classify(line: Line, text: str, body: float) -> tuple[Role, str, str]:
    """A line's role, its label (a list bullet) and its text without the label."""
    caption = CAPTION_RE.match(text)
    bullet = BULLET_RE.match(text)
    if TOC_RE.search(text):
        return Role.TOC, "", text
    if caption and (caption.group(1) or line.bold or abs(line.size - body) >= 0.5):
        return Role.CAPTION, "", text
    if line.size >= body * HEADING_RATIO and len(text) <= 200:
        return Role.HEADING, "", text
    if line.bold and len(text) <= 120 and not text.endswith((".", ",", ";")):
        return Role.HEADING, "", text
    if bullet:
        return Role.LIST_ITEM, bullet.group(1), bullet.group(2)
    return Role.PARAGRAPH, "", text


def split_footnotes(items: list[Item], body: float, last: int) -> tuple[list[Item], list[Line]]:
    """A region's body items, and its footnotes: small text at its foot led by the next number.

    Small numbered lines that do not continue the footnote numbering (or restart it at 1)
    are something else, such as a code listing, and stay in the body.
    """
    expected = {1, last + 1, last + 2} if last else {1}
    i = len(items)
    while i > 0 and isinstance(item := items[i - 1], Line) and item.size <= SMALL_RATIO * body:
        i -= 1
    tail = [it for it in items[i:] if isinstance(it, Line)]
    starts = [
        k
        for k, ln in enumerate(tail)
        if (m := FOOTNOTE_RE.match(ln.text)) and int(m[1]) in expected
    ]
    return (items[: i + starts[0]], tail[starts[0] :]) if starts else (items, [])


def footnote_drafts(lines: list[Line], page: int) -> list[Draft]:
    """One draft per footnote; a line starts a new one only with the next number in sequence."""
    drafts: list[Draft] = []
    for line in lines:
        text = cleanup.normalize_unicode(line.text)[0]
        match = FOOTNOTE_RE.match(text)
        if match and (not drafts or int(match.group(1)) == int(drafts[-1].label) + 1):
            drafts.append(Draft(Role.FOOTNOTE, page, [match.group(2)], line, label=match.group(1)))
        elif drafts:
            drafts[-1].lines.append(text)
    return drafts


def assign_levels(drafts: list[Draft], body: float) -> None:
    """Levels for unnumbered headings larger than the body text, from their size."""
    heads = [d for d in drafts if d.role is Role.HEADING and d.size >= body * HEADING_RATIO]
    depths: dict[float, Counter[int]] = defaultdict(Counter)
    for d in heads:
        if match := NUMBERED_HEADING_RE.match(d.lines[0]):
            depths[d.size][len(match.group(1).split("."))] += 1
    ranks = sorted({d.size for d in heads}, reverse=True)
    for d in heads:
        larger = [s for s in depths if s >= d.size]
        if NUMBERED_HEADING_RE.match(d.lines[0]):
            continue
        if not depths:
            d.level = ranks.index(d.size) + 1
        elif larger:  # one below the numbered headings of the next larger size
            d.level = depths[min(larger)].most_common(1)[0][0] + (min(larger) > d.size)
        else:
            d.level = 1


def finish(drafts: list[Draft], lexicon: Counter[str]) -> tuple[list[RawBlock], list[Repair]]:
    """Blocks from drafts: lines joined with hyphenation repaired, table cells cleaned."""
    blocks, repairs = [], []
    for d in drafts:
        if d.role is Role.TABLE:
            clean = [[cleanup.normalize_unicode(c)[0].split("\n") for c in row] for row in d.rows]
            cells = [[cleanup.join_lines(c, lexicon, d.page) for c in row] for row in clean]
            repairs += [r for row in cells for _, found in row for r in found]
            rows = tuple(tuple(text for text, _ in row) for row in cells)
            blocks.append(RawBlock(cleanup.render_table(rows), Role.TABLE, d.page, rows=rows))
            continue
        text, found = cleanup.join_lines(d.lines, lexicon, d.page)
        repairs += found
        blocks.append(RawBlock(text, d.role, d.page, d.level, label=d.label))
    return blocks, repairs
