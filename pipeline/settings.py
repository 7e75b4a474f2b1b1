"""Tunable numbers, as frozen settings objects with the measured values as defaults.

Each stage takes its settings as an argument; the index manifest records the settings it
was built and is searched with, and `benchmarks/tune_search.py` sweeps them by passing other
values — never by patching module globals. Where a default was measured, the comment says on
what (the dev half of `benchmarks/retrieval/questions.jsonl` unless told otherwise).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any, Literal, Self, get_args

from pipeline.errors import SettingsError

FusionMethod = Literal["rrf", "convex"]
RetrieverName = Literal["bm25", "dense", "charngram"]
RerankerChoice = Literal["auto", "feature", "none"]
FUSION_METHODS: tuple[str, ...] = get_args(FusionMethod)
RETRIEVER_NAMES: tuple[str, ...] = get_args(RetrieverName)
RERANKER_CHOICES: tuple[str, ...] = get_args(RerankerChoice)
LIMITS = (  # ExtractSettings' size and count limits, each at least 1
    *("docx_max_part_mib", "docx_max_total_mib", "docx_max_ratio", "docx_max_elements"),
    *("docx_max_paragraphs", "html_max_mib", "html_max_elements", "pdf_max_pages"),
    "pdf_max_page_chars",
)


@dataclass(frozen=True, slots=True)
class ExtractSettings:
    """How files are read; a change re-extracts (and re-segments) every document."""

    # PDF pages without a text layer are read by Tesseract when it is installed
    # (`pipeline.extract.pdf.ocr`); off, they are reported as unread.
    ocr: bool = True
    ocr_language: str = "nor"  # Tesseract's language data, "nor" or e.g. "nor+eng"
    ocr_dpi: int = 300  # Tesseract's advice; generated A4 pages read with 0.1 % character errors
    ocr_page_seconds: float = 60.0  # per page; a full A4 page takes about 3 s here
    ocr_max_pages: int = 200  # pages read by OCR per document; the rest are reported
    # Limits that refuse a hostile or runaway file before it costs minutes and gigabytes
    # (numbers measured on this machine; `benchmarks/bench_budget.py` runs the reported bombs).
    # DOCX sizes are the zip's declared unpacked sizes, checked before anything is unpacked:
    # python-docx holds every part in memory.
    docx_max_part_mib: int = 64  # one part unpacked; the Fafo report's body is 0.4 MiB
    docx_max_total_mib: int = 512  # the whole package unpacked, images included
    docx_max_ratio: int = 100  # unpacked/packed, parts over 1 MiB: text 4–15×, bombs 300–1000×
    docx_max_elements: int = 2_000_000  # XML elements in all parts: ~280 bytes each once parsed
    docx_max_paragraphs: int = 200_000  # body paragraphs and tables, read at ~0.5 ms each
    html_max_mib: int = 64  # the page file; 10 MiB of paragraphs took 25 s and 360 MB
    html_max_elements: int = 500_000  # BeautifulSoup takes ~1.8 KB and ~0.1 ms per element
    pdf_max_pages: int = 2000  # a 300-page report took 224 s; a hostile file has millions
    pdf_max_page_chars: int = 100_000  # a dense A4 page of 10 pt text holds ~5,600

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z]{3}(?:_[a-z]+)?(?:\+[a-z]{3}(?:_[a-z]+)?)*", self.ocr_language):
            raise SettingsError(
                f"ocr_language '{self.ocr_language}' is not a Tesseract language; give codes "
                "such as nor or nor+eng (`tesseract --list-langs` lists those installed)."
            )
        if not 70 <= self.ocr_dpi <= 600:
            raise SettingsError(f"ocr_dpi must lie between 70 and 600, not {self.ocr_dpi}.")
        if not 0 < self.ocr_page_seconds <= 3600:
            raise SettingsError(
                f"ocr_page_seconds must be above 0 and at most 3600, not {self.ocr_page_seconds}."
            )
        if self.ocr_max_pages < 0:
            raise SettingsError(f"ocr_max_pages must be 0 or more, not {self.ocr_max_pages}.")
        for name in LIMITS:
            if getattr(self, name) < 1:
                raise SettingsError(f"{name} must be 1 or more, not {getattr(self, name)}.")


@dataclass(frozen=True, slots=True)
class SegmentSettings:
    """How documents become passages; a change re-segments (and re-embeds) every document."""

    target_chars: int = 700  # a passage grows by whole blocks or sentences up to about this
    max_chars: int = 1000  # a block longer than this is split at sentence boundaries
    min_chars: int = 160  # a shorter tail is merged into the passage before it
    law_section_max: int = 1200  # a § longer than this is cited ledd by ledd


@dataclass(frozen=True, slots=True)
class SearchSettings:
    """Which retrievers run, how their rankings are fused, and the § path."""

    # Learnt on the training data's dev split (257 questions; `benchmarks/tune_search.py
    # --questions training`: a grid over methods and weights, then coordinate steps): convex
    # fusion with these weights reached MRR@10 0.654 there, against 0.606 for equal-weight RRF
    # of dense and BM25 and 0.625 for the best RRF with character n-grams.
    retrievers: tuple[RetrieverName, ...] = ("dense", "bm25", "charngram")
    weights: tuple[float, ...] = (0.75, 0.25, 0.5)  # one per retriever, in that order
    fusion: FusionMethod = "convex"
    rrf_k: int = 60  # the usual reciprocal-rank constant: dampens the head of each ranking
    candidates: int = 100  # taken from each ranking before fusion
    citing_bonus: float = 0.5  # share of the top score added to passages citing a named §
    max_query_chars: int = 2000  # the encoder reads ~512 tokens; a longer question is cut
    # "auto": the trained reranker of models/reranker/ when it was trained for this index's
    # encoder; "feature": that one, or an error; "none": fused order.
    reranker: RerankerChoice = "auto"

    def __post_init__(self) -> None:
        check_choice("fusion", self.fusion, FUSION_METHODS)
        check_choice("reranker", self.reranker, RERANKER_CHOICES)
        for name in self.retrievers:
            check_choice("retriever", name, RETRIEVER_NAMES)
        if not self.retrievers or len(set(self.retrievers)) != len(self.retrievers):
            raise SettingsError(
                f"retrievers must name each retriever once, not {list(self.retrievers)}; "
                f"valid retrievers are {', '.join(RETRIEVER_NAMES)}."
            )
        if len(self.weights) != len(self.retrievers):
            raise SettingsError(
                f"give one weight per retriever: {len(self.retrievers)} retrievers "
                f"({', '.join(self.retrievers)}) but {len(self.weights)} weights."
            )

    @property
    def weighted(self) -> tuple[tuple[RetrieverName, float], ...]:
        return tuple(zip(self.retrievers, self.weights, strict=True))


@dataclass(frozen=True, slots=True)
class AnswerSettings:
    """How answers are built from sentences, and when they abstain."""

    source_count: int = 10  # passages shown as sources
    answer_passages: int = 6  # the top passages whose sentences may answer
    provision_passages: int = 3  # statute passages added for the §§ the question is about
    max_sentences: int = 3  # a named § with nothing else asked: its opening sentences
    max_rule_sentences: int = 2  # quoted under "Regelverket"
    max_report_sentences: int = 2  # quoted under "Fra rapportene"
    max_per_passage: int = 2
    min_sentence_chars: int = 25
    # Which sentences answer, and whether to answer at all, is decided by trained models
    # (`pipeline.answer_models`) whose thresholds are chosen on the dev split, not set here.
    max_quote_chars: int = 400  # a quote with its context sentence stays readable


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything tunable, as one record for the index manifest."""

    segment: SegmentSettings = field(default_factory=SegmentSettings)
    extract: ExtractSettings = field(default_factory=ExtractSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    answer: AnswerSettings = field(default_factory=AnswerSettings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Settings from a manifest; keys it does not know are refused, missing ones default."""
        parts: dict[str, Any] = {}
        for part in fields(cls):
            kind = {
                "segment": SegmentSettings,
                "extract": ExtractSettings,
                "search": SearchSettings,
                "answer": AnswerSettings,
            }
            parts[part.name] = settings_from(kind[part.name], data.get(part.name, {}))
        return cls(**parts)


def settings_from(kind: Any, values: dict[str, Any]) -> Any:
    known = {f.name for f in fields(kind)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SettingsError(
            f"unknown {kind.__name__} keys {unknown}; valid keys are {', '.join(sorted(known))}."
        )
    tupled = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return replace(kind(), **tupled)


def check_choice(what: str, value: str, valid: tuple[str, ...]) -> None:
    if value not in valid:
        raise SettingsError(f"unknown {what} '{value}'; valid values are {', '.join(valid)}.")
