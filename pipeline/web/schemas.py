"""Request and response models of the JSON API (they are also its OpenAPI schema)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from pipeline.export import Delimiter
from pipeline.model import QuestionType
from pipeline.web.limits import LIMITS

YEAR_RE = re.compile(r"^\s*(\d{4})\s*(?:[-–]\s*(\d{4})\s*)?$")


def not_blank(what: str) -> BeforeValidator:
    """Refuse an empty or blank text, before the length check, with what to write instead.

    Messages here end a sentence that starts with the field's name (see
    `pipeline.web.errors.validation_message`): "«question» er tomt; skriv et spørsmål".
    """

    def check(value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError(f"er tomt; skriv {what}")
        return value

    return BeforeValidator(check)


Question = Annotated[
    str, Field(min_length=1, max_length=LIMITS.question_chars), not_blank("et spørsmål")
]
Name = Annotated[str, Field(max_length=LIMITS.name_chars)]  # a document kind or a theme
Kinds = Annotated[list[Name], Field(max_length=LIMITS.kinds)]
Years = Annotated[str, Field(max_length=LIMITS.year_chars)]
Ref = Annotated[str, Field(max_length=LIMITS.ref_chars)]
PathId = Annotated[str, Path(max_length=LIMITS.id_chars)]  # a doc_id or passage_id in a path


def parse_years(value: str | None) -> tuple[int, int] | None:
    """ "2021" → (2021, 2021); "2018-2022" → (2018, 2022); a malformed value raises ValueError."""
    if value is None or not value.strip():
        return None
    match = YEAR_RE.match(value)
    if match is None:
        raise ValueError(
            f"er ikke et år eller et tidsrom («{value}»); skriv for eksempel 2021 eller 2018-2022"
        )
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if low > high:
        raise ValueError(f"går baklengs («{value}»); skriv det første året først, som 2018-2022")
    return low, high


class Open(BaseModel):
    """A response record: documented fields, and any field the library adds passes through."""

    model_config = ConfigDict(extra="allow")


# Requests ----------------------------------------------------------------------------------


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: Question = Field(examples=["Hvor lenge kan programmet vare?"])
    kinds: Kinds = Field(default_factory=list, description="Document kinds, e.g. law, report.")
    theme: Name | None = Field(None, description="barriers, organisation, youth or funding.")
    years: tuple[int, int] | None = Field(None, description="[from, to], both included.")

    @field_validator("years")
    @classmethod
    def years_in_order(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and value[0] > value[1]:
            raise ValueError(
                f"går baklengs ({value[0]} er etter {value[1]}); skriv det første året først"
            )
        return value


class SearchParams(BaseModel):
    q: Question = Field(description="A question or search terms.")
    k: int = Field(10, ge=1, le=LIMITS.k, description="How many passages.")
    kind: Kinds = Field(default_factory=list, description="Document kind (repeatable).")
    theme: Name | None = Field(
        None, description="Only passages with this theme (as coders reviewed it, if so)."
    )
    year: Years | None = Field(None, description='A year or a range: "2021", "2018-2022".')
    ref: Ref | None = Field(None, description='Only passages holding or citing a §: "sotjl § 35".')

    @field_validator("year")
    @classmethod
    def year_readable(cls, value: str | None) -> str | None:
        parse_years(value)
        return value


class TextIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str | int | None = None
    text: Annotated[
        str, Field(min_length=1, max_length=LIMITS.classify_chars), not_blank("en tekst")
    ]

    @field_validator("id", mode="before")
    @classmethod
    def id_short(cls, value: object) -> object:
        # Checked before the union, which would report the length once per member.
        if isinstance(value, str) and len(value) > LIMITS.id_chars:
            raise ValueError(f"kan ha høyst {LIMITS.id_chars} tegn")
        return value


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[TextIn] = Field(min_length=1, max_length=LIMITS.classify_texts)
    explain: bool = Field(False, description="Add the terms that raised each theme.")


class ExportParams(BaseModel):
    format: Literal["jsonl", "csv", "qdpx", "qdc"] = Field(
        "jsonl",
        description="qdpx: a REFI-QDA project (NVivo, ATLAS.ti, MAXQDA, QualCoder); "
        "qdc: its codebook.",
    )
    theme: Name | None = None
    delimiter: Delimiter = Field(
        ",", description='CSV only: "," (the default), ";" for Norwegian Excel, or "tab".'
    )


class RefParams(BaseModel):
    ref: Annotated[
        str,
        Field(min_length=1, max_length=LIMITS.ref_chars, examples=["sotjl § 35"]),
        not_blank("en paragraf, for eksempel «sotjl § 35»"),
    ]


# Responses ---------------------------------------------------------------------------------


class PlaceOut(Open):
    """Where a passage is and what it is from (`pipeline.serialize.place`)."""

    passage_id: str
    doc_id: str
    title: str
    kind: str
    year: int | None
    section: str
    locator: str
    page: int | None
    ocr: bool = Field(False, description="Read by OCR from a page image: check the quote.")


class HitOut(PlaceOut):
    score: float
    legal_refs: list[str]
    themes: dict[str, float]
    text: str


class SupersessionOut(Open):
    """The current statute text that states a report's rule differently."""

    by: str = Field(description="Passage id of the statute passage stating the rule now.")
    current: str = Field(description="The statute's sentence, verbatim.")
    since: str | None = Field(description="ISO date the § was last amended in force, if known.")
    reason: str = Field(description="What the report says and what the law says now (nb).")
    label: str = Field("", description='The provision: "sosialtjenesteloven § 35 annet ledd".')


class CitationOut(PlaceOut):
    quote: str
    quote_start: int
    quote_end: int
    text: str
    score: float
    legal_refs: list[str]
    related_law: list[str]
    superseded: SupersessionOut | None = Field(
        None, description="Set when the current law in the corpus states the rule differently."
    )
    in_force: str | None = Field(
        None, description="Statute text: ISO date its § was last amended in force, if known."
    )


class SectionOut(Open):
    heading: str = Field(description='"Regelverket" (the statutes) or "Fra rapportene".')
    text: str = Field(description='Its sentences, each followed by " [n]".')
    citations: list[int] = Field(description="The numbers (1-based) of the citations it quotes.")


class AnswerOut(Open):
    question: str
    answer: str = Field(description='Every section\'s text in order; sentences end in " [n]".')
    abstained: bool
    reason: str = Field("", description="Why it abstained, in Norwegian; empty otherwise.")
    confidence: float = Field(description="Probability that the sources answer the question.")
    question_type: QuestionType = Field(description="What the question asks for.")
    language: str = Field(description="The question's language: nb, nn or en.")
    provisions: list[str] = Field(description='Provisions the question is about: "sotjl § 35".')
    note: str = Field("", description="A notice to show above the answer, in Norwegian.")
    sections: list[SectionOut]
    citations: list[CitationOut]
    sources: list[HitOut]


class SearchOut(Open):
    query: str
    count: int
    hits: list[HitOut]


class DocumentSummary(Open):
    doc_id: str
    title: str
    kind: str
    year: int | None
    publisher: str
    official_id: str
    passages: int
    pages: int | None


class BlockOut(Open):
    text: str
    role: str
    page: int | None
    section: list[str]
    char_start: int
    char_end: int


class DocumentOut(DocumentSummary):
    blocks: list[BlockOut]
    passage_ids: list[str]


class DocumentsOut(Open):
    documents: list[DocumentSummary]


class RefPassage(Open):
    passage_id: str
    doc_id: str
    title: str
    kind: str
    year: int | None
    section: list[str]
    locator: str
    page: int | None
    ocr: bool = Field(False, description="Read by OCR from a page image: check the quote.")
    statute: bool = Field(description="True for the text of the § itself.")
    refs: list[str]
    text: str


class RefsOut(Open):
    ref: str
    passages: list[RefPassage]


class ThemesOut(Open):
    id: str | int | None
    themes: dict[str, float]
    labels: list[str]
    explanation: dict[str, list[str]] | None = None


class ClassifyOut(Open):
    results: list[ThemesOut]


class ErrorOut(BaseModel):
    error: str


class WarmUpOut(Open):
    total: int
    done: int
    finished: bool
    error: str


class HealthOut(Open):
    status: str
    documents: int
    passages: int
    warm_up: WarmUpOut | None = None
