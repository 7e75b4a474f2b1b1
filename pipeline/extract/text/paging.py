"""Page furniture in text that lost its layout: running heads, footers, page numbers.

A line is furniture when its shape repeats on several pages (digits aside) and it travels
with a page number, or when it is a lone number standing apart at a page's edge. Where the
text marks its pages, a head naming the current chapter is furniture too: the same at the
same edge of pages close together (its page number aside), or right over the chapter's
heading on the chapter's first page; the heading itself always stays. Printed
page numbers found this way anchor the page segments; pages between two anchors are filled
in only where the count of page breaks agrees with the printed numbers, so a page given to
a block is a page a reader will find in the original.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise

LONE_NUMBER_RE = re.compile(r"^\s*(?:[Ss]ide\s+)?[-–]?\s*(\d{1,3})\s*[-–]?(?:\s+av\s+\d{1,3})?\s*$")
TRAILING_NUMBER_RE = re.compile(r"^(.*\D)\s+(\d{1,3})$")
LEADING_NUMBER_RE = re.compile(r"^(\d{1,3})\s+(\D.*)$")
NUMBERED_HEADING_RE = re.compile(r"^\d{1,2}(\.\d{1,2})*\.?\s")
RUNNING_MAX_CHARS = 70
NEARBY_LINES = 4  # how far a running head and its page number may sit apart


@dataclass(slots=True)
class Line:
    """One line of a text file and the page segment it falls in."""

    text: str
    segment: int  # physical page segment, counted from page-break marks
    page_start: bool = False


@dataclass(frozen=True, slots=True)
class RemovedLine:
    text: str
    kind: str  # "header", "footer", "page_number" or "template"
    segment: int
    line: int  # where it was: the report lists furniture in reading order


def shape(text: str) -> str:
    return re.sub(r"\d+", "#", " ".join(text.lower().split()))


Found = tuple[int, str, int | None]  # line, kind ("header", "page_number_footer", …), page


def remove_furniture(lines: list[Line]) -> tuple[list[RemovedLine], list[tuple[int, int]]]:
    """Blank out furniture lines; return them and the (segment, printed page) anchors."""
    removed: list[RemovedLine] = []
    anchors: list[tuple[int, int]] = []
    nonblank = [i for i, ln in enumerate(lines) if ln.text.strip()]
    position = {line_no: k for k, line_no in enumerate(nonblank)}
    found = find_furniture(lines, nonblank, position)
    # Furniture marks a page edge even where the text has no page-break mark: a header
    # starts its page, a footer ends it. Segments are renumbered once all edges are known.
    for i, kind, _ in found:
        mark_page_edge(lines, nonblank, position[i], top=kind.endswith("header"))
    resegment(lines)
    for i, kind, number in sorted(found):
        removed.append(
            RemovedLine(
                lines[i].text.strip(),
                kind.removesuffix("_header").removesuffix("_footer"),
                lines[i].segment,
                i,
            )
        )
        if number is not None:
            anchors.append((lines[i].segment, number))
        lines[i].text = ""
    return removed, sorted(set(anchors))


def find_furniture(lines: list[Line], nonblank: list[int], position: dict[int, int]) -> list[Found]:
    """Running heads and the numbers beside them, lone page numbers, then chapter heads."""
    running = running_heads(lines, nonblank)
    found: list[Found] = []
    for i in sorted(running):
        kind = "footer" if is_page_bottom(lines, nonblank, position[i]) else "header"
        found.append((i, kind, running[i]))
        for j in neighbours(nonblank, position[i]):
            match = LONE_NUMBER_RE.match(lines[j].text)
            if match and j not in running:
                # Above a head and across a page break: the last page's number, at its foot.
                across = j < i and lines[j].segment != lines[i].segment
                edge = "footer" if across else kind
                found.append((j, "page_number_" + edge, int(match.group(1))))
    found.extend(
        (i, "page_number_footer", int(LONE_NUMBER_RE.match(lines[i].text).group(1)))  # type: ignore[union-attr]
        for i in isolated_page_numbers(lines, nonblank)
    )
    numbered = {lines[i].segment for i, _, number in found if number is not None}
    taken = {i for i, _, _ in found}
    for i, (kind, number) in chapter_heads(lines, nonblank, taken, numbered).items():
        found.append((i, kind, number))
    return first_per_line(found)


Member = tuple[int, int, int | None]  # segment, line, page number the line carries


def chapter_heads(
    lines: list[Line], nonblank: list[int], taken: set[int], numbered: set[int]
) -> dict[int, tuple[str, int | None]]:
    """Running heads that name the current chapter, so repeat only over that chapter's pages.

    A line at a page's top (or bottom) edge is one when the line at the same edge of the
    next page or the one after reads the same, its page number aside, and the pages are
    numbered; or when its page has it again just below as a heading. Of a run, one copy
    stays when the document has that title nowhere else: the heading opening a chapter.
    """
    edges = page_edges(lines, nonblank, taken)
    headings = standalone_titles(lines, nonblank, {i for i, _ in edges.values()})
    titles = {" ".join(lines[i].text.lower().split()) for i in headings}
    numbered = set(numbered)
    found: dict[int, tuple[str, int | None]] = {}
    runs = edge_runs(edges)
    # Numbers a run carries first: they number its pages for the runs that carry none.
    for edge, _, run in runs:
        for _, i, number in carried_numbers(run):
            found[i] = (edge_kind(edge), number)
            numbered.add(lines[i].segment)
    for edge, key, run in runs:
        if key not in titles and run[0][2] is None:
            run = run[1:]  # the chapter's own heading, opening its first page
        if all(segment in numbered for segment, _, _ in run):
            for _, i, _ in run:
                found.setdefault(i, (edge_kind(edge), None))
    for (segment, edge), (i, text) in edges.items():
        heading = None if i in found else heading_beside(lines, nonblank, headings, i, edge)
        for key, number in title_variants(text) if heading else ():
            if key == heading and (number is not None or segment in numbered):
                found[i] = (edge_kind(edge), number)
                break
    return found


def edge_runs(edges: dict[tuple[int, str], tuple[int, str]]) -> list[tuple[str, str, list[Member]]]:
    """Edge lines that read alike on pages close together: (edge, words, members) per run."""
    keyed: dict[tuple[str, str], list[Member]] = defaultdict(list)
    for (segment, edge), (i, text) in sorted(edges.items()):
        if reads_as_title(text):
            for key, number in title_variants(text):
                keyed[(edge, key)].append((segment, i, number))
    return [
        (edge, key, run)
        for (edge, key), members in keyed.items()
        for run in consecutive(members)
        if len(run) >= 2
    ]


def heading_beside(
    lines: list[Line], nonblank: list[int], headings: set[int], i: int, edge: str
) -> str | None:
    """The words of a heading right below a top-edge line (above a bottom one), if any:
    on a chapter's first page its running head sits right over its heading."""
    k = bisect.bisect_left(nonblank, i) + (1 if edge == "top" else -1)
    if not 0 <= k < len(nonblank) or nonblank[k] not in headings:
        return None
    return " ".join(lines[nonblank[k]].text.lower().split())


def reads_as_title(text: str) -> bool:
    """Mostly letters: a chart's axis ("0 10 20 … 100") at a page's top is no running head."""
    letters = sum(c.isalpha() for c in text)
    return letters >= len(text.replace(" ", "")) / 2


def edge_kind(edge: str) -> str:
    return "header" if edge == "top" else "footer"


def carried_numbers(run: list[Member]) -> list[Member]:
    """The members whose numbers count pages: distinct, and advancing one per page."""
    members = [m for m in run if m[2] is not None]
    offsets = {number - segment for segment, _, number in members if number is not None}
    if len(members) < 2 or len(offsets) != 1:
        return []
    return members


def page_edges(
    lines: list[Line], nonblank: list[int], taken: set[int]
) -> dict[tuple[int, str], tuple[int, str]]:
    """The first and last text line of each marked page: (segment, edge) -> (line, text)."""
    edges: dict[tuple[int, str], tuple[int, str]] = {}
    for i in nonblank:
        text = " ".join(lines[i].text.split())  # a layout's spacing before a page number
        if i in taken or LONE_NUMBER_RE.match(text):
            continue
        segment = lines[i].segment
        edges.setdefault((segment, "top"), (i, text))
        edges[(segment, "bottom")] = (i, text)
    return {
        place: (i, text)
        for place, (i, text) in edges.items()
        if len(text) <= RUNNING_MAX_CHARS and not text.endswith((".", ",", ";", "?"))
    }


def title_variants(text: str) -> list[tuple[str, int | None]]:
    """A running line's words as such and without a page number at its end or start."""
    key = " ".join(text.lower().split())
    variants: list[tuple[str, int | None]] = [(key, None)]
    for pattern, title, number in ((TRAILING_NUMBER_RE, 1, 2), (LEADING_NUMBER_RE, 2, 1)):
        match = pattern.match(key)
        if match:
            variants.append((match.group(title).strip(), int(match.group(number))))
    return variants


def standalone_titles(lines: list[Line], nonblank: list[int], edge_lines: set[int]) -> set[int]:
    """Heading-shaped lines inside pages: blank lines around, a capital first, no sentence end."""
    titles = set()
    for i in nonblank:
        text = lines[i].text.strip()
        if i in edge_lines or len(text) > RUNNING_MAX_CHARS or text.endswith((".", ",", ";", "?")):
            continue
        alone = all(not lines[j].text.strip() for j in (i - 1, i + 1) if 0 <= j < len(lines))
        if alone and (text[:1].isupper() or text[:1].isdigit()):
            titles.add(i)
    return titles


def consecutive(
    members: list[tuple[int, int, int | None]],
) -> list[list[tuple[int, int, int | None]]]:
    """Members split into runs on pages at most two apart (recto and verso may alternate)."""
    runs: list[list[tuple[int, int, int | None]]] = []
    for member in members:
        if runs and member[0] - runs[-1][-1][0] <= 2:
            runs[-1].append(member)
        else:
            runs.append([member])
    return runs


def first_per_line(found: list[Found]) -> list[Found]:
    """Each line once, as first found: a number beside a head may also stand apart."""
    kept, seen = [], set()
    for item in found:
        if item[0] not in seen:
            seen.add(item[0])
            kept.append(item)
    return kept


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
    candidates = [i for i in nonblank if may_run(lines[i].text.strip())]
    shapes = {i: shape(lines[i].text) for i in candidates}
    # One pass per shape, not per line: a head repeated on every page is compared once.
    same_shape: dict[str, list[str]] = defaultdict(list)
    for i in candidates:
        same_shape[shapes[i]].append(lines[i].text.strip())
    varying = {key: numbers_vary(texts) for key, texts in same_shape.items() if len(texts) >= 2}
    found: dict[int, int | None] = {}
    position = {line_no: k for k, line_no in enumerate(nonblank)}
    for i in candidates:
        text = lines[i].text.strip()
        if shapes[i] not in varying or LONE_NUMBER_RE.match(text):
            continue
        carried = carried_page_number(text, varying[shapes[i]])
        beside_number = any(
            LONE_NUMBER_RE.match(lines[j].text) and same_page(lines, position, i, j)
            for j in neighbours(nonblank, position[i])
        )
        if carried is not None or beside_number:
            found[i] = carried
    return found


def same_page(lines: list[Line], position: dict[int, int], i: int, j: int) -> bool:
    """Whether line j's number may be line i's: on its page, or right across the break.

    The last page's number sits right above the next page's head; a heading below that
    head has the number across the break too, but the head between them, so it is no head.
    """
    adjacent = abs(position[i] - position[j]) == 1
    return adjacent or lines[i].segment == lines[j].segment


def may_run(text: str) -> bool:
    """Short, not a numbered heading, not ending a sentence: the shape of a running line."""
    return (
        len(text) <= RUNNING_MAX_CHARS
        and not NUMBERED_HEADING_RE.match(text)
        and not text.endswith((".", ",", ";", "?"))
    )


CARRIED = ((TRAILING_NUMBER_RE, 2), (LEADING_NUMBER_RE, 1))


def numbers_vary(same_shape: list[str]) -> tuple[bool, ...]:
    """For a trailing and a leading number: does it differ between the repeats of a shape?"""
    return tuple(
        len({m.group(group) for t in same_shape if (m := pattern.match(t))}) > 1
        for pattern, group in CARRIED
    )


def carried_page_number(text: str, varying: tuple[bool, ...]) -> int | None:
    """A number at the start or end of a running line that differs between its repeats."""
    for (pattern, group), varies in zip(CARRIED, varying, strict=True):
        match = pattern.match(text)
        if match and varies:
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
        # A page break right after it is evidence enough for one blank line before it:
        # pdftotext ends a page with its number.
        ends_page = after is not None and lines[after].page_start
        gap_before = 2 if ends_page else 3
        apart = (before is None or i - before >= gap_before) and (
            after is None or after - i >= 2 or ends_page
        )
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
