"""The SQLite passage store answers § lookups and filters in SQL, agreeing with the rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.legal import find_citing, parse_ref, statute_passages
from pipeline.model import Filters
from pipeline.search import Index
from pipeline.store import PassageStore


@pytest.fixture(scope="module")
def index(statute_index: Path) -> Index:
    return Index(statute_index)


@pytest.fixture(scope="module")
def store(index: Index) -> PassageStore:
    return index.store


@pytest.mark.parametrize(
    "ref",
    ["sotjl § 35", "sotjl § 29", "sotjl § 34 første ledd", "sotjl § 20 a annet ledd",
     "forskriften § 2", "kvp-forskriften § 11", "folketrygdloven § 2-5", "r35-00 pkt. 4.29"],
)  # fmt: skip
def test_provision_and_citing_agree_with_the_rules_over_every_passage(
    store: PassageStore, ref: str
) -> None:
    parsed = parse_ref(ref)
    everything = store.passages()
    assert store.provision(parsed) == statute_passages(everything, parsed)
    assert store.citing(parsed) == find_citing(everything, parsed)


def test_a_provision_holds_the_asked_ledd_only(store: PassageStore) -> None:
    whole = store.provision(parse_ref("sotjl § 20 a"))
    second = store.provision(parse_ref("sotjl § 20 a annet ledd"))
    assert len(whole) > 1 and [p.locator for p in second] == ["§ 20 a annet ledd"]


def test_filters_run_in_the_store(store: PassageStore) -> None:
    assert store.filter_rows(Filters()) is None
    regulation = store.filter_rows(Filters(kinds=("regulation",)))
    assert regulation and {store.passage(r).doc_id for r in regulation} == {"kvp-forskrift"}
    funding = store.filter_rows(Filters(theme="funding"))
    assert funding and all(store.passage(r).has_theme("funding") for r in funding)
    assert {store.passage(r).passage_id for r in funding} == {
        p.passage_id for p in store.passages_of_theme("funding")
    }
    assert store.filter_rows(Filters(years=(2020, 2021))) == set()  # statutes carry no year
    cited = store.filter_rows(Filters(ref="sotjl § 35", kinds=("law",)))
    assert cited and all(store.passage(r).doc_id == "sotjl" for r in cited)


def test_documents_and_rows(store: PassageStore) -> None:
    assert list(store.documents()) == ["kvp-forskrift", "sotjl"]
    first = store.passage(0)
    assert store.row_of(first.passage_id) == 0 and store.row_of("nope:0") is None
    own = store.passages_of_document("sotjl")
    assert [p.char_start for p in own] == sorted(p.char_start for p in own)
    assert store.document("finnes-ikke") is None
