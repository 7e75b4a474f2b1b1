"""Fusion of any number of weighted rankings, and the settings that choose it."""

from __future__ import annotations

import pytest

from pipeline.errors import SettingsError
from pipeline.fusion import fuse
from pipeline.settings import SearchSettings, Settings


def test_reciprocal_rank_fusion_weights_each_ranking_by_rank() -> None:
    settings = SearchSettings(
        retrievers=("dense", "bm25"), weights=(1.0, 2.0), fusion="rrf", rrf_k=10
    )
    fused = fuse([({1: 0.9, 2: 0.8}, 1.0), ({2: 7.0, 3: 5.0}, 2.0)], settings)
    assert fused == pytest.approx({2: 1 / 12 + 2 / 11, 3: 2 / 12, 1: 1 / 11})
    assert list(fused) == [2, 3, 1]


def test_convex_fusion_normalises_each_ranking_over_its_candidates() -> None:
    settings = SearchSettings(retrievers=("dense", "bm25"), weights=(1.0, 0.5), fusion="convex")
    fused = fuse([({1: 0.9, 2: 0.7, 3: 0.5}, 1.0), ({3: 12.0, 4: 2.0}, 0.5)], settings)
    assert fused == pytest.approx({1: 1.0, 3: 0.5, 2: 0.5, 4: 0.0})
    assert next(iter(fused)) == 1


def test_three_rankings_and_an_empty_one() -> None:
    settings = SearchSettings(
        retrievers=("dense", "bm25", "charngram"), weights=(1.0, 1.0, 1.0), fusion="convex"
    )
    fused = fuse([({1: 1.0}, 1.0), ({}, 1.0), ({1: 3.0, 2: 1.0}, 1.0)], settings)
    assert fused == pytest.approx({1: 2.0, 2: 0.0})


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"fusion": "sum"}, "unknown fusion 'sum'; valid values are rrf, convex"),
        ({"retrievers": ("dense", "splade"), "weights": (1.0, 1.0)}, "unknown retriever 'splade'"),
        ({"retrievers": ("dense", "bm25"), "weights": (1.0,)}, "give one weight per retriever"),
        ({"retrievers": ("bm25", "bm25"), "weights": (1.0, 1.0)}, "name each retriever once"),
    ],
)
def test_settings_refuse_invalid_values(values: dict[str, object], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        SearchSettings(**values)  # type: ignore[arg-type]


def test_settings_round_trip_through_a_manifest_and_refuse_unknown_keys() -> None:
    settings = Settings(search=SearchSettings(fusion="rrf"))
    assert Settings.from_dict(settings.to_dict()) == settings
    assert Settings.from_dict({}) == Settings()
    with pytest.raises(SettingsError, match=r"unknown SearchSettings keys \['boost'\]"):
        Settings.from_dict({"search": {"boost": 2}})
