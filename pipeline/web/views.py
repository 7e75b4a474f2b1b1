"""The view records the pages hand to their templates: source cards and the parts of an answer.

Document text reaches them only as escaped markup from `pipeline.web.render`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from markupsafe import Markup, escape

from pipeline.answer import statute_label
from pipeline.errors import NotFoundError
from pipeline.model import Answer, AnswerSection, Citation, Hit, Passage, Supersession
from pipeline.web import render
from pipeline.web.state import Loaded


def linkable(loaded: Loaded) -> render.LinkTarget:
    """References that can link to a § page: a § of an act whose text is in the corpus."""
    from pipeline.legal import ACT_DOC_IDS

    present = {act for act, doc_id in ACT_DOC_IDS.items() if doc_id in loaded.index.documents}
    return lambda ref: bool(ref.section) and ref.act in present


@dataclass(frozen=True, slots=True)
class SupersededView:
    """What the card of a superseded citation says: the rule as the statute states it now."""

    reason: str
    current: str  # the statute's sentence, verbatim
    label: str  # "sosialtjenesteloven § 35 annet ledd"
    url: str  # the § page of the statute passage (its place in the document if it has no §)
    since: str  # "1. juli 2024", or "" when the corpus does not say


@dataclass(frozen=True, slots=True)
class SourceView:
    """One source card: where a passage comes from, an excerpt, and links."""

    number: int
    passage_id: str
    title: str
    kind: str
    year: int | None
    where: str
    section: str
    page: int | None
    url: str
    excerpt: Markup
    citation: str = ""
    related: tuple[tuple[str, str], ...] = ()  # (label, url) of the current statute text
    superseded: SupersededView | None = None
    in_force: str = ""  # statute text: "1. juli 2024", when its § was last amended in force
    ocr: bool = False  # the passage's text was read by OCR from a page image


@dataclass(frozen=True, slots=True)
class SectionView:
    heading: str  # "" for an answer that is not split into sections
    html: Markup


def citation_view(loaded: Loaded, number: int, citation: Citation) -> SourceView:
    """The card of the cited passage, with the quote marked, a citation text and the law."""
    index = loaded.index
    passage = index.passage(citation.passage_id)
    related = []
    for pid in citation.related_law:
        statute = index.passage(pid)
        related.append((statute_label(index, pid), render.document_url(statute.doc_id, pid)))
    excerpt = render.quote_excerpt(passage.text, citation.quote_start, citation.quote_end)
    text = render.citation_text(citation.title, citation.year, citation.section,
                                citation.locator, citation.page, citation.quote)  # fmt: skip
    superseded = superseded_view(loaded, citation.superseded) if citation.superseded else None
    if superseded is not None:
        text += f" (Utdatert. Gjeldende regel: {superseded.label or superseded.current}.)"
    card = passage_view(loaded, number, passage, excerpt)
    in_force = render.norwegian_date(citation.in_force)
    return replace(card, citation=text, related=tuple(related), superseded=superseded,
                   in_force=in_force)  # fmt: skip


def superseded_view(loaded: Loaded, supersession: Supersession) -> SupersededView:
    from pipeline.legal import provision_of

    index = loaded.index
    label, url = supersession.label, ""
    try:
        statute = index.passage(supersession.by)
    except NotFoundError:  # an index older than the answer's data: show the rule unlinked
        statute = None
    if statute is not None:
        label = label or statute_label(index, statute.passage_id)
        held = provision_of(statute)
        url = (render.ref_url(held[0]) if held
               else render.document_url(statute.doc_id, statute.passage_id))  # fmt: skip
    since = render.norwegian_date(supersession.since)
    return SupersededView(supersession.reason, supersession.current, label, url, since)


def passage_view(loaded: Loaded, number: int, passage: Passage, excerpt: Markup) -> SourceView:
    source = loaded.index.source_of(passage)
    return SourceView(
        number,
        passage.passage_id,
        source.title,
        source.kind.value,
        source.year,
        render.where(passage.section, passage.locator),
        " › ".join(passage.section[1:]),
        passage.page_start,
        render.document_url(passage.doc_id, passage.passage_id),
        excerpt,
        ocr=passage.ocr,
    )


def hit_view(loaded: Loaded, number: int, hit: Hit) -> SourceView:
    return passage_view(loaded, number, hit.passage, escape(render.preview(hit.passage.text)))


def answer_context(loaded: Loaded, answer: Answer) -> dict[str, Any]:
    """What the Spør page shows of an answer: its sections, its citations and other hits.

    An answer without sections is shown as one, from its text (or, lacking a text, from
    its quotes, each followed by its number).
    """
    text = answer.text or " ".join(f"{c.quote} [{n}]" for n, c in enumerate(answer.citations, 1))
    sections = render.ordered_sections(answer.sections) or [AnswerSection("", text, ())]
    cited = {c.passage_id for c in answer.citations}
    others = [h for h in answer.sources if h.passage.passage_id not in cited]
    return {
        "answer": answer,
        "sections": [
            SectionView(s.heading, render.answer_html(s.text, answer.citations)) for s in sections
        ],
        "question_type": render.QUESTION_TYPE_LABELS.get(answer.question_type.value, ""),
        "citations": [citation_view(loaded, n, c) for n, c in enumerate(answer.citations, start=1)],
        "sources": [hit_view(loaded, n, h) for n, h in enumerate(others, start=1)],
    }
