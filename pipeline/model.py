"""The shared data model: frozen records that every stage reads and writes.

Provenance is an invariant, not a nicety: for every block,
``document.text[block.char_start:block.char_end] == block.text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path


class Kind(StrEnum):
    """What kind of text a document is; drives citation style and filters."""

    LAW = "law"
    REGULATION = "regulation"
    CIRCULAR = "circular"
    REPORT = "report"
    THESIS = "thesis"
    AUDIT = "audit"
    OTHER = "other"


STATUTE_KINDS = frozenset({Kind.LAW, Kind.REGULATION})  # the act and the regulation


class Role(StrEnum):
    """What a block is on the page; only body roles become search passages."""

    HEADING = "heading"
    PARAGRAPH = "paragraph"
    LIST_ITEM = "list_item"
    TABLE = "table"
    CAPTION = "caption"
    FIGURE = "figure"  # text drawn inside a chart: axis values, legend labels
    FOOTNOTE = "footnote"
    TOC = "toc"
    NOTE = "note"  # editorial notes such as a statute's amendment history


BODY_ROLES = frozenset({Role.HEADING, Role.PARAGRAPH, Role.LIST_ITEM, Role.TABLE})

# The research themes of models/themes/CODEBOOK.md. A passage has a theme when the calibrated
# probability reaches the threshold: p ≥ 0.5 keeps one meaning everywhere (filters, pages,
# exports, metrics); per-theme thresholds gained only ~0.01 F1 in cross-validation.
THEMES = ("barriers", "organisation", "youth", "funding")
THEME_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True)
class Source:
    """One corpus document's provenance: a manifest entry, or what was inferred from the file."""

    doc_id: str
    path: Path
    kind: Kind
    title: str
    publisher: str = ""
    year: int | None = None
    official_id: str = ""
    origin: str = ""
    short: str = ""
    version: str = ""
    license: str = ""
    note: str = ""
    inferred: bool = False  # True when no manifest entry exists for the file


@dataclass(frozen=True, slots=True)
class RawBlock:
    """A block as a format extractor reads it, before offsets and sections are assigned.

    ``level`` is the heading depth where the format knows it (Markdown ``#``, HTML ``h2``,
    a numbered heading "1.2"); 0 means "nest below the last numbered heading".
    """

    text: str
    role: Role
    page: int | None = None
    level: int = 0
    rows: tuple[tuple[str, ...], ...] = ()
    label: str = ""  # a footnote's number, a list item's bullet
    ocr: bool = False  # read by OCR from a page image (a PDF page without a text layer)


@dataclass(frozen=True, slots=True)
class Furniture:
    """A line removed from the text because it is page furniture, kept as metadata."""

    text: str
    kind: str  # "header", "footer" or "page_number"
    page: int | None = None


@dataclass(frozen=True, slots=True)
class Repair:
    """One change made to the text: what it was and what it became."""

    # "hyphenation", "hyphen_kept", "footnote_marker", "ligature", "encoding", "section_sign"
    kind: str
    before: str
    after: str
    page: int | None = None


@dataclass(frozen=True, slots=True)
class ExtractionReport:
    """What the extractor removed and repaired; shown by `kvp extract`."""

    removed: tuple[Furniture, ...] = ()
    repairs: tuple[Repair, ...] = ()
    warnings: tuple[str, ...] = ()
    page_count: int | None = None
    pages_without_text: tuple[int, ...] = ()  # no text layer, whether or not OCR read them
    ocr_pages: tuple[int, ...] = ()  # pages whose text was read by OCR

    def count(self, kind: str) -> int:
        """How many removals or repairs of one kind were made."""
        return sum(1 for r in self.removed if r.kind == kind) + sum(
            1 for r in self.repairs if r.kind == kind
        )


@dataclass(frozen=True, slots=True)
class RawDocument:
    """A format extractor's output: blocks in reading order plus its report."""

    blocks: tuple[RawBlock, ...]
    report: ExtractionReport = field(default_factory=ExtractionReport)
    metadata: tuple[tuple[str, str], ...] = ()  # e.g. a title read from the file itself


@dataclass(frozen=True, slots=True)
class Block:
    """A located block of clean text in a Document."""

    text: str
    role: Role
    page: int | None
    section: tuple[str, ...]
    char_start: int
    char_end: int
    level: int = 0
    rows: tuple[tuple[str, ...], ...] = ()
    label: str = ""
    ocr: bool = False  # read by OCR from a page image


@dataclass(frozen=True, slots=True)
class Document:
    """A Source with its clean text and the blocks that make it up."""

    source: Source
    text: str
    blocks: tuple[Block, ...]
    content_hash: str
    report: ExtractionReport

    @property
    def doc_id(self) -> str:
        return self.source.doc_id


@dataclass(frozen=True, slots=True)
class LegalRef:
    """A normalised reference to a provision: act, §, ledd, bokstav, punktum.

    ``act`` is a canonical short name ("sotjl", "kvp-forskriften", "nav-loven",
    "r35-00" for the circular); ``section`` is the § as written in the act ("35", "14 a").
    ``char_start``/``char_end`` locate ``raw`` in the passage text.
    """

    act: str
    section: str = ""
    ledd: int | None = None
    bokstav: str = ""
    punktum: int | None = None
    point: str = ""  # a circular's numbered point, e.g. "4.29.1.3"
    raw: str = ""
    char_start: int = 0
    char_end: int = 0

    @property
    def key(self) -> str:
        """The provision without its pinpoint: "sotjl § 35", "r35-00 pkt. 4.29"."""
        if self.point:
            return f"{self.act} pkt. {self.point}"
        return f"{self.act} § {self.section}" if self.section else self.act


@dataclass(frozen=True, slots=True)
class Passage:
    """A citable unit of a document: never across two sections or two §§.

    ``text == document.text[char_start:char_end]`` always holds. ``locator`` pins a statute
    passage down to its § and ledd ("§ 35 annet ledd"); it is empty for other documents.
    """

    passage_id: str
    doc_id: str
    text: str
    section: tuple[str, ...]
    char_start: int
    char_end: int
    page_start: int | None = None
    page_end: int | None = None
    role: Role = Role.PARAGRAPH
    locator: str = ""
    legal_refs: tuple[LegalRef, ...] = ()
    themes: tuple[tuple[str, float], ...] = ()  # (theme, probability), every theme
    # Sentence offsets in `text`, per paragraph, headings left out: what answers quote.
    sentences: tuple[tuple[int, int], ...] = ()
    ocr: bool = False  # some of its text was read by OCR from a page image: check the quote

    def has_theme(self, theme: str) -> bool:
        return dict(self.themes).get(theme, 0.0) >= THEME_THRESHOLD

    @property
    def labels(self) -> tuple[str, ...]:
        """The themes the passage has, in codebook order."""
        return tuple(theme for theme in THEMES if self.has_theme(theme))


@dataclass(frozen=True, slots=True)
class Filters:
    """Restrictions on what a search may return; empty means no restriction."""

    kinds: tuple[str, ...] = ()
    theme: str | None = None
    years: tuple[int, int] | None = None
    ref: str | None = None


NO_FILTERS = Filters()


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved passage with its scores: fused (the ranking) and each retriever's own."""

    passage: Passage
    score: float
    retrieved: tuple[tuple[str, float], ...] = ()  # (retriever, its score) where it found it
    rank: int = 0
    via_reference: bool = False  # found because the question names the § it holds or cites

    def retriever_score(self, name: str) -> float:
        return dict(self.retrieved).get(name, 0.0)

    @property
    def lexical(self) -> float:
        return self.retriever_score("bm25")

    @property
    def dense(self) -> float:
        return self.retriever_score("dense")


@dataclass(frozen=True, slots=True)
class Supersession:
    """A report's statement of a rule that the current statute text in the corpus states
    differently (another amount in G, age limit, duration, number of days or hours)."""

    by: str  # passage id of the statute passage that states the rule now
    current: str  # the statute's sentence, verbatim from that passage
    since: str | None  # ISO date the § was last amended in force, where the corpus says
    reason: str  # in Norwegian: what the report says and what the law says now
    label: str = ""  # how a caseworker names the provision: "sosialtjenesteloven § 35 annet ledd"


@dataclass(frozen=True, slots=True)
class Citation:
    """A quote that supports an answer: verbatim from its passage, with offsets into it."""

    passage_id: str
    doc_id: str
    title: str
    kind: Kind
    section: tuple[str, ...]
    locator: str
    page: int | None
    quote: str
    quote_start: int  # offsets of the quote in the passage text
    quote_end: int
    score: float
    year: int | None = None
    legal_refs: tuple[LegalRef, ...] = ()
    related_law: tuple[str, ...] = ()  # passage ids of the current statute text on the same §
    superseded: Supersession | None = None  # set when the current law states it differently
    in_force: str | None = None  # statute text: ISO date its § was last amended in force


class QuestionType(StrEnum):
    """What a question asks for; rule questions are answered from the statutes first."""

    RULE = "rule"  # what the act or regulation says
    PRACTICE = "practice"  # how offices work with the programme
    STATISTIC = "statistic"  # a number reported somewhere
    RESEARCH = "research"  # what a study found


RULES_HEADING = "Regelverket"
REPORTS_HEADING = "Fra rapportene"


@dataclass(frozen=True, slots=True)
class AnswerSection:
    """One part of an answer: its heading, its text, and the citations (1-based) it quotes."""

    heading: str
    text: str
    citations: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """An extractive answer with its citations, or an honest abstention with the nearest sources.

    `text` is every section's text in order; `sections` keeps them apart ("Regelverket" first,
    then "Fra rapportene") with the numbers of the citations each one quotes.
    """

    question: str
    text: str
    abstained: bool
    confidence: float  # probability that the sources answer the question (calibrated)
    citations: tuple[Citation, ...]
    sources: tuple[Hit, ...]
    reason: str = ""  # why it abstained, in the interface's language
    question_type: QuestionType = QuestionType.RULE
    language: str = "nb"  # nb, nn or en: the language the question is written in
    provisions: tuple[str, ...] = ()  # provision keys the question is about ("sotjl § 35")
    sections: tuple[AnswerSection, ...] = ()
    note: str = ""  # e.g. that the sources are in Norwegian when the question is not


@dataclass(frozen=True, slots=True)
class Failure:
    """A file a batch could not process, by name and reason."""

    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class CorpusScan:
    """The documents a corpus folder holds, and what could not be taken from it."""

    sources: tuple[Source, ...]
    failures: tuple[Failure, ...] = ()
    notices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExtractionBatch:
    """Documents extracted from many files, and the files that failed, by name and reason."""

    documents: tuple[Document, ...]
    failures: tuple[Failure, ...] = ()


@dataclass(frozen=True, slots=True)
class Support:
    """A passage that answers a training question, and the verbatim words that do."""

    passage_id: str
    quote: str


@dataclass(frozen=True, slots=True)
class TrainingQuestion:
    """A question of the retrieval training data (`pipeline.training`, models/retrieval/)."""

    qid: str
    question: str
    answerable: bool
    support: tuple[Support, ...]
    persona: str
    style: str
    lang: str
    kind: str
    split: str
    note: str = ""

    @property
    def passage_ids(self) -> tuple[str, ...]:
        return tuple(s.passage_id for s in self.support)


def to_jsonable(value: object) -> object:
    """A record as plain JSON types: dataclasses to dicts, enums to values, paths to strings."""
    if hasattr(value, "__dataclass_fields__"):
        return {name: to_jsonable(getattr(value, name)) for name in value.__dataclass_fields__}
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [to_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_jsonable(item) for key, item in value.items()}
    return value
