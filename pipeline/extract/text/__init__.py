"""Plain text, typically already extracted from a PDF, with the layout gone but its damage left.

What such text carries and what this reader does about it:

- page breaks, as form feeds or (pdftotext-style) a line starting with one space: kept as
  page segments, so furniture can be recognised per page;
- running headers/footers ("Fafo-rapport 2021:35", "østfold kommunerevisjon iks  5"), also
  those naming the current chapter, and lone page numbers: removed, kept as Furniture, and
  used to recover printed page numbers;
- a report template's unfilled ``##Field##`` markers and empty form fields ("Tittel: ____"):
  removed, kept as Furniture of kind "template";
- one line per wrapped line, sometimes double-spaced: rejoined into paragraphs, also across
  a page break when a sentence runs on;
- line-end hyphenation: repaired by `cleanup.join_lines`, keeping real compounds;
- footnote bodies at the bottom of a page and their markers glued to words ("tid.1"):
  separated into FOOTNOTE blocks, markers removed from the body text;
- tables of contents (dot leaders, tab + page number), figure captions, chart residue
  (axis values and legend labels), tab-separated tables, bullet lists and headings:
  each gets its own role.

Layout rules are by shape (length relative to the document's line width, punctuation,
numbering), never by the words of a particular document. The steps live beside this module:
`lines` (lines and the groups they form), `template` (template residue), `paging` (furniture
and printed page numbers), `roles` (each group's role) and `footnotes` (footnote bodies and
their markers). Every step is linear (or n log n) in the length of the text.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from pipeline.extract.cleanup import (
    build_lexicon,
    join_lines,
    normalize_unicode,
    read_text_file,
    render_table,
    repair_inline_breaks,
)
from pipeline.extract.text import paging
from pipeline.extract.text.footnotes import separate_footnote_markers
from pipeline.extract.text.lines import (
    BULLET_RE,
    SENTENCE_END,
    Group,
    group_lines,
    split_lines,
    typical_width,
)
from pipeline.extract.text.paging import Line, RemovedLine
from pipeline.extract.text.roles import classify
from pipeline.extract.text.template import remove_template
from pipeline.model import ExtractionReport, Furniture, RawBlock, RawDocument, Repair, Role
from pipeline.settings import ExtractSettings

DEFAULT_SETTINGS = ExtractSettings()  # the reader protocol; no limit or OCR applies to plain text


def read(path: Path, settings: ExtractSettings = DEFAULT_SETTINGS) -> RawDocument:
    """Read a text file into raw blocks, cleaning the damage of an earlier PDF extraction."""
    text, encoding = read_text_file(path)
    text, ligatures = normalize_unicode(text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = split_lines(text)
    residue = remove_template(lines)
    removed, anchors = paging.remove_furniture(lines)
    removed += [RemovedLine(r.text, "template", lines[r.line].segment, r.line) for r in residue]
    removed.sort(key=lambda f: f.line)
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


def merge_runons(groups: list[Group]) -> list[Group]:
    """Join a paragraph with the next when a page break, footnote or figure cut a sentence."""
    merged: list[Group] = []
    # The last paragraph, while only page-bottom material (footnotes, figures) came after it.
    target: Group | None = None
    for group in groups:
        if (
            group.role is Role.PARAGRAPH
            and target is not None
            and not last_text(target).endswith(SENTENCE_END)
            and group.lines[0].text.strip()[:1].islower()
        ):
            target.lines.extend(group.lines)
            continue
        merged.append(group)
        if group.role is Role.PARAGRAPH:
            target = group
        elif group.role not in (Role.FOOTNOTE, Role.FIGURE, Role.CAPTION):
            target = None
    return merged


def last_text(group: Group) -> str:
    """How the group's text ends: its last non-empty line (not the whole, ever longer text)."""
    for line in reversed(group.lines):
        text = line.text.strip()
        if text:
            return text
    return ""


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
