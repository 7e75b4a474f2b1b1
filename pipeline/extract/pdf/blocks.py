"""PDF lines to raw blocks: headings, paragraphs, list items, captions, footnotes, tables.

* Footnotes are small-font lines at the foot of a page or column that start with the next
  footnote number (or 1). Markers glued to body words are dropped: raised small digits
  always, plain digits ("over tid.1") when a footnote on the same page has that number.
* Headings are lines clearly larger than the body size, or short bold lines. Numbered
  headings get level 0 (the assembler counts the numbering); larger unnumbered ones take
  the depth of numbered headings of their size, or their size rank when there are none.
* Lines are joined, with line-end hyphenation repaired, only once the whole document's
  lexicon is known (`cleanup.join_lines`); ligatures are expanded and counted as repairs.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise

from pipeline.extract import NUMBERED_HEADING_RE, cleanup
from pipeline.extract.pdf.layout import HEADING_RATIO, Item, Line, Table
from pipeline.model import RawBlock, Repair, Role

SMALL_RATIO = 0.9  # footnote text against the body size
FOOTNOTE_RE = re.compile(r"^(\d{1,3})(?:[.)]?\s+|(?=[^\W\d_]))(.+)$")
CAPTION_RE = re.compile(r"^(?:Figur|Tabell|Figure|Table|Fig\.)\s*\d+(?:[.-]\d+)*\s*([:.–—-])?")
BULLET_RE = re.compile(r"^([•▪●◦‣·\uf0b7\uf0a7\-–]|\(?[a-z1-9]\))\s+(\S.*)$")
TOC_RE = re.compile(r"(?:\.\s?){4,}\s*\d+$|…\s*\d+$")  # "2.1 Metode ........ 12"
GLUED_MARKER_RE = re.compile(r"([^\W\d_]*[a-zæøå][.,;:]?)(\d{1,3})(?=[\s.,;:!?)]|$)")
SENTENCE_END = (".", "!", "?", ":", ";")


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
