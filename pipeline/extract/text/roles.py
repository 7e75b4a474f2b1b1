"""Roles of line groups by their shape: contents, headings, captions, chart residue, tables.

Order matters: the strongest shapes are decided first (contents, tabs, captions, figure
numbers, bullets), then footnotes, gridless tables, headings, and chart labels last.
"""

from __future__ import annotations

import re

from pipeline.extract.text.footnotes import mark_footnotes
from pipeline.extract.text.lines import (
    BULLET_RE,
    CAPTION_RE,
    SHORT_LINE,
    Group,
)
from pipeline.extract.text.paging import Line
from pipeline.model import Role

# Each run of leaders is tried from its first character only, so a long run stays linear.
TOC_LINE_RE = re.compile(r"((?<!\.)\.{4,}|(?<!…)…{2,}|\t)\s*\d{1,3}\s*$")

TOC_TITLE_RE = re.compile(r"^(innholdsfortegnelse|innhold|contents|table of contents)$", re.I)

NUMBERED_HEADING_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(?=[A-ZÆØÅ«(\"'])")

FIGURE_DATA_RE = re.compile(r"^[\d\s,.%‰<>≤≥+\-–—/()NnKk=]*$")

# A table row that lost its grid: a label, then numbers ("Kvinne 78 74", "Nesseby <5,0 5,0").
TABLE_ROW_RE = re.compile(r"^(\D[^\t]*?[^\d\s<>(])\s+((?:[<>]?\d[\d.,]*\s*%?\s*){1,12})$")

HEADING_MAX_WORDS = 14


def classify(groups: list[Group], width: int) -> None:
    """Give each group its role; order matters: the strongest shapes are decided first."""
    mark_toc(groups)
    for group in groups:
        if group.role is not Role.PARAGRAPH:
            continue
        first = group.lines[0].text.strip()
        if "\t" in first:
            group.role, group.rows = Role.TABLE, [tuple(c.strip() for c in first.split("\t"))]
        elif CAPTION_RE.match(first):
            group.role = Role.CAPTION
        elif FIGURE_DATA_RE.match(group.text):
            group.role = Role.FIGURE
        elif BULLET_RE.match(first):
            group.role, group.label = Role.LIST_ITEM, "-"
    mark_footnotes(groups)
    mark_space_tables(groups)
    split_headings(groups, width)
    demote_heading_runs(groups)
    mark_figure_residue(groups, width)
    merge_tables(groups)


def mark_toc(groups: list[Group]) -> None:
    """A title like "Innholdsfortegnelse" and the lines ending in page numbers that follow."""
    in_toc = False
    for group in groups:
        first = group.lines[0].text.strip()
        if TOC_TITLE_RE.match(first.rstrip(":")):
            group.role, in_toc = Role.TOC, True
            continue
        toc_lines = sum(1 for ln in group.lines if is_toc_line(ln.text))
        if toc_lines and toc_lines >= len(group.lines) / 2:
            group.role, in_toc = Role.TOC, True
        elif in_toc and re.fullmatch(r"(Figurer|Tabeller|Figurliste|Tabelliste)", first):
            group.role = Role.TOC
        else:
            in_toc = False


def is_toc_line(text: str) -> bool:
    """A contents line: leaders or a tab, then a page number."""
    # The substring tests spare most lines the regex search, which tries every position.
    leaders = "...." in text or "……" in text or "\t" in text
    return leaders and bool(TOC_LINE_RE.search(text))


def split_headings(groups: list[Group], width: int) -> None:
    """Find headings: whole short groups, or short leading lines of a group before its body."""
    split: list[Group] = []
    for group in groups:
        current: Group | None = group
        while current is not None and current.role is Role.PARAGRAPH:
            n = heading_lines(current.lines, width)
            if not n:
                break
            split.append(Group(current.lines[:n], Role.HEADING, after_gap=current.after_gap))
            rest = current.lines[n:]
            current = Group(rest) if rest else None  # the body may open with a heading too
        if current is not None:
            split.append(current)
    groups[:] = split


def heading_lines(lines: list[Line], width: int) -> int:
    """How many leading lines of a group form a heading (0 for none)."""
    first = lines[0].text.strip()
    numbered = NUMBERED_HEADING_RE.match(first)
    if not looks_like_heading(first, width, numbered=bool(numbered)):
        return 0
    n = 1
    # A long heading wraps onto a second short line that continues it in lower case.
    while n < min(len(lines), 3):
        nxt = lines[n].text.strip()
        if nxt[:1].islower() and len(nxt) < SHORT_LINE * width and not nxt.endswith("."):
            n += 1
        else:
            break
    if n == len(lines) or lines[n].text.strip()[:1].isupper() or numbered:
        return n if (numbered or n == len(lines) or heading_before_body(lines, n)) else 0
    return 0


def looks_like_heading(text: str, width: int, *, numbered: bool) -> bool:
    words = text.split()
    if not words or len(words) > HEADING_MAX_WORDS or len(text) >= SHORT_LINE * width + 8:
        return False
    if text.endswith((".", ",", ";")) and not (numbered and text.endswith(".") and len(words) == 1):
        return False
    if numbered:
        return int(text.split(".")[0].split()[0]) <= 30
    return text[0].isupper() or text[0] == "«"


def heading_before_body(lines: list[Line], n: int) -> bool:
    """An unnumbered heading on top of a paragraph: the next line is a full body line."""
    heading = " ".join(ln.text.strip() for ln in lines[:n])
    return not heading.endswith((":", "?", "!")) and len(lines) - n >= 1


def mark_figure_residue(groups: list[Group], width: int) -> None:
    """Short label groups next to chart numbers are chart residue too, not headings."""
    residue_shaped: dict[int, bool] = {}

    def could_be_residue(i: int) -> bool:
        if i not in residue_shaped:
            group = groups[i]
            residue_shaped[i] = (
                group.role in (Role.HEADING, Role.PARAGRAPH)
                and not NUMBERED_HEADING_RE.match(group.lines[0].text.strip())
                and len(group.text) <= SHORT_LINE * width
                and not group.text.endswith((".", "!", "?"))
            )
        return residue_shaped[i]

    # Residue spreads from the chart numbers to every label-shaped neighbour, transitively.
    pending = [i for i, group in enumerate(groups) if group.role is Role.FIGURE]
    while pending:
        i = pending.pop()
        for j in (i - 1, i + 1):
            if 0 <= j < len(groups) and groups[j].role is not Role.FIGURE and could_be_residue(j):
                groups[j].role = Role.FIGURE
                pending.append(j)


def mark_space_tables(groups: list[Group]) -> None:
    """Rows of a table that lost its grid: "Kvinne 78 74", one per line, three or more in a row.

    A label followed by numbers is a row; short label-only lines between rows are kept in
    the table as one-cell rows (a sub-header such as "Kjønn (n = 1566)").
    """
    run: list[Group] = []
    for group in [*groups, None]:
        row = (
            group is not None
            and group.role is Role.PARAGRAPH
            and len(group.lines) == 1
            and (TABLE_ROW_RE.match(group.lines[0].text.strip()))
        )
        label = (
            group is not None
            and group.role is Role.PARAGRAPH
            and len(group.lines) == 1
            and (len(group.text.split()) <= 8 and not group.text.endswith("."))
        )
        if row or (run and label):
            run.append(group)  # type: ignore[arg-type]
            continue
        rows = [g for g in run if TABLE_ROW_RE.match(g.lines[0].text.strip())]
        if len(rows) >= 3:
            for g in run:
                g.role = Role.TABLE
                g.rows = [table_cells(g.lines[0].text)]
                g.lines[0].text = "\t".join(g.rows[0])
        run = []


def table_cells(text: str) -> tuple[str, ...]:
    match = TABLE_ROW_RE.match(text.strip())
    if not match:
        return (text.strip(),)
    return (match.group(1).strip(), *match.group(2).split())


def demote_heading_runs(groups: list[Group]) -> None:
    """Three or more unnumbered "headings" in a row are a list or a signature, not headings."""
    run: list[Group] = []
    for group in [*groups, None]:
        if (
            group is not None
            and group.role is Role.HEADING
            and not NUMBERED_HEADING_RE.match(group.text)
        ):
            run.append(group)
            continue
        if len(run) >= 3:
            # The last one may still be a real heading over the body that follows it.
            keep_last = group is not None and group.role is Role.PARAGRAPH
            for g in run[:-1] if keep_last else run:
                g.role = Role.PARAGRAPH
        run = []


def merge_tables(groups: list[Group]) -> None:
    """Consecutive tab-separated rows form one table."""
    merged: list[Group] = []
    for group in groups:
        if merged and merged[-1].role is Role.TABLE and group.role is Role.TABLE:
            merged[-1].lines.extend(group.lines)
            merged[-1].rows.extend(group.rows)
        else:
            merged.append(group)
    groups[:] = merged
