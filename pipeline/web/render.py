"""Markup for the pages: Norwegian labels, highlighted quotes, linked references, documents.

Every piece of document text is escaped with `markupsafe.escape` before it is wrapped in
tags, so the markup built here can be trusted by the templates; nothing in this module
passes document text through unescaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from urllib.parse import quote, urlencode

from markupsafe import Markup, escape

from pipeline.model import (
    RULES_HEADING,
    AnswerSection,
    Block,
    Citation,
    Document,
    LegalRef,
    Passage,
    Role,
)
from pipeline.serialize import QUESTION_TYPE_LABELS as QUESTION_TYPE_LABELS  # one table

KIND_LABELS = {
    "law": "Lov",
    "regulation": "Forskrift",
    "circular": "Rundskriv",
    "report": "Rapport",
    "thesis": "Studentoppgave",
    "audit": "Revisjonsrapport",
    "other": "Annet",
}
THEME_LABELS = {
    "barriers": "Barrierer",
    "organisation": "Organisering",
    "youth": "Unge",
    "funding": "Økonomi og finansiering",
}
THEME_DESCRIPTIONS = {
    "barriers": "Det som hindrer folk i å komme inn i, fullføre eller ha nytte av KVP, "
    "eller som gjør at NAV-kontor ikke bruker programmet.",
    "organisation": "Hvordan KVP-arbeidet er organisert og utført: kontor, roller, rutiner, "
    "saksbehandling, oppfølging, ledelse og samarbeid.",
    "youth": "Unge som tema: ungdom, aldersgrenser og unges situasjon og oppfølging.",
    "funding": "Penger: finansiering, budsjetter, kostnader, insentiver og stønadens nivå "
    "og regler.",
}
MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
          "september", "oktober", "november", "desember")  # fmt: skip
CONTEXT_CHARS = 280  # shown on each side of a quote in an excerpt


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of text to wrap in tags: [start, end) with trusted opening and closing tags."""

    start: int
    end: int
    open: Markup
    close: Markup

    def shifted(self, by: int) -> Span:
        return Span(self.start + by, self.end + by, self.open, self.close)


def wrap(text: str, spans: Iterable[Span]) -> Markup:
    """The text escaped, with each span wrapped in its tags (overlapping spans are dropped)."""
    out: list[Markup] = []
    pos = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if span.start < pos or span.start >= span.end or span.end > len(text):
            continue
        out += [escape(text[pos : span.start]), span.open, escape(text[span.start : span.end])]
        out.append(span.close)
        pos = span.end
    out.append(escape(text[pos:]))
    return Markup("").join(out)


def mark(start: int, end: int, css: str = "") -> Span:
    opening = Markup('<mark class="{}">').format(css) if css else Markup("<mark>")
    return Span(start, end, opening, Markup("</mark>"))


def link(start: int, end: int, href: str, title: str = "") -> Span:
    opening = Markup('<a href="{}" title="{}">').format(href, title or "")
    return Span(start, end, opening, Markup("</a>"))


# URLs ----------------------------------------------------------------------------------


def document_url(doc_id: str, passage_id: str | None = None) -> str:
    url = f"/dokument/{quote(doc_id, safe='')}"
    if passage_id:
        url += f"?{urlencode({'passasje': passage_id})}#p-{quote(passage_id, safe=':')}"
    return url


def ref_url(key: str) -> str:
    return f"/paragraf?{urlencode({'ref': key})}"


# Numbers and labels ----------------------------------------------------------------------


def decimal(value: float, digits: int = 2) -> str:
    """0.8312 → "0,83": a Norwegian decimal comma."""
    return f"{value:.{digits}f}".replace(".", ",")


def percent(share: float, digits: int = 0) -> str:
    """0.8234 → "82 %"; with `digits`, a decimal comma: "82,3 %"."""
    return f"{decimal(share * 100, digits)} %"


def probability(value: float) -> str:
    """A calibrated probability as a whole percentage that never rounds to certainty:
    0.996 → "over 99 %", 0.003 → "under 1 %"."""
    shown = percent(value)
    if shown == "100 %" and value < 1:
        return "over 99 %"
    if shown == "0 %" and value > 0:
        return "under 1 %"
    return shown


def norwegian_date(iso: str | None) -> str:
    """ "2024-07-01" → "1. juli 2024"; a value that is not an ISO date is shown as it is."""
    if not iso:
        return ""
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return iso
    return f"{day.day}. {MONTHS[day.month - 1]} {day.year}"


def where(section: Sequence[str], locator: str) -> str:
    """The § for a statute ("§ 35 annet ledd"), else the nearest section heading."""
    return locator or (section[-1] if section else "")


def citation_text(
    title: str,
    year: int | None,
    section: Sequence[str],
    locator: str,
    page: int | None,
    quote_text: str,
) -> str:
    """A citation to paste into a note or letter: title, §/section, page, year, quote."""
    parts = [title, where(section, locator)]
    if page is not None:
        parts.append(f"s. {page}")
    if year is not None:
        parts.append(str(year))
    return ", ".join(p for p in parts if p) + f": «{quote_text}»"


# Answers ---------------------------------------------------------------------------------

MARKER_RE = re.compile(r"\s*\[(\d+)\](?=\s|$)")  # " [2]" after a sentence of an answer


def answer_html(text: str, citations: Sequence[Citation]) -> Markup:
    """An answer's text (sentences each followed by " [n]") with each marker a link to
    source card n; a sentence whose source the current law has superseded is marked.

    Only markers that name a citation are links: "[12]" quoted from a report stays text.
    """
    pieces: list[Markup] = []
    pos = 0
    for match in MARKER_RE.finditer(text):
        number = int(match.group(1))
        if not 1 <= number <= len(citations):
            continue
        outdated = citations[number - 1].superseded is not None
        pieces.append(_cited(text[pos : match.start()].strip(), number, outdated=outdated))
        pos = match.end()
    if rest := text[pos:].strip():
        pieces.append(escape(rest.replace("§ ", "§\u00a0")))
    return Markup(" ").join(pieces)


def _cited(sentence: str, number: int, *, outdated: bool) -> Markup:
    sentence = sentence.replace("§ ", "§\u00a0")  # "§ 35" never breaks across lines
    link = Markup('<a class="cite-link" href="#kilde-{0}" aria-label="Kilde {0}">[{0}]</a>')
    if not outdated:
        return Markup("{} {}").format(sentence, link.format(number))
    return Markup(
        '<span class="outdated-quote">{0}</span> {1} <a class="tag outdated" '
        'href="#kilde-{2}-gjeldende" aria-label="Utdatert: se gjeldende regel under kilde {2}">'
        "Utdatert</a>"
    ).format(sentence, link.format(number), number)


def ordered_sections(sections: Sequence[AnswerSection]) -> list[AnswerSection]:
    """The sections with the rules first, the others in the order the answer gives them."""
    return sorted(sections, key=lambda s: s.heading != RULES_HEADING)


# Passages --------------------------------------------------------------------------------


def quote_excerpt(text: str, start: int, end: int, context: int = CONTEXT_CHARS) -> Markup:
    """The quote marked inside its passage, with up to `context` characters on each side."""
    low, high = max(0, start - context), min(len(text), end + context)
    if low > 0:
        space = text.find(" ", low, start)
        low = space + 1 if space >= 0 else low
    if high < len(text):
        space = text.rfind(" ", end, high)
        high = space if space > end else high
    body = wrap(text[low:high], [mark(start - low, end - low, "quote")])
    return Markup("").join(
        [
            Markup("…") if low > 0 else Markup(""),
            body,
            Markup("…") if high < len(text) else Markup(""),
        ]
    )


def preview(text: str, limit: int = 360) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[: cut if cut > limit // 2 else limit] + " …"


LinkTarget = Callable[[LegalRef], bool]  # may a reference link to a § page?


def ref_spans(passage: Passage, linkable: LinkTarget, current: str | None = None) -> list[Span]:
    """Links to § pages for a passage's references; the reference `current` is marked instead.

    A list such as "§§ 29 og 30" is one span with two refs: each number gets its own link
    when it can be found in the text, else the whole span links to the first §.
    """
    groups: dict[tuple[int, int], list[LegalRef]] = {}
    for ref in passage.legal_refs:
        groups.setdefault((ref.char_start, ref.char_end), []).append(ref)
    spans: list[Span] = []
    for (start, end), refs in groups.items():
        if current is not None and any(r.key == current for r in refs):
            spans.append(mark(start, end, "ref-hit"))
            continue
        targets = list(dict.fromkeys(r.key for r in refs if r.section and linkable(r)))
        raw = passage.text[start:end]
        numbers = [r.section for r in refs if r.key in targets]
        positions = _positions(raw, numbers)
        if len(targets) > 1 and positions is not None:
            spans += [
                link(start + a, start + b, ref_url(key), key)
                for (a, b), key in zip(positions, targets, strict=True)
            ]
        elif targets:
            spans.append(link(start, end, ref_url(targets[0]), ", ".join(targets)))
    return spans


def _positions(raw: str, sections: list[str]) -> list[tuple[int, int]] | None:
    """Where each § number stands in the raw reference, in order; None if one is missing."""
    import re

    found: list[tuple[int, int]] = []
    pos = 0
    for section in dict.fromkeys(sections):
        match = re.compile(rf"(?<![\w-]){re.escape(section)}(?![\w-])").search(raw, pos)
        if match is None:
            return None
        found.append(match.span())
        pos = match.end()
    return found


def passage_html(passage: Passage, linkable: LinkTarget, current: str | None = None) -> Markup:
    return wrap(passage.text, ref_spans(passage, linkable, current))


# Documents -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BlockView:
    tag: str  # from a fixed set: h2, h3, h4, p
    css: str
    html: Markup
    page: int | None = None  # set on the first block of a new page
    label: str = ""  # a list item's letter or a footnote's number, which the text leaves out
    current: bool = False  # the whole block lies in the highlighted passage
    ocr: bool = False  # its text was read by OCR (shown beside the page marker)


def block_tag(block: Block) -> tuple[str, str]:
    if block.role is Role.HEADING:
        depth = block.level or len(block.section)
        return ("h2" if depth <= 1 else "h3" if depth == 2 else "h4"), "heading"
    return "p", block.role.value.replace("_", "-")


def block_label(block: Block) -> str:
    label = block.label.strip()
    if len(label) == 1 and label.isalpha():
        return f"{label})"
    return f"{label}." if label.isdigit() and block.role is Role.LIST_ITEM else label


def document_blocks(
    document: Document, passages: Sequence[Passage], current: str | None, linkable: LinkTarget
) -> list[BlockView]:
    """The document's blocks with every passage wrapped (anchor `p-<id>` on its first piece),
    the `current` passage highlighted, and references linked to § pages."""
    text = document.text
    links = {p.passage_id: ref_spans(p, linkable) for p in passages}
    views: list[BlockView] = []
    first = 0  # the first passage that may overlap the block
    last_page: int | None = None
    anchored: set[str] = set()
    for block in document.blocks:
        while first < len(passages) and passages[first].char_end <= block.char_start:
            first += 1
        pieces: list[Markup] = []
        pos = block.char_start
        whole = False
        for passage in passages[first:]:
            if passage.char_start >= block.char_end:
                break
            if passage.passage_id == current:
                whole = (
                    passage.char_start <= block.char_start and block.char_end <= passage.char_end
                )
            start, end = max(pos, passage.char_start), min(block.char_end, passage.char_end)
            if start >= end:
                continue
            pieces.append(escape(text[pos:start]))
            inner = [
                s.shifted(passage.char_start - start)
                for s in links[passage.passage_id]
                if start <= passage.char_start + s.start and passage.char_start + s.end <= end
            ]
            anchor = passage.passage_id not in anchored
            anchored.add(passage.passage_id)
            pieces.append(_passage_piece(passage, text[start:end], inner, current, anchor=anchor))
            pos = end
        pieces.append(escape(text[pos : block.char_end]))
        tag, css = block_tag(block)
        page = block.page if block.page is not None and block.page != last_page else None
        last_page = block.page if block.page is not None else last_page
        html = Markup("").join(pieces)
        views.append(BlockView(tag, css, html, page, block_label(block), whole, block.ocr))
    return views


def _passage_piece(
    passage: Passage, text: str, spans: list[Span], current: str | None, *, anchor: bool
) -> Markup:
    is_current = passage.passage_id == current
    tag = Markup("mark") if is_current else Markup("span")
    css = "passage current" if is_current else "passage"
    anchor_id = Markup(' id="p-{}"').format(passage.passage_id) if anchor else Markup("")
    opening = Markup('<{} class="{}" data-passage="{}"{}>').format(
        tag, css, passage.passage_id, anchor_id
    )
    return Markup("").join([opening, wrap(text, spans), Markup("</{}>").format(tag)])
