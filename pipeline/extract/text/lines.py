"""Lines of pre-extracted text and the groups they form (paragraph candidates).

A line knows its page segment; groups split at blank lines, page marks, bullets and short
lines that end a sentence. Double-spaced text (a blank line after nearly every line) needs a
wider gap to end a paragraph.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import pairwise

from pipeline.extract.cleanup import BULLETS
from pipeline.extract.text.paging import Line
from pipeline.model import Role

PAGE_START_RE = re.compile(rf"^ (?=[^\s{re.escape(BULLETS)}])")

BULLET_RE = re.compile(rf"^([{re.escape(BULLETS)}])\s+")

CAPTION_RE = re.compile(r"^(Figur|Tabell|Figure|Table|Faktaboks|Kilde|Diagram)\b\s*[\d.:]*", re.I)

SENTENCE_END = tuple('.!?:»"”)')

# A line shorter than this share of the document's typical line width ends a paragraph
# (when it also ends a sentence) or may be a heading; measured on the sample reports, body
# lines fill 85-100 % of the width and the last line of a paragraph rarely does.
SHORT_LINE = 0.75

RULE_SPACES = 20


@dataclass(slots=True)
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
