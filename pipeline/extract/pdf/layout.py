"""PDF page geometry: characters to lines, page furniture, columns and ruled tables.

* Running headers, footers and page numbers are lines in the top or bottom tenth of a page
  that repeat, with digits ignored, on at least two pages ("Rapport 2021 side 3" ~ "… side
  4"), or lines there that read as a page number with a word ("Side 3 av 10"). A bare "3"
  counts only when it repeats, so a one-page PDF keeps its lines; headings never count.
* Two columns are found from a vertical gutter: the widest band of x-positions near the
  middle that the fewest lines cross, with full text columns on both sides. Lines crossing
  it (a title, a closing paragraph) cut the page into bands, each read left column, then
  right. Three or more columns are not recognised.
* Tables are pdfplumber's ruled tables; their characters are kept out of the paragraphs.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from itertools import accumulate, pairwise
from typing import Any

from pipeline.model import Furniture

BAND = 0.1  # share of the page height, top and bottom, where furniture is looked for
HEADING_RATIO = 1.15  # a heading's size against the body size
SUPERSCRIPT_RATIO = 0.8  # a footnote marker's size against its line's
BOLD_RE = re.compile(r"bold|black|heavy|semibold|demi", re.IGNORECASE)
PAGE_NUMBER_RE = re.compile(
    r"^(?:(?:side|page|s\.)\s*)?[-–—]?\s*\d{1,4}\s*[-–—]?"
    r"(?:\s*(?:av|of|/)\s*\d{1,4})?$",
    re.IGNORECASE,
)
WORDED_NUMBER_RE = re.compile(r"^(?:side|page|s\.)\s*\d", re.IGNORECASE)
# A running head's words with its page number cut off: "2 metode 7", "7 2 metode".
PAGE_NUMBER_AT_END_RE = re.compile(r"^(.*\S)\s+\d{1,4}$")
PAGE_NUMBER_AT_START_RE = re.compile(r"^\d{1,4}\s+(\S.*)$")
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
    candidates: list[tuple[Page, str, Line]] = []
    seen: Counter[tuple[str, str]] = Counter()
    for page in pages:
        depth = page.height * BAND
        top = [(page, "header", ln) for ln in lines_of([c for c in page.chars if c.top < depth])]
        low = [c for c in page.chars if c.bottom > page.height - depth]
        found = top + [(page, "footer", ln) for ln in lines_of(low)]
        seen.update({(band, furniture_key(ln.text)) for _, band, ln in found})  # once per page
        candidates += found
    removed: set[int] = set()
    furniture = []
    headings: dict[str, list[Line]] | None = None  # found only when a band line needs them
    for page, band, line in candidates:
        if line.size >= body * HEADING_RATIO:
            continue  # a heading is not furniture, even when chapters open on pages alike
        repeated = seen[(band, furniture_key(line.text))] >= 2
        worded = bool(WORDED_NUMBER_RE.match(line.text))
        number = bool(PAGE_NUMBER_RE.match(line.text)) and (repeated or worded)
        if not (repeated or number):
            headings = heading_lines(pages, body) if headings is None else headings
            if not names_a_heading(line, headings):
                continue
        furniture.append(Furniture(line.text, "page_number" if number else band, page.number))
        removed.update(id(c) for c in line.chars)
    return [[c for c in page.chars if id(c) not in removed] for page in pages], furniture


def furniture_key(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def heading_lines(pages: list[Page], body: float) -> dict[str, list[Line]]:
    """Lines set as headings (large or bold) between the furniture bands, by their words."""
    found: dict[str, list[Line]] = {}
    for page in pages:
        depth = page.height * BAND
        chars = [
            c
            for c in page.chars
            if c.top >= depth
            and c.bottom <= page.height - depth
            and (c.bold or c.size >= body * HEADING_RATIO)
        ]
        for line in lines_of(chars):
            found.setdefault(" ".join(line.text.lower().split()), []).append(line)
    return found


def names_a_heading(line: Line, headings: dict[str, list[Line]]) -> bool:
    """A running head naming its chapter: a heading's words, a page number aside, set unlike it.

    Such a head may appear on one page only (a one-page chapter), so it never repeats.
    """
    words = " ".join(line.text.lower().split())
    variants = [
        words,
        *(
            m.group(1)
            for m in (PAGE_NUMBER_AT_END_RE.match(words), PAGE_NUMBER_AT_START_RE.match(words))
            if m
        ),
    ]
    return any(
        abs(heading.size - line.size) >= 0.5 or heading.bold != line.bold
        for variant in variants
        for heading in headings.get(variant, ())
    )


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
