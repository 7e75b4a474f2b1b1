"""Residue of a report template: unfilled ##field## markers and empty form fields.

A publishing template leaves its field markers on the page when a field is never filled
("##Forfatter##"), sometimes broken over two lines by the earlier extraction ("##T" … a
line starting "ittel##"); a form leaves its blanks ("Tittel: ______", "Dato ........").
Neither is text of the document. Both are found by shape, for any report, and removed as
furniture of kind "template"; text that follows a marker on its line is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.extract.text.paging import Line

# "##Forfatter##", "##Tittel på rapporten##": a name of up to a few words between ## pairs.
MARKER_RE = re.compile(r"##[^\W\d_][^#\n]{0,40}?##")
# A marker cut at a line end ("##T") and its rest at the start of a later line ("ittel##").
OPEN_MARKER_RE = re.compile(r"(?:^|\s)(##[^\W\d_][^\W_]*)$")
CLOSE_MARKER_RE = re.compile(r"^\s*([^\W\d_]*##)")
CLOSE_WITHIN = 3  # lines, blank ones included: how far a marker's rest may be
# A form field: an optional label ("Tittel:", "Navn og adresse") and a blank to write on.
# A line is split at its blanks and each piece judged alone: one regex with the label and
# blank both repeated backtracks exponentially on a line that almost matches.
BLANK_RE = re.compile(r"_{3,}|\.{5,}|…{3,}")
LABEL_RE = re.compile(r"[^\W\d_][\w .,()/-]{0,40}:?")  # "Dato (dd.mm.åååå):"
FORM_MAX_CHARS = 200


@dataclass(frozen=True, slots=True)
class Residue:
    """Template residue taken out of one line: the line number and what was removed."""

    line: int
    text: str


def remove_template(lines: list[Line]) -> list[Residue]:
    """Take template markers and empty form fields out of the lines; return what went."""
    found: list[Residue] = []
    for i, line in enumerate(lines):
        if is_form_line(line.text):
            found.append(Residue(i, line.text.strip()))
            blank_out(lines, i)
        elif "##" in line.text:
            found.extend(remove_markers(lines, i))
    return sorted(found, key=lambda r: r.line)


def is_form_line(text: str) -> bool:
    """Only labels and blanks, ending in a blank (a contents line ends in its page number)."""
    if len(text) > FORM_MAX_CHARS or not BLANK_RE.search(text):
        return False
    *labels, after = (part.strip() for part in BLANK_RE.split(text))
    return not after and all(not label or LABEL_RE.fullmatch(label) for label in labels)


def remove_markers(lines: list[Line], i: int) -> list[Residue]:
    """Markers on line i, and one cut at its end together with its rest on a later line."""
    found = [Residue(i, m.group(0)) for m in MARKER_RE.finditer(lines[i].text)]
    lines[i].text = MARKER_RE.sub("", lines[i].text)
    opened = OPEN_MARKER_RE.search(lines[i].text)
    closing = close_of(lines, i) if opened else None
    if opened and closing:
        j, rest = closing
        found += [Residue(i, opened.group(1)), Residue(j, rest.group(1))]
        lines[i].text = lines[i].text[: opened.start(1)]
        lines[j].text = lines[j].text[rest.end() :]
        if not lines[j].text.strip():
            blank_out(lines, j)
    if not lines[i].text.strip():
        blank_out(lines, i)
    return found


def close_of(lines: list[Line], i: int) -> tuple[int, re.Match[str]] | None:
    """The line, and the rest on it, that finishes a marker cut at the end of line i."""
    for j in range(i + 1, min(len(lines), i + 1 + CLOSE_WITHIN)):
        if lines[j].text.strip():
            rest = CLOSE_MARKER_RE.match(lines[j].text)
            return (j, rest) if rest else None
    return None


def blank_out(lines: list[Line], i: int) -> None:
    """Empty a line; a page that started on it starts on the next text line instead."""
    starts_page = lines[i].page_start
    lines[i].text, lines[i].page_start = "", False
    if not starts_page:
        return
    for j in range(i + 1, len(lines)):
        if lines[j].text.strip():
            lines[j].page_start = True
            return
