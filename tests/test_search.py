"""Search over the statute index with the real encoder: ranking, the § path, filters, input."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import LegalRefError, SearchError, ThemeError
from pipeline.model import Filters
from pipeline.search import Index


@pytest.fixture(scope="module")
def index(statute_index: Path) -> Index:
    return Index(statute_index)


@pytest.mark.parametrize(
    ("question", "locator"),
    [
        ("Hvor lenge kan programmet vare?", "§ 32"),
        ("How long can the qualification programme last?", "§ 32"),
        ("kvalifiseringsstønad fravær reduksjon", "§ 36"),
    ],
)
def test_paraphrased_questions_find_the_provision(
    index: Index, question: str, locator: str
) -> None:
    hits = index.search(question, k=5)
    assert locator in [h.passage.locator for h in hits], [h.passage.locator for h in hits]


def test_a_named_section_comes_first(index: Index) -> None:
    first, *rest = index.search("sotjl § 35", k=5)
    assert (
        first.passage.doc_id == "sotjl" and first.passage.locator == "§ 35" and first.via_reference
    )
    assert any(h.passage.doc_id == "kvp-forskrift" and h.via_reference for h in rest)


def test_filters(index: Index) -> None:
    hits = index.search("fravær", k=10, filters=Filters(kinds=("regulation",)))
    assert hits and all(h.passage.doc_id == "kvp-forskrift" for h in hits)
    cited = index.search("sykdom", k=10, filters=Filters(ref="sotjl § 35"))
    assert cited and all(
        h.passage.locator == "§ 35" or any(r.key == "sotjl § 35" for r in h.passage.legal_refs)
        for h in cited
    )
    funding = index.search("stønad", k=10, filters=Filters(theme="funding"))
    assert funding and all(dict(h.passage.themes)["funding"] >= 0.5 for h in funding)
    assert (
        index.search("stønad", filters=Filters(years=(2020, 2021))) == []
    )  # statutes carry no year


@pytest.mark.parametrize(
    ("query", "error", "message"),
    [
        ("", SearchError, "the question is empty"),
        ("   ?!? ...", SearchError, "has no words or numbers"),
    ],
)
def test_bad_questions(index: Index, query: str, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        index.search(query)


def test_bad_filters_and_k(index: Index) -> None:
    with pytest.raises(
        SearchError, match="unknown document kind 'roman'; valid kinds are law, regulation"
    ):
        index.search("stønad", filters=Filters(kinds=("roman",)))
    with pytest.raises(ThemeError, match="valid themes are barriers, organisation, youth, funding"):
        index.search("stønad", filters=Filters(theme="helse"))
    with pytest.raises(LegalRefError, match="unknown act"):
        index.search("stønad", filters=Filters(ref="xyzloven § 3"))
    with pytest.raises(SearchError, match="k must be between 1 and 100, not 0"):
        index.search("stønad", k=0)


def test_a_very_long_question_still_works(index: Index) -> None:
    question = "Hvor lenge kan kvalifiseringsprogrammet vare? " * 220
    assert len(question) > 10_000
    assert index.search(question, k=3)
