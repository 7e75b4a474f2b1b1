"""Markdown (the statute texts): headings become the section path, each § its own section.

Parsed with markdown-it-py, so lists, tables and emphasis are read as Markdown defines them.
Lovdata's rendering puts statute amendment history in italic paragraphs ("*Endret ved lov
…*"); those become NOTE blocks so that they are never counted as a ledd.
"""

from __future__ import annotations

import re
import string
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from pipeline.extract.cleanup import normalize_unicode, read_text_file, render_table
from pipeline.model import ExtractionReport, RawBlock, RawDocument, Repair, Role
from pipeline.settings import ExtractSettings

DEFAULT_SETTINGS = ExtractSettings()  # the reader protocol; no limit or OCR applies to Markdown

FRONT_MATTER_RE = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)
FRONT_MATTER_LINE_RE = re.compile(r'^([\w-]+):\s*"?(.*?)"?\s*$')
AMENDMENT_RE = re.compile(
    r"^(Endret|Tilføyd|Opphevet|Endra|Tilføya)\s+ved\s+(lov|lover|forskrift|forskrifter|res)\b"
)
# Lovdata's converter leaves a space where a link ended: "kommuneloven § 25-1 ."
SPACE_BEFORE_PUNCT_RE = re.compile(r"(?<=\S) +([.,;:)])")


def read(path: Path, settings: ExtractSettings = DEFAULT_SETTINGS) -> RawDocument:
    """Read a Markdown file into raw blocks."""
    text, encoding = read_text_file(path)
    text, ligatures = normalize_unicode(text)
    metadata, body = split_front_matter(text)
    # Lovdata texts render list letters (a, b, c) as dashes: give them their letters back.
    lettered_lists = "refid" in metadata
    blocks = blocks_from_tokens(
        MarkdownIt("commonmark").enable("table").parse(body), lettered_lists
    )
    repairs: list[Repair] = []
    if encoding not in ("utf-8", "utf-8-sig"):
        repairs.append(Repair("encoding", encoding, "utf-8"))
    repairs.extend(Repair("ligature", "", "") for _ in range(ligatures))
    meta = {"title": metadata.get("tittel", "")} if metadata.get("tittel") else {}
    year = re.search(r"(\d{4})-\d\d-\d\d", metadata.get("refid", ""))
    if year:
        meta["year"] = year.group(1)
    return RawDocument(tuple(blocks), ExtractionReport(repairs=tuple(repairs)), tuple(meta.items()))


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML-style front matter as simple key/value pairs, and the body after it."""
    match = FRONT_MATTER_RE.match(text)
    if not match:
        return {}, text
    metadata = {}
    for line in match.group(1).splitlines():
        pair = FRONT_MATTER_LINE_RE.match(line)
        if pair:
            metadata[pair.group(1)] = pair.group(2)
    return metadata, text[match.end() :]


def inline_text(token: Token) -> str:
    """Plain text of an inline token: emphasis and link markup dropped, line breaks as spaces."""
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return SPACE_BEFORE_PUNCT_RE.sub(r"\1", " ".join("".join(parts).split()))


def blocks_from_tokens(tokens: list[Token], lettered_lists: bool) -> list[RawBlock]:
    blocks: list[RawBlock] = []
    list_depth = 0
    item_number = 0
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
            item_number = 0
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
        elif token.type == "list_item_open":
            item_number += 1
        elif token.type == "heading_open":
            blocks.append(
                RawBlock(inline_text(tokens[i + 1]), Role.HEADING, level=int(token.tag[1]))
            )
            i += 2
        elif token.type == "paragraph_open":
            raw_inline = tokens[i + 1]
            text = inline_text(raw_inline)
            if list_depth:
                label = list_label(item_number, lettered_lists)
                blocks.append(RawBlock(text, Role.LIST_ITEM, label=label))
            elif AMENDMENT_RE.match(text):
                blocks.append(RawBlock(text, Role.NOTE))
            else:
                blocks.append(RawBlock(text, Role.PARAGRAPH))
            i += 2
        elif token.type == "table_open":
            i, table = read_table(tokens, i)
            blocks.append(table)
            continue
        i += 1
    return blocks


def list_label(number: int, lettered: bool) -> str:
    if lettered and 1 <= number <= len(string.ascii_lowercase):
        return string.ascii_lowercase[number - 1]
    return str(number)


def read_table(tokens: list[Token], start: int) -> tuple[int, RawBlock]:
    """Rows and cells of a Markdown table; returns the index after it and the block."""
    rows: list[tuple[str, ...]] = []
    row: list[str] = []
    i = start
    while tokens[i].type != "table_close":
        token = tokens[i]
        if token.type == "tr_open":
            row = []
        elif token.type == "inline":
            row.append(inline_text(token))
        elif token.type == "tr_close":
            rows.append(tuple(row))
        i += 1
    return i + 1, RawBlock(render_table(rows), Role.TABLE, rows=tuple(rows))
