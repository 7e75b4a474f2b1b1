"""Segmentation: Documents → citable Passages.

A passage is what a person would quote: paragraphs of one section, packed to a readable
length and split at sentence boundaries when long; for statutes one § per passage, or one
ledd per passage when the § is long. A passage never runs across two sections or two §§,
never mixes body text with footnotes, captions or the table of contents, and its text is
always the slice ``document.text[char_start:char_end]``.

Passage ids come from the document id and the passage's own text, so they stay the same
when the corpus is rebuilt, and when other parts of the document change.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.language import sentence_spans
from pipeline.model import BODY_ROLES, STATUTE_KINDS, Block, Document, Passage, Role
from pipeline.settings import SegmentSettings

DEFAULT_SETTINGS = SegmentSettings()
MIN_FOOTNOTE_WORDS = 6  # shorter footnotes (a bare URL, "Ibid.") are not worth citing
MIN_WORDS = 5  # shorter prose passages are chart labels or signatures, not statements
LEDD_ORDINALS = (
    "første", "annet", "tredje", "fjerde", "femte", "sjette", "sjuende", "åttende", "niende",
    "tiende", "ellevte", "tolvte",
)  # fmt: skip
PARAGRAPH_HEADING_RE = re.compile(r"^§\s*(\d+\s?[a-z]?)\b")


@dataclass(frozen=True)
class Span:
    """A contiguous stretch of a document that will become one passage."""

    start: int
    end: int
    blocks: tuple[Block, ...]
    role: Role = Role.PARAGRAPH
    locator: str = ""


def segment(document: Document, settings: SegmentSettings = DEFAULT_SETTINGS) -> list[Passage]:
    """Split one document into passages, in reading order."""
    if document.source.kind in STATUTE_KINDS:
        spans = list(statute_spans(document, settings))
    else:
        spans = list(prose_spans(document, settings))
    return make_passages(document, spans)


def segment_all(
    documents: Iterable[Document], settings: SegmentSettings = DEFAULT_SETTINGS
) -> list[Passage]:
    """Passages of many documents, document by document."""
    return [passage for document in documents for passage in segment(document, settings)]


# Prose ---------------------------------------------------------------------------------


def prose_spans(document: Document, settings: SegmentSettings) -> Iterator[Span]:
    for run in body_runs(document.blocks):
        yield from pack(run, settings)
    for block in document.blocks:
        if block.role is Role.FOOTNOTE and len(re.findall(r"[^\W\d_]{2,}", block.text)) >= (
            MIN_FOOTNOTE_WORDS
        ):
            yield Span(block.char_start, block.char_end, (block,), Role.FOOTNOTE)


def body_runs(blocks: tuple[Block, ...]) -> Iterator[list[Block]]:
    """Adjacent body blocks of one section; any other block or a new heading ends a run."""
    run: list[Block] = []
    for block in blocks:
        if block.role not in BODY_ROLES:
            if run:
                yield run
            run = []
            continue
        if run and (block.role is Role.HEADING or block.section != run[-1].section):
            yield run
            run = []
        run.append(block)
    if run:
        yield run


def pack(run: list[Block], settings: SegmentSettings) -> Iterator[Span]:
    """Pack a run's blocks (or their sentences) into passages of about `target_chars`."""
    pieces = [piece for block in run for piece in pieces_of(block, settings.max_chars)]
    if all(block.role is Role.HEADING for _, _, block in pieces):
        return  # a heading with no body under it is not a passage
    spans: list[tuple[int, int, list[Block]]] = []
    for start, end, block in pieces:
        current = spans[-1] if spans else None
        heading_only = current is not None and all(b.role is Role.HEADING for b in current[2])
        if current and (end - current[0] <= settings.target_chars or heading_only):
            spans[-1] = (current[0], end, [*current[2], block])
        else:
            spans.append((start, end, [block]))
    if len(spans) > 1 and spans[-1][1] - spans[-1][0] < settings.min_chars:
        last = spans.pop()
        spans[-1] = (spans[-1][0], last[1], spans[-1][2] + last[2])
    for start, end, blocks in spans:
        yield Span(start, end, tuple(dict.fromkeys(blocks)))


def pieces_of(block: Block, max_chars: int) -> list[tuple[int, int, Block]]:
    """A block whole, or its sentences (table rows) when it is too long to cite whole."""
    if len(block.text) <= max_chars:
        return [(block.char_start, block.char_end, block)]
    if block.role is Role.TABLE:
        offsets = [m.span() for m in re.finditer(r"[^\n]+", block.text)]
    else:
        offsets = sentence_spans(block.text)
    return [(block.char_start + a, block.char_start + b, block) for a, b in offsets]


# Statutes ------------------------------------------------------------------------------


def statute_spans(document: Document, settings: SegmentSettings) -> Iterator[Span]:
    """One § per span, or one ledd per span when the § is long."""
    blocks = document.blocks
    for i, heading in enumerate(blocks):
        match = PARAGRAPH_HEADING_RE.match(heading.text)
        if heading.role is not Role.HEADING or not match:
            continue
        section = "§ " + match.group(1).strip()
        ledd = statute_ledd(blocks[i + 1 :])
        if not ledd:
            continue
        if ledd[-1][-1].char_end - heading.char_start <= settings.law_section_max:
            members = (heading, *[b for group in ledd for b in group])
            yield Span(heading.char_start, ledd[-1][-1].char_end, members, locator=section)
            continue
        for n, group in enumerate(ledd):
            first = heading if n == 0 else group[0]
            members = (heading, *group) if n == 0 else tuple(group)
            locator = f"{section} {ordinal(n + 1)} ledd"
            yield Span(first.char_start, group[-1].char_end, members, locator=locator)


def statute_ledd(blocks: tuple[Block, ...]) -> list[list[Block]]:
    """The ledd of a § up to the next heading: each paragraph with the list items under it."""
    ledd: list[list[Block]] = []
    for block in blocks:
        if block.role is Role.HEADING:
            break
        if block.role is Role.PARAGRAPH:
            ledd.append([block])
        elif block.role is Role.LIST_ITEM and ledd:
            ledd[-1].append(block)
        elif block.role is Role.NOTE:
            break  # amendment history closes the §
    return ledd


def ordinal(n: int) -> str:
    return LEDD_ORDINALS[n - 1] if n <= len(LEDD_ORDINALS) else f"{n}."


# Passages ------------------------------------------------------------------------------


def make_passages(document: Document, spans: list[Span]) -> list[Passage]:
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for span in sorted(spans, key=lambda s: s.start):
        text = document.text[span.start : span.end]
        if not span.locator and len(text.split()) < MIN_WORDS:
            continue
        base = passage_id(document.doc_id, text)
        seen[base] = seen.get(base, 0) + 1
        pages = [b.page for b in span.blocks if b.page is not None]
        passages.append(
            Passage(
                passage_id=base if seen[base] == 1 else f"{base}-{seen[base]}",
                doc_id=document.doc_id,
                text=text,
                section=span.blocks[-1].section,
                char_start=span.start,
                char_end=span.end,
                page_start=min(pages) if pages else None,
                page_end=max(pages) if pages else None,
                role=span.role,
                locator=span.locator,
                sentences=sentences_of(text),
                ocr=any(b.ocr for b in span.blocks),
            )
        )
    return passages


BLOCK_RE = re.compile(r"[^\n]+(?:\n(?!\n)[^\n]+)*")  # a paragraph: lines up to a blank line


def sentences_of(text: str) -> tuple[tuple[int, int], ...]:
    """Sentence offsets in a passage's text, paragraph by paragraph, headings left out."""
    spans: list[tuple[int, int]] = []
    for block in BLOCK_RE.finditer(text):
        if is_heading_line(block.group(0)):
            continue
        spans += [(block.start() + a, block.start() + b) for a, b in sentence_spans(block.group(0))]
    return tuple(spans)


def is_heading_line(block: str) -> bool:
    """A short line with no closing punctuation: "§ 32. Programmets varighet", "3.1 Metode"."""
    return len(block) < 90 and not block.rstrip().endswith((".", "?", "!", ":", "»", ")"))


def passage_id(doc_id: str, text: str) -> str:
    """A stable id from the document and the passage's own words (whitespace-insensitive)."""
    digest = hashlib.sha1(" ".join(text.split()).encode("utf-8")).hexdigest()[:10]
    return f"{doc_id}:{digest}"
