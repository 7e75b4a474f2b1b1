"""Records as JSON and back: one place, used by the store, the CLI, the API and the exports.

Two kinds of shape live here:
- *records* (`to_dict` / `document_from_dict` / `passage_from_dict`): every field of a
  `pipeline.model` record, lossless, what a store writes and reads back;
- *views* (`hit_to_dict`, `citation_to_dict`, `answer_to_dict`, `passage_row`, `ref_row`): what
  a person or a client reads — a record with its document's metadata beside it. The web API's
  response models (`pipeline.web.schemas`) describe these views.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.model import (
    Answer,
    Block,
    Citation,
    Document,
    ExtractionReport,
    Furniture,
    Hit,
    Kind,
    LegalRef,
    Passage,
    Repair,
    Role,
    Source,
    to_jsonable,
)

if TYPE_CHECKING:
    from pipeline.search import Index


def to_dict(record: object) -> dict[str, Any]:
    """Any record as plain JSON types: dataclasses to dicts, enums to values, paths to str."""
    data = to_jsonable(record)
    assert isinstance(data, dict), f"{type(record).__name__} is not a record"
    return data


# Records back from JSON ------------------------------------------------------------------


def source_from_dict(data: dict[str, Any]) -> Source:
    return Source(**{**data, "path": Path(data["path"]), "kind": Kind(data["kind"])})


def block_from_dict(data: dict[str, Any]) -> Block:
    return Block(
        **{
            **data,
            "role": Role(data["role"]),
            "section": tuple(data["section"]),
            "rows": tuple(tuple(r) for r in data["rows"]),
        }
    )


def report_from_dict(data: dict[str, Any]) -> ExtractionReport:
    return ExtractionReport(
        removed=tuple(Furniture(**f) for f in data["removed"]),
        repairs=tuple(Repair(**r) for r in data["repairs"]),
        warnings=tuple(data["warnings"]),
        page_count=data["page_count"],
        pages_without_text=tuple(data["pages_without_text"]),
        ocr_pages=tuple(data.get("ocr_pages", ())),  # stores written before OCR have none
    )


def document_from_dict(data: dict[str, Any]) -> Document:
    return Document(
        source=source_from_dict(data["source"]),
        text=data["text"],
        blocks=tuple(block_from_dict(b) for b in data["blocks"]),
        content_hash=data["content_hash"],
        report=report_from_dict(data["report"]),
    )


def passage_from_dict(data: dict[str, Any]) -> Passage:
    return Passage(
        **{
            **data,
            "section": tuple(data["section"]),
            "role": Role(data["role"]),
            "legal_refs": tuple(LegalRef(**r) for r in data["legal_refs"]),
            "themes": tuple((t, float(p)) for t, p in data["themes"]),
            "sentences": tuple((int(a), int(b)) for a, b in data["sentences"]),
        }
    )


# Views -------------------------------------------------------------------------------------


def ref_to_dict(ref: LegalRef) -> dict[str, Any]:
    """A reference as exports show it: its key beside its parts and the raw text."""
    return {
        "key": ref.key,
        "act": ref.act,
        "section": ref.section,
        "ledd": ref.ledd,
        "bokstav": ref.bokstav,
        "punktum": ref.punktum,
        "point": ref.point,
        "raw": ref.raw,
    }


def place(
    passage_id: str, doc_id: str, title: str, kind: Kind, year: int | None,
    section: tuple[str, ...], locator: str,
) -> dict[str, Any]:  # fmt: skip
    """What every view of a passage starts with: where it is and what it is from."""
    return {"passage_id": passage_id, "doc_id": doc_id, "title": title, "kind": kind.value,
            "year": year, "section": list(section), "locator": locator}  # fmt: skip


def passage_head(passage: Passage, source: Source) -> dict[str, Any]:
    return place(passage.passage_id, passage.doc_id, source.title, source.kind, source.year,
                 passage.section, passage.locator)  # fmt: skip


def passage_row(passage: Passage, document: Document) -> dict[str, Any]:
    """A passage as a flat record for exports and the API: metadata, offsets, refs, themes."""
    source = document.source
    return {
        **passage_head(passage, source),
        "publisher": source.publisher,
        "official_id": source.official_id,
        "page_start": passage.page_start,
        "page_end": passage.page_end,
        "ocr": passage.ocr,
        "char_start": passage.char_start,
        "char_end": passage.char_end,
        "legal_refs": [ref_to_dict(r) for r in passage.legal_refs],
        "themes": dict(passage.themes),
        "labels": list(passage.labels),
        "text": passage.text,
    }


def ref_row(passage: Passage, source: Source, *, statute: bool) -> dict[str, Any]:
    """A passage holding or citing a §, as `kvp refs --json` and `GET /api/refs` list it."""
    return {
        **passage_head(passage, source),
        "page": passage.page_start,
        "ocr": passage.ocr,
        "statute": statute,
        "refs": [r.raw for r in passage.legal_refs],
        "text": passage.text,
    }


def hit_to_dict(hit: Hit, source: Source) -> dict[str, Any]:
    """A search hit; `section` is the heading path joined for display."""
    passage = hit.passage
    return {
        **passage_head(passage, source),
        "section": " › ".join(passage.section),
        "page": passage.page_start,
        "ocr": passage.ocr,
        "score": hit.score,
        "lexical": round(hit.lexical, 4),
        "dense": round(hit.dense, 4),
        "legal_refs": [r.key for r in passage.legal_refs],
        "themes": dict(passage.themes),
        "text": passage.text,
    }


def citation_to_dict(citation: Citation, passage_text: str, *, ocr: bool = False) -> dict[str, Any]:
    """A citation; `text` is its whole passage, so a client can show the quote in context.

    `ocr` (the passage's own flag) says its text was read by OCR from a page image.
    """
    where = place(citation.passage_id, citation.doc_id, citation.title, citation.kind,
                  citation.year, citation.section, citation.locator)  # fmt: skip
    return {
        **where,
        "section": " › ".join(citation.section),
        "page": citation.page,
        "ocr": ocr,
        "quote": citation.quote,
        "quote_start": citation.quote_start,
        "quote_end": citation.quote_end,
        "text": passage_text,
        "score": citation.score,
        "legal_refs": [r.key for r in citation.legal_refs],
        "related_law": list(citation.related_law),
        "superseded": to_jsonable(citation.superseded),
        "in_force": citation.in_force,
    }


QUESTION_TYPE_LABELS = {
    "rule": "Spørsmål om regelverket",
    "practice": "Spørsmål om praksis",
    "statistic": "Spørsmål om tall og statistikk",
    "research": "Spørsmål om forskningsfunn",
}


def answer_to_dict(answer: Answer, index: Index) -> dict[str, Any]:
    return {
        "question": answer.question,
        "answer": answer.text,
        "abstained": answer.abstained,
        "reason": answer.reason,
        "confidence": answer.confidence,
        "question_type": answer.question_type.value,
        "language": answer.language,
        "provisions": list(answer.provisions),
        "note": answer.note,
        "sections": [to_jsonable(section) for section in answer.sections],
        "citations": [cited(index, c) for c in answer.citations],
        "sources": [hit_to_dict(h, index.source_of(h.passage)) for h in answer.sources],
    }


def cited(index: Index, citation: Citation) -> dict[str, Any]:
    """A citation of an answer, with its passage's text and OCR flag."""
    passage = index.passage(citation.passage_id)
    return citation_to_dict(citation, passage.text, ocr=passage.ocr)
