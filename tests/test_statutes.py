"""Statute structure: the ledd of a sentence in a §, and the dates in Lovdata's notes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.extract import extract_file
from pipeline.model import Document, Kind, Passage
from pipeline.segment import segment_all
from pipeline.statutes import in_force_dates, sentence_locator


@pytest.fixture(scope="module")
def passages(statute_documents: dict[str, Document]) -> list[Passage]:
    return list(segment_all(statute_documents.values()))


def holding(passages: list[Passage], doc_id: str, locator: str) -> Passage:
    return next(p for p in passages if (p.doc_id, p.locator) == (doc_id, locator))


def test_sentence_locator_counts_ledd(passages: list[Passage]) -> None:
    section_35 = holding(passages, "sotjl", "§ 35")
    assert sentence_locator(section_35, 0) == "§ 35"  # the heading is no ledd
    for words, ledd in [("For den tiden", "første"), ("2,041", "annet"), ("260", "tredje"), ("barnetillegg", "fjerde")]:  # fmt: skip
        start = section_35.text.index(words)
        assert sentence_locator(section_35, start) == f"§ 35 {ledd} ledd"
    child = holding(passages, "kvp-forskrift", "§ 9")
    assert sentence_locator(child, child.text.index("nødvendig tilsyn")) == "§ 9 første ledd"
    assert sentence_locator(child, child.text.index("Retten til fri")) == "§ 9 annet ledd"
    single = holding(passages, "sotjl", "§ 31")
    assert sentence_locator(single, single.text.index("seks måneder")) == "§ 31"
    split = holding(passages, "sotjl", "§ 13 annet ledd")
    assert sentence_locator(split, 10) == "§ 13 annet ledd"


def test_in_force_dates_take_the_latest_date_of_the_note(
    statute_documents: dict[str, Document],
) -> None:
    law = in_force_dates(statute_documents["sotjl"])
    assert law["sotjl § 35"] == "2024-07-01"
    assert law["sotjl § 32"] == "2019-01-01"
    assert law["sotjl § 9"] == "2022-08-01"
    assert "sotjl § 31" not in law  # no note
    assert "sotjl § 2" not in law  # a note with no date
    assert in_force_dates(statute_documents["kvp-forskrift"])["kvp-forskriften § 3"] == "2024-01-01"


def test_in_force_dates_read_month_abbreviations(tmp_path: Path) -> None:
    (tmp_path / "lov.md").write_text(
        "# Lov\n\n#### § 1. Første\n\nTekst.\n\n"
        "*Endret ved lover 1 sept 2020 nr. 1 (i kraft 1 sept 2020), 3 mars 2021 nr. 2 (ikr. 15. mars 2021).*\n\n"
        "#### § 2. Andre\n\nTekst.\n\n*Endret ved lov 1 des 2010 nr. 3 (ikr. 1 des 2010).*\n",
        encoding="utf-8",
    )
    document = extract_file(tmp_path / "lov.md")
    as_act = replace(document, source=replace(document.source, doc_id="sotjl", kind=Kind.LAW))
    assert in_force_dates(as_act) == {"sotjl § 1": "2021-03-15", "sotjl § 2": "2010-12-01"}
    assert in_force_dates(document) == {}  # not an act of the corpus
