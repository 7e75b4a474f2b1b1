"""Footnotes in pre-extracted text: their bodies at page bottoms and their markers in the body."""

from __future__ import annotations

import bisect
import re

from pipeline.extract.text.lines import Group
from pipeline.model import Repair, Role

SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"

SUPERSCRIPT_TO_DIGITS = str.maketrans(SUPERSCRIPT_DIGITS, "0123456789")

DIGITS_TO_SUPERSCRIPT = str.maketrans("0123456789", SUPERSCRIPT_DIGITS)

SUPERSCRIPT_FOOTNOTE_RE = re.compile(rf"^([{SUPERSCRIPT_DIGITS}]+)\s*\S")

FOOTNOTE_START_RE = re.compile(r"^(\d{1,3})\s+\S")

# A footnote marker glued to a word ("tid.1", "jobbspesialister1") or standing after a
# sentence's end ("(KVP). 1 Arbeids…").
GLUED_MARKER = (
    r"(?:(?<=[^\W\d_])|(?<=[^\W\d_][.,;:)»])){n}(?=[\s.,;:)]|$)"
    r"|(?<=[.;:)»] ){n}(?=\s+[A-ZÆØÅ]|\s*$)"
)


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
    bottom = PageBottom(groups)
    marked: list[Group] = []
    expected = 1
    for i, original in enumerate(groups):
        group: Group | None = original
        while group is not None:  # a group holding several footnotes is split as it goes
            marked.append(group)
            number = footnote_number(group)
            superscript = bool(SUPERSCRIPT_FOOTNOTE_RE.match(group.lines[0].text.strip()))
            if number is None or group.role is not Role.PARAGRAPH:
                break
            # One footnote may have gone unrecognised: accept the number after it too.
            in_sequence = expected <= number <= expected + 1
            if not (superscript or (in_sequence and is_footnote_place(group, bottom, i + 1))):
                break
            rest = split_footnote_group(group, number)
            group.role, group.label = Role.FOOTNOTE, str(number)
            expected = number + 1
            group = rest
    groups[:] = marked


def is_footnote_place(group: Group, bottom: PageBottom, start: int) -> bool:
    """Set apart by a rule, or by a gap with a page break or the next footnote after it.

    Chart residue, captions and a wrapped URL may sit between a footnote and the page break.
    """
    if group.after_rule:
        return True
    if not group.after_gap:
        return False
    number = footnote_number(group)
    return number is not None and bottom.ends_in_page_break_or_note(start, number + 1)


class PageBottom:
    """Where the page-bottom material (chart residue, captions, …) after a group ends.

    The groups from `start` on are not yet changed by `mark_footnotes` when asked about, so
    the end found for one start holds for every later start before it: a moving pointer
    and an index of footnote numbers keep the whole pass linear.
    """

    def __init__(self, groups: list[Group]) -> None:
        self.groups = groups
        self.stop = 0
        self.numbered: dict[int, list[int]] = {}
        for i, group in enumerate(groups):
            number = footnote_number(group)
            if number is not None:
                self.numbered.setdefault(number, []).append(i)

    def ends_in_page_break_or_note(self, start: int, note: int) -> bool:
        """True when a page break or footnote `note` comes before anything but page-bottom text."""
        stop = self.end(start)
        if stop == len(self.groups) or self.groups[stop].lines[0].page_start:
            return True
        positions = self.numbered.get(note, [])
        k = bisect.bisect_left(positions, start)
        return k < len(positions) and positions[k] <= stop

    def end(self, start: int) -> int:
        self.stop = max(self.stop, start)
        while self.stop < len(self.groups) and not ends_page_bottom(self.groups[self.stop]):
            self.stop += 1
        return self.stop


def ends_page_bottom(group: Group) -> bool:
    """A page break or body text: the end of what may follow a footnote on its page."""
    if group.lines[0].page_start:
        return True
    text = group.text
    label_like = len(text.split()) <= 6 and not text.endswith(".")  # a chart's legend
    page_bottom_material = group.role in (Role.FIGURE, Role.CAPTION) or label_like
    return not (page_bottom_material or text[:1].islower() or text.startswith("http"))


def split_footnote_group(group: Group, number: int) -> Group | None:
    """Several footnotes in one group ("1 …", "2 …"): the part from the next one on, cut off."""
    lines = group.lines
    for j in range(1, len(lines)):
        match = FOOTNOTE_START_RE.match(lines[j].text.strip())
        if match and int(match.group(1)) == number + 1:
            rest = Group(lines[j:], after_gap=True, after_rule=group.after_rule)
            del lines[j:]
            return rest
    return None


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
