"""Search over the statute index with the real encoder: ranking, the § path, filters, input."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pipeline.errors import LegalRefError, SearchError, ThemeError
from pipeline.model import Filters, Hit
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


def test_a_theme_filter_counts_reviewed_passages_under_their_coders_themes(
    statute_index: Path,
) -> None:
    index = Index(statute_index)
    everything = Filters(theme="funding")
    model_says = {h.passage.passage_id for h in index.search("stønad", k=100, filters=everything)}
    rejected = next(iter(sorted(model_says)))  # a coder says: not about funding
    added = next(p for p in index.passages if p.passage_id not in model_says and p.doc_id == "sotjl")
    index.reviewed_themes = lambda: {rejected: ("organisation",), added.passage_id: ("funding",)}
    found = {h.passage.passage_id for h in index.search("stønad", k=100, filters=everything)}
    assert found == model_says - {rejected} | {added.passage_id}
    # The other filters still hold for a reviewed passage: the act's is no regulation.
    regulation = Filters(kinds=("regulation",), theme="funding")
    assert added.passage_id not in {
        h.passage.passage_id for h in index.search("stønad", k=100, filters=regulation)
    }
    # Without a theme filter reviews change nothing.
    unfiltered = [h.passage.passage_id for h in index.search("stønad", k=100)]
    assert unfiltered == [h.passage.passage_id for h in Index(statute_index).search("stønad", k=100)]


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


def test_settings_choose_the_retrievers_and_fusion(statute_index: Path) -> None:
    from pipeline.settings import SearchSettings

    grams = Index(statute_index, settings=SearchSettings(retrievers=("charngram",), weights=(1.0,)))
    hits = grams.search("kvalifiseringsstønad fravær reduksjon", k=5)
    assert hits and all(name == "charngram" for h in hits for name, _ in h.retrieved)
    convex = Index(
        statute_index,
        settings=SearchSettings(
            retrievers=("dense", "bm25"), weights=(1.0, 1.0), fusion="convex"
        ),
    )
    assert "§ 32" in [h.passage.locator for h in convex.search("Hvor lenge kan programmet vare?")]


def test_a_reranker_reorders_the_fused_candidates_but_not_the_named_section(
    statute_index: Path,
) -> None:
    class Shortest:
        name = "test/shortest"
        depth = 20

        def rerank(self, question: str, candidates: Sequence[Hit]) -> list[float]:
            return [-float(len(h.passage.text)) for h in candidates]

    plain = Index(statute_index).search("stønad", k=20)
    reranked = Index(statute_index, reranker=Shortest()).search("stønad", k=20)
    assert {h.passage.passage_id for h in reranked} == {h.passage.passage_id for h in plain}
    lengths = [len(h.passage.text) for h in reranked]
    assert lengths == sorted(lengths) and [h.rank for h in reranked] == list(range(1, 21))
    named = Index(statute_index, reranker=Shortest()).search("sotjl § 35", k=5)
    assert named[0].passage.locator == "§ 35" and named[0].via_reference


def test_the_shipped_reranker_is_used_for_its_own_encoder_only(statute_index: Path) -> None:
    from pipeline.rerank import FEATURES, FeatureReranker, candidate_features
    from pipeline.settings import SearchSettings

    index = Index(statute_index)
    assert isinstance(index.reranker, FeatureReranker)
    hits = index.search("Kan jeg få stønad når jeg er syk?", k=10)
    assert hits and "§" in " ".join(h.passage.locator for h in hits[:3])
    rows = candidate_features(index, "Hva sier § 35?", hits)
    assert rows.shape == (len(hits), len(FEATURES))
    off = Index(statute_index, settings=SearchSettings(reranker="none"))
    assert off.reranker is None
