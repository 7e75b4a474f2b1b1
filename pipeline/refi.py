"""The corpus and its coding as a REFI-QDA project, and a project's coding back into the store.

Export: every document as a text source; the four themes and the researchers' own codes as
the codebook; every passage as codings — each coder's current review gives one coding per
theme with that coder as its user, a passage no one has reviewed gets the model's themes
with the user "modell" — and every coded span with its coder and memo. A passage is the
stretch `char_start..char_end` of its document's clean text, so a QDA tool shows it in place.

Import: codings of people (not of "modell") on sources whose text is a document's text as the
index has it. A coding of a whole passage with a theme is that coder's review of it; any
other coding inside one passage is a coded span. What cannot be placed (a source whose text
differs, a selection across passages) is counted and named, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.labels import MODEL_CODER, LabelStore, text_hash
from pipeline.model import THEMES, Passage
from pipeline.qda import QdaCode, QdaCoding, QdaProject, QdaSource
from pipeline.qda_read import read_qdpx
from pipeline.review import Placed, ReviewStatus

if TYPE_CHECKING:
    from pipeline.search import Index

# The codebook's short definitions (CODEBOOK.md), as a QDA tool shows them beside a code.
THEME_DESCRIPTIONS = {
    "barriers": "Barrierer: det som hindrer folk i å komme inn i, fullføre eller ha nytte av "
    "KVP, eller som gjør at NAV-kontor ikke bruker programmet.",
    "organisation": "Organisering: hvordan KVP-arbeidet er organisert og utført (kontor, "
    "roller, rutiner, saksbehandling, oppfølging, ledelse, samarbeid).",
    "youth": "Unge: unge som tema – ungdom, aldersgrenser, unges situasjon og oppfølging.",
    "funding": "Økonomi: finansiering, budsjetter, kostnader, insentiver og stønadens nivå "
    "og regler.",
}
THEME_COLOURS = {"barriers": "#B3261E", "organisation": "#0A4A7E", "youth": "#2E7D32",
                 "funding": "#B26A00"}  # fmt: skip


def codebook(own: Iterable[tuple[str, str]] = ()) -> list[QdaCode]:
    """The four themes, then the codes researchers added: (name, description)."""
    themes = [QdaCode(t, THEME_DESCRIPTIONS[t], THEME_COLOURS[t]) for t in THEMES]
    return themes + [QdaCode(name, description) for name, description in own]


def coding_project(index: Index, labels: LabelStore, placed: Sequence[Placed]) -> QdaProject:
    """The project of an index and its coding: reviewed labels per coder, the model's where
    no one has reviewed, and every coded span whose passage text is still the same."""
    passages = index.passages
    by_id = {p.passage_id: p for p in passages}
    reviewed: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for item in placed:
        if item.status is ReviewStatus.CURRENT:
            reviewed.setdefault(item.passage_id, []).append((item.review.coder, item.review.labels))
    memos = labels.memos()
    codings: dict[tuple[str, int, int, str, str], QdaCoding] = {}

    def add(coding: QdaCoding) -> None:
        codings.setdefault((coding.doc_id, coding.start, coding.end, coding.code, coding.coder),
                           coding)  # fmt: skip

    for passage in passages:
        held = reviewed.get(passage.passage_id) or [(MODEL_CODER, passage.labels)]
        for coder, themes in held:
            memo = memos.get((coder, passage.passage_id), "")
            for theme in themes:
                add(QdaCoding(passage.doc_id, passage.char_start, passage.char_end, theme, coder,
                              memo))  # fmt: skip
    for span in labels.spans():
        spanned = by_id.get(span.passage_id)
        if spanned is None or text_hash(spanned.text) != span.text_hash:
            continue  # its passage changed in a rebuild: shown on the Koding page, not exported
        add(QdaCoding(spanned.doc_id, spanned.char_start + span.start,
                      spanned.char_start + span.end, span.code, span.coder, span.memo))  # fmt: skip
    sources = tuple(QdaSource(doc_id, d.source.title, d.text)
                    for doc_id, d in index.documents.items())  # fmt: skip
    codes = codebook((c.name, c.description) for c in labels.codes())
    coders = tuple(sorted({c.coder for c in codings.values()} - {MODEL_CODER}))
    return QdaProject("KVP-kilder", sources, tuple(codes), tuple(codings.values()),
                      (*coders, MODEL_CODER))  # fmt: skip


@dataclass
class ImportReport:
    """What an import carried into the labels store, and what it could not place."""

    reviews: int = 0  # (coder, passage) theme sets stored
    spans: int = 0
    codes: int = 0  # codes added beside the themes
    coders: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one line each, to show the user


def import_project(path: Path | str, index: Index, labels: LabelStore) -> ImportReport:
    """Read a .qdpx and store its people's codings as reviews and spans (see module doc)."""
    project = read_qdpx(path)
    report = ImportReport(skipped=list(project.skipped))
    known = {c.name for c in labels.codes()}
    for code in project.codes:
        if code.name not in THEMES and code.name not in known:
            labels.add_code(code.name, "import", code.description)
            report.codes += 1
    usable: dict[str, list[Passage]] = {}
    for source in project.sources:
        document = index.documents.get(source.doc_id)
        if document is None:
            report.skipped.append(f"{source.title}: no document '{source.doc_id}' in the index")
        elif document.text != source.text:
            report.skipped.append(f"{source.title}: its text differs from the document in "
                                  "the index (changed since the export); its codings are "
                                  "left out")  # fmt: skip
        else:
            usable[source.doc_id] = index.store.passages_of_document(source.doc_id)
    themes: dict[tuple[str, str], set[str]] = {}
    passages: dict[str, Passage] = {}
    outside = 0
    for coding in project.codings:
        if coding.coder == MODEL_CODER or coding.doc_id not in usable:
            continue
        coder = coding.coder or "import"
        holder = next((p for p in usable[coding.doc_id]
                       if p.char_start <= coding.start and coding.end <= p.char_end),
                      None)  # fmt: skip
        if holder is None:
            outside += 1
            continue
        whole = (coding.start, coding.end) == (holder.char_start, holder.char_end)
        if whole and coding.code in THEMES:
            themes.setdefault((coder, holder.passage_id), set()).add(coding.code)
            passages[holder.passage_id] = holder
            if coding.memo:
                labels.write_memo(coder, holder, coding.memo)
        else:
            labels.code_span(coder, holder, coding.start - holder.char_start,
                             coding.end - holder.char_start, coding.code, coding.memo)  # fmt: skip
            report.spans += 1
    for (coder, passage_id), chosen in themes.items():
        labels.review(coder, passages[passage_id], chosen)
        report.reviews += 1
    if outside:
        report.skipped.append(f"{outside} codings run across passages or outside them; "
                              "code within one passage to bring them in")  # fmt: skip
    report.coders = sorted({coder for coder, _ in themes})
    return report
