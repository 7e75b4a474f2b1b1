"""Page furniture in text that lost its layout: running heads, footers, page numbers.

A line is furniture when its shape repeats on several pages (digits aside) and it travels
with a page number, or when it is a lone number standing apart at a page's edge. Printed
page numbers found this way anchor the page segments; pages between two anchors are filled
in only where the count of page breaks agrees with the printed numbers, so a page given to
a block is a page a reader will find in the original.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

LONE_NUMBER_RE = re.compile(r"^\s*(?:[Ss]ide\s+)?[-–]?\s*(\d{1,3})\s*[-–]?(?:\s+av\s+\d{1,3})?\s*$")
TRAILING_NUMBER_RE = re.compile(r"^(.*\D)\s+(\d{1,3})$")
LEADING_NUMBER_RE = re.compile(r"^(\d{1,3})\s+(\D.*)$")
NUMBERED_HEADING_RE = re.compile(r"^\d{1,2}(\.\d{1,2})*\.?\s")
RUNNING_MAX_CHARS = 70
NEARBY_LINES = 4  # how far a running head and its page number may sit apart


@dataclass
class Line:
    """One line of a text file and the page segment it falls in."""

    text: str
    segment: int  # physical page segment, counted from page-break marks
    page_start: bool = False


@dataclass(frozen=True)
class RemovedLine:
    text: str
    kind: str  # "header", "footer" or "page_number"
    segment: int


def shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


def remove_furniture(lines: list[Line]) -> tuple[list[RemovedLine], list[tuple[int, int]]]:
    """Blank out furniture lines; return them and the (segment, printed page) anchors."""
    removed: list[RemovedLine] = []
    anchors: list[tuple[int, int]] = []
    nonblank = [i for i, ln in enumerate(lines) if ln.text.strip()]
    position = {line_no: k for k, line_no in enumerate(nonblank)}
    running = running_heads(lines, nonblank)
    # Furniture marks a page edge even where the text has no page-break mark: a header
    # starts its page, a footer ends it. Segments are renumbered once all edges are known.
    found: list[tuple[int, str, int | None]] = []  # line, kind, printed page
    for i in sorted(running):
        kind = "footer" if is_page_bottom(lines, nonblank, position[i]) else "header"
        found.append((i, kind, running[i]))
        for j in neighbours(nonblank, position[i]):
            match = LONE_NUMBER_RE.match(lines[j].text)
            if match and j not in running:
                found.append((j, "page_number_" + kind, int(match.group(1))))
    found.extend(
        (i, "page_number_footer", int(LONE_NUMBER_RE.match(lines[i].text).group(1)))  # type: ignore[union-attr]
        for i in isolated_page_numbers(lines, nonblank)
    )
    for i, kind, _ in found:
        mark_page_edge(lines, nonblank, position[i], top=kind.endswith("header"))
    resegment(lines)
    for i, kind, number in sorted(found):
        removed.append(
            RemovedLine(
                lines[i].text.strip(),
                kind.removesuffix("_header").removesuffix("_footer"),
                lines[i].segment,
            )
        )
        if number is not None:
            anchors.append((lines[i].segment, number))
        lines[i].text = ""
    return removed, sorted(set(anchors))


def mark_page_edge(lines: list[Line], nonblank: list[int], k: int, *, top: bool) -> None:
    """Start a page at a header, or after a footer, unless a page-break mark is already near."""
    if top:
        if not any(lines[j].page_start for j in nonblank[max(0, k - 2) : k + 1]):
            lines[nonblank[k]].page_start = True
        return
    after = nonblank[k + 1 : k + 3]
    if after and not any(lines[j].page_start for j in after):
        lines[after[0]].page_start = True


def resegment(lines: list[Line]) -> None:
    segment = 0
    for n, line in enumerate(lines):
        if line.page_start and n:
            segment += 1
        line.segment = segment


def running_heads(lines: list[Line], nonblank: list[int]) -> dict[int, int | None]:
    """Line numbers of running heads/footers, with the page number each carries (if any)."""
    candidates = [
        i
        for i in nonblank
        if len(lines[i].text.strip()) <= RUNNING_MAX_CHARS
        and not NUMBERED_HEADING_RE.match(lines[i].text.strip())
        and not lines[i].text.strip().endswith((".", ",", ";", "?"))
    ]
    counts = Counter(shape(lines[i].text) for i in candidates)
    found: dict[int, int | None] = {}
    position = {line_no: k for k, line_no in enumerate(nonblank)}
    for i in candidates:
        text = lines[i].text.strip()
        if counts[shape(text)] < 2 or LONE_NUMBER_RE.match(text):
            continue
        carried = carried_page_number(
            text, [lines[j].text for j in candidates if shape(lines[j].text) == shape(text)]
        )
        beside_number = any(
            LONE_NUMBER_RE.match(lines[j].text) for j in neighbours(nonblank, position[i])
        )
        if carried is not None or beside_number:
            found[i] = carried
    return found


def carried_page_number(text: str, same_shape: list[str]) -> int | None:
    """A number at the start or end of a running line that differs between its repeats."""
    for pattern, group in ((TRAILING_NUMBER_RE, 2), (LEADING_NUMBER_RE, 1)):
        match = pattern.match(text)
        if not match:
            continue
        values = {m.group(group) for t in same_shape if (m := pattern.match(t.strip()))}
        if len(values) > 1:
            return int(match.group(group))
    return None


def neighbours(nonblank: list[int], k: int) -> list[int]:
    """Nearby non-blank lines (by line number) around the k-th non-blank line."""
    line_no = nonblank[k]
    window = nonblank[max(0, k - 2) : k] + nonblank[k + 1 : k + 3]
    return [j for j in window if abs(j - line_no) <= NEARBY_LINES]


def is_page_bottom(lines: list[Line], nonblank: list[int], k: int) -> bool:
    """True when the next non-blank line (past any page number) starts a new page."""
    for j in nonblank[k + 1 : k + 3]:
        if lines[j].page_start:
            return True
        if not LONE_NUMBER_RE.match(lines[j].text):
            return False
    return k + 1 >= len(nonblank)


def isolated_page_numbers(lines: list[Line], nonblank: list[int]) -> list[int]:
    """Lone numbers set apart by blank lines, with no numbers around them (not chart data)."""
    found = []
    for k, i in enumerate(nonblank):
        if not LONE_NUMBER_RE.match(lines[i].text) or not lines[i].text.strip():
            continue
        before = nonblank[k - 1] if k else None
        after = nonblank[k + 1] if k + 1 < len(nonblank) else None
        apart = (before is None or i - before >= 3) and (after is None or after - i >= 2)
        numeric_around = any(
            j is not None and LONE_NUMBER_RE.match(lines[j].text) for j in (before, after)
        )
        if apart and not numeric_around:
            found.append(i)
    return found


def page_numbers(anchors: list[tuple[int, int]], last_segment: int) -> dict[int, int]:
    """Printed page per segment: anchors, and the pages between two anchors that agree."""
    by_segment: dict[int, int] = {}
    for segment, page in anchors:
        by_segment.setdefault(segment, page)
    known = sorted(by_segment.items())
    pages = dict(known)
    for (s1, p1), (s2, p2) in pairwise(known):
        if s2 - s1 == p2 - p1:
            pages.update({s: p1 + (s - s1) for s in range(s1 + 1, s2)})
    return {s: p for s, p in pages.items() if 0 <= s <= last_segment}
