"""Plain text, typically already extracted from a PDF, with the layout gone but its damage left.

What such text carries and what this reader does about it:

- page breaks, as form feeds or (pdftotext-style) a line starting with one space: kept as
  page segments, so furniture can be recognised per page;
- running headers/footers ("Fafo-rapport 2021:35", "østfold kommunerevisjon iks  5") and lone
  page numbers: removed, kept as Furniture, and used to recover printed page numbers;
- one line per wrapped line, sometimes double-spaced: rejoined into paragraphs, also across
  a page break when a sentence runs on;
- line-end hyphenation: repaired by `cleanup.join_lines`, keeping real compounds;
- footnote bodies at the bottom of a page and their markers glued to words ("tid.1"):
  separated into FOOTNOTE blocks, markers removed from the body text;
- tables of contents (dot leaders, tab + page number), figure captions, chart residue
  (axis values and legend labels), tab-separated tables, bullet lists and headings:
  each gets its own role.

Layout rules are by shape (length relative to the document's line width, punctuation,
numbering), never by the words of a particular document.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

from pipeline.extract import paging
from pipeline.extract.cleanup import (
    BULLETS,
    build_lexicon,
    decode_text,
    join_lines,
    normalize_unicode,
    render_table,
    repair_inline_breaks,
)
from pipeline.extract.paging import Line
from pipeline.model import ExtractionReport, Furniture, RawBlock, RawDocument, Repair, Role

PAGE_START_RE = re.compile(rf"^ (?=[^\s{re.escape(BULLETS)}])")
TOC_LINE_RE = re.compile(r"(\.{4,}|…{2,}|\t)\s*\d{1,3}\s*$")
TOC_TITLE_RE = re.compile(r"^(innholdsfortegnelse|innhold|contents|table of contents)$", re.I)
NUMBERED_HEADING_RE = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})\.?\s+(?=[A-ZÆØÅ«(\"'])")
CAPTION_RE = re.compile(r"^(Figur|Tabell|Figure|Table|Faktaboks|Kilde|Diagram)\b\s*[\d.:]*", re.I)
FIGURE_DATA_RE = re.compile(r"^[\d\s,.%‰<>≤≥+\-–—/()NnKk=]*$")
# A table row that lost its grid: a label, then numbers ("Kvinne 78 74", "Nesseby <5,0 5,0").
TABLE_ROW_RE = re.compile(r"^(\D[^\t]*?[^\d\s<>(])\s+((?:[<>]?\d[\d.,]*\s*%?\s*){1,12})$")
BULLET_RE = re.compile(rf"^([{re.escape(BULLETS)}])\s+")
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUPERSCRIPT_TO_DIGITS = str.maketrans(SUPERSCRIPT_DIGITS, "0123456789")
DIGITS_TO_SUPERSCRIPT = str.maketrans("0123456789", SUPERSCRIPT_DIGITS)
SUPERSCRIPT_FOOTNOTE_RE = re.compile(rf"^([{SUPERSCRIPT_DIGITS}]+)\s*\S")
FOOTNOTE_START_RE = re.compile(r"^(\d{1,3})\s+\S")
SENTENCE_END = tuple('.!?:»"”)')
# A line shorter than this share of the document's typical line width ends a paragraph
# (when it also ends a sentence) or may be a heading; measured on the sample reports, body
# lines fill 85-100 % of the width and the last line of a paragraph rarely does.
SHORT_LINE = 0.75
HEADING_MAX_WORDS = 14
RULE_SPACES = 20


@dataclass
class Group:
    """Lines between blank lines: a paragraph, a heading, a caption … once classified."""

    lines: list[Line]
    role: Role = Role.PARAGRAPH
    label: str = ""
    level: int = 0
    rows: list[tuple[str, ...]] = field(default_factory=list)
    after_gap: bool = False  # a visual separator (whitespace line) came before it
    after_rule: bool = False  # a long run of spaces came before it: a footnote rule

    @property
    def text(self) -> str:
        return " ".join(line.text.strip() for line in self.lines)

    @property
    def segment(self) -> int:
        return self.lines[0].segment


def read(path: Path) -> RawDocument:
    """Read a text file into raw blocks, cleaning the damage of an earlier PDF extraction."""
    text, encoding = decode_text(path.read_bytes())
    text, ligatures = normalize_unicode(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = split_lines(text)
    removed, anchors = paging.remove_furniture(lines)
    width = typical_width(lines)
    groups = group_lines(lines, width)
    classify(groups, width)
    lexicon = build_lexicon(line.text for line in lines)
    footnote_repairs = separate_footnote_markers(groups)
    groups = merge_runons(groups)
    page_of = paging.page_numbers(anchors, max((ln.segment for ln in lines), default=0))
    blocks, repairs = to_blocks(groups, lexicon, page_of)
    repairs = footnote_repairs + repairs
    if encoding not in ("utf-8", "utf-8-sig"):
        repairs.insert(0, Repair("encoding", encoding, "utf-8"))
    repairs.extend(Repair("ligature", "", "") for _ in range(ligatures))
    known_pages = sorted(set(page_of.values()))
    report = ExtractionReport(
        removed=tuple(Furniture(f.text, f.kind, page_of.get(f.segment)) for f in removed),
        repairs=tuple(repairs),
        warnings=page_warning(page_of, lines),
        page_count=max(known_pages) if known_pages else None,
    )
    return RawDocument(tuple(blocks), report)


def split_lines(text: str) -> list[Line]:
    """Lines with their page segment; a form feed or a one-space indent starts a page.

    Where the extraction lost a bullet glyph, list items also start with one space; a run of
    short indented lines is taken as a list (the bullet is restored) rather than as pages.
    """
    raw_lines = text.split("\n")
    uses_form_feed = "\f" in text
    width = typical_width([Line(raw, 0) for raw in raw_lines])
    indented = [not uses_form_feed and bool(PAGE_START_RE.match(raw)) for raw in raw_lines]
    bullets = lost_bullets(raw_lines, indented, width)
    lines: list[Line] = []
    segment = 0
    for i, raw in enumerate(raw_lines):
        starts = False
        if uses_form_feed and "\f" in raw:
            segment += raw.count("\f")
            raw, starts = raw.replace("\f", ""), True
        elif i in bullets:
            raw = "• " + raw.strip()
        elif indented[i] and lines:
            segment += 1
            starts = True
        # Keep a line of spaces as its spaces: it separates paragraphs and footnotes.
        lines.append(Line(raw.rstrip() if raw.strip() else raw, segment, starts))
    return lines


def lost_bullets(raw_lines: list[str], indented: list[bool], width: int) -> set[int]:
    """Indented short lines whose nearest non-blank neighbour is one too: a bullet list."""
    nonblank = [i for i, raw in enumerate(raw_lines) if raw.strip()]
    short = {i for i in nonblank if indented[i] and len(raw_lines[i].strip()) < SHORT_LINE * width}
    found = set()
    for k, i in enumerate(nonblank):
        if i not in short:
            continue
        around = nonblank[max(0, k - 1) : k] + nonblank[k + 1 : k + 2]
        if any(j in short for j in around):
            found.add(i)
    return found


def typical_width(lines: list[Line]) -> int:
    """The width body lines wrap at: a high percentile of line lengths, ignoring outliers."""
    lengths = sorted(len(line.text.strip()) for line in lines if line.text.strip())
    if not lengths:
        return 80
    return max(40, lengths[int(len(lengths) * 0.9)])


def is_blank(line: Line) -> bool:
    return not line.text.strip()


def ends_paragraph(line: Line, following: Line, width: int) -> bool:
    """A short line that ends a sentence, followed by a capital, ends its paragraph."""
    text = line.text.strip()
    nxt = following.text.strip()
    return (
        len(text) < SHORT_LINE * width
        and text.endswith((".", "!", "?", ":"))
        and (nxt[:1].isupper() or nxt[:1] in '«"' or bool(BULLET_RE.match(nxt)))
    )


def ends_item(group: Group, line: Line, width: int) -> bool:
    """A bullet starts a new item; a list item or caption ends where a line does not run on."""
    text = line.text.strip()
    if BULLET_RE.match(text):
        return True
    first = group.lines[0].text.strip()
    if not (BULLET_RE.match(first) or CAPTION_RE.match(first)):
        return False
    previous = group.lines[-1].text.strip()
    runs_on = text[:1].islower() or (
        len(previous) >= SHORT_LINE * width and not previous.endswith(SENTENCE_END)
    )
    return not runs_on


def group_lines(lines: list[Line], width: int) -> list[Group]:
    """Split lines into groups at blank lines; double-spaced text needs a wider gap."""
    texts = [ln for ln in lines if ln.text.strip()]
    followed_by_blank = sum(1 for a, b in pairwise(lines) if a.text.strip() and not b.text)
    double_spaced = bool(texts) and followed_by_blank > 0.7 * len(texts)
    groups: list[Group] = []
    gap = 0
    separator = rule = False
    page_break = False
    for line in lines:
        if is_blank(line):
            # A page mark on a line that is now blank (removed furniture) moves to the next one.
            page_break = page_break or line.page_start
            gap += 1
            # A line of spaces only is a visual separator in these files; a long one is the
            # rule above footnotes.
            separator = separator or bool(line.text)
            rule = rule or len(line.text) >= RULE_SPACES
            continue
        line.page_start = line.page_start or page_break
        page_break = False
        previous = groups[-1].lines[-1] if groups else None
        breaks = gap >= 1 and (not double_spaced or gap >= 2 or separator)
        if previous is not None and not breaks:
            breaks = ends_paragraph(previous, line, width) or ends_item(groups[-1], line, width)
        tabbed = "\t" in line.text or (previous is not None and "\t" in previous.text)
        if previous is None or breaks or line.page_start or tabbed:
            groups.append(Group([line], after_gap=separator, after_rule=rule))
        else:
            groups[-1].lines.append(line)
        gap = 0
        separator = rule = False
    return groups


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
        toc_lines = sum(1 for ln in group.lines if TOC_LINE_RE.search(ln.text))
        if toc_lines and toc_lines >= len(group.lines) / 2:
            group.role, in_toc = Role.TOC, True
        elif in_toc and re.fullmatch(r"(Figurer|Tabeller|Figurliste|Tabelliste)", first):
            group.role = Role.TOC
        else:
            in_toc = False


def footnote_number(group: Group) -> int | None:
    """The number a group starts with, read as a footnote number (superscript or plain)."""
    first = group.lines[0].text.strip()
    superscript = SUPERSCRIPT_FOOTNOTE_RE.match(first)
    if superscript:
        return int(superscript.group(1).translate(SUPERSCRIPT_TO_DIGITS))
    match = FOOTNOTE_START_RE.match(first)
    return int(match.group(1)) if match else None


def mark_footnotes(groups: list[Group]) -> None:
    """Footnote bodies: numbered in sequence, set apart by a gap, at the bottom of a page.

    Superscript-numbered lines are footnotes by their shape alone. A plain "4 De som …" is
    one only if 4 is the next footnote number, a separator line precedes it, and a page
    break, a strong rule line or the next footnote follows: chapter headings and numbered
    lists share the shape but not the place.
    """
    expected = 1
    i = 0
    while i < len(groups):
        group = groups[i]
        number = footnote_number(group)
        superscript = bool(SUPERSCRIPT_FOOTNOTE_RE.match(group.lines[0].text.strip()))
        if (
            number is not None
            and group.role is Role.PARAGRAPH
            and (
                # One footnote may have gone unrecognised: accept the number after it too.
                superscript or (expected <= number <= expected + 1 and is_footnote_place(groups, i))
            )
        ):
            split_footnote_group(groups, i, number)
            group.role, group.label = Role.FOOTNOTE, str(number)
            expected = number + 1
        i += 1


def is_footnote_place(groups: list[Group], i: int) -> bool:
    """Set apart by a rule, or by a gap with a page break or the next footnote after it.

    Chart residue, captions and a wrapped URL may sit between a footnote and the page break.
    """
    group = groups[i]
    if group.after_rule:
        return True
    if not group.after_gap:
        return False
    number = footnote_number(group)
    for following in groups[i + 1 :]:
        first = following.lines[0]
        if first.page_start or (number is not None and footnote_number(following) == number + 1):
            return True
        text = following.text
        label_like = len(text.split()) <= 6 and not text.endswith(".")  # a chart's legend
        page_bottom_material = following.role in (Role.FIGURE, Role.CAPTION) or label_like
        if not (page_bottom_material or text[:1].islower() or text.startswith("http")):
            return False
    return True


def split_footnote_group(groups: list[Group], i: int, number: int) -> None:
    """Several footnotes in one group ("1 …", "2 …"): one group each."""
    lines = groups[i].lines
    for j in range(1, len(lines)):
        match = FOOTNOTE_START_RE.match(lines[j].text.strip())
        if match and int(match.group(1)) == number + 1:
            rest = Group(lines[j:], after_gap=True, after_rule=groups[i].after_rule)
            del lines[j:]
            groups.insert(i + 1, rest)
            return


def split_headings(groups: list[Group], width: int) -> None:
    """Find headings: whole short groups, or short leading lines of a group before its body."""
    i = 0
    while i < len(groups):
        group = groups[i]
        if group.role is Role.PARAGRAPH:
            n = heading_lines(group.lines, width)
            if n:
                heading = Group(group.lines[:n], Role.HEADING, after_gap=group.after_gap)
                rest = group.lines[n:]
                groups[i : i + 1] = [heading, Group(rest)] if rest else [heading]
        i += 1


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
    changed = True
    while changed:
        changed = False
        for i, group in enumerate(groups):
            if group.role not in (Role.HEADING, Role.PARAGRAPH) or NUMBERED_HEADING_RE.match(
                group.lines[0].text.strip()
            ):
                continue
            if len(group.text) > SHORT_LINE * width or group.text.endswith((".", "!", "?")):
                continue
            neighbours = groups[max(0, i - 1) : i] + groups[i + 1 : i + 2]
            if any(n.role is Role.FIGURE for n in neighbours):
                group.role, changed = Role.FIGURE, True


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
    i = 0
    while i + 1 < len(groups):
        a, b = groups[i], groups[i + 1]
        if a.role is Role.TABLE and b.role is Role.TABLE:
            a.lines.extend(b.lines)
            a.rows.extend(b.rows)
            del groups[i + 1]
        else:
            i += 1


# A footnote marker glued to a word ("tid.1", "jobbspesialister1") or standing after a
# sentence's end ("(KVP). 1 Arbeids…").
GLUED_MARKER = (
    r"(?:(?<=[^\W\d_])|(?<=[^\W\d_][.,;:)»])){n}(?=[\s.,;:)]|$)"
    r"|(?<=[.;:)»] ){n}(?=\s+[A-ZÆØÅ]|\s*$)"
)


def separate_footnote_markers(groups: list[Group]) -> list[Repair]:
    """Remove each footnote's marker from the body text that precedes it."""
    repairs: list[Repair] = []
    for i, group in enumerate(groups):
        if group.role is not Role.FOOTNOTE:
            continue
        repairs.append(Repair("footnote", group.label, "", None))
        if not group.label.isdigit():
            continue
        superscript = group.label.translate(DIGITS_TO_SUPERSCRIPT)
        pattern = re.compile(
            re.escape(superscript) + "|" + GLUED_MARKER.format(n=re.escape(group.label))
        )
        for earlier in reversed(groups[max(0, i - 40) : i]):
            if earlier.role in (Role.FOOTNOTE, Role.TOC, Role.FIGURE, Role.TABLE):
                continue
            if remove_marker(earlier, pattern):
                repairs.append(Repair("footnote_marker", group.label, "", None))
                break
    return repairs


def remove_marker(group: Group, pattern: re.Pattern[str]) -> bool:
    for line in reversed(group.lines):
        matches = list(pattern.finditer(line.text))
        if matches:
            m = matches[-1]
            line.text = (line.text[: m.start()] + line.text[m.end() :]).replace(" .", ".")
            return True
    return False


def merge_runons(groups: list[Group]) -> list[Group]:
    """Join a paragraph with the next when a page break, footnote or figure cut a sentence."""
    merged: list[Group] = []
    for group in groups:
        target = runon_target(merged)
        if (
            group.role is Role.PARAGRAPH
            and target is not None
            and not target.text.rstrip().endswith(SENTENCE_END)
            and group.lines[0].text.strip()[:1].islower()
        ):
            target.lines.extend(group.lines)
            continue
        merged.append(group)
    return merged


def runon_target(merged: list[Group]) -> Group | None:
    """The last paragraph, if only page-bottom material (footnotes, figures) came after it."""
    for group in reversed(merged):
        if group.role is Role.PARAGRAPH:
            return group
        if group.role not in (Role.FOOTNOTE, Role.FIGURE, Role.CAPTION):
            return None
    return None


def to_blocks(
    groups: list[Group], lexicon: Counter[str], page_of: dict[int, int]
) -> tuple[list[RawBlock], list[Repair]]:
    blocks: list[RawBlock] = []
    repairs: list[Repair] = []
    for group in groups:
        page = page_of.get(group.segment)
        if group.role is Role.TABLE:
            rows = tuple(tuple(c.strip() for c in ln.text.split("\t")) for ln in group.lines)
            blocks.append(RawBlock(render_table(rows), Role.TABLE, page, rows=rows))
            continue
        if group.role in (Role.TOC, Role.FIGURE):
            text = "\n".join(" ".join(ln.text.split()) for ln in group.lines)
            blocks.append(RawBlock(text, group.role, page))
            continue
        for item_lines, role, label in split_paragraphs(group):
            joined, fixed = join_lines(item_lines, lexicon, page)
            joined, fixed_inline = repair_inline_breaks(joined, lexicon, page)
            repairs.extend(fixed + fixed_inline)
            if role is Role.FOOTNOTE:
                joined = re.sub(r"^[⁰¹²³⁴⁵⁶⁷⁸⁹\d]+\s*", "", joined)
            blocks.append(RawBlock(joined, role, page, level=group.level, label=label))
    return blocks, repairs


def split_paragraphs(group: Group) -> list[tuple[list[str], Role, str]]:
    """Bullet items start a new item each; other roles stay one block."""
    if group.role is not Role.LIST_ITEM:
        return [([ln.text for ln in group.lines], group.role, group.label)]
    items: list[tuple[list[str], Role, str]] = []
    for line in group.lines:
        bullet = BULLET_RE.match(line.text.strip())
        if bullet or not items:
            stripped = BULLET_RE.sub("", line.text.strip())
            items.append(([stripped], Role.LIST_ITEM, "-"))
        else:
            items[-1][0].append(line.text)
    return items


def page_warning(page_of: dict[int, int], lines: list[Line]) -> tuple[str, ...]:
    segments = max((ln.segment for ln in lines), default=0) + 1
    if not page_of:
        return ("no printed page numbers found: blocks carry no page",)
    if len(page_of) < segments:
        return (f"page numbers recovered for {len(page_of)} of {segments} page segments",)
    return ()
