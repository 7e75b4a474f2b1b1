"""The theme classifier's word features and the words of the text behind them."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.language import normalize_tokens
from pipeline.theme_words import (
    ANALYZERS,
    feature_spans,
    quantity_features,
    stems,
    strongest_phrases,
    word_features,
)

TEXTS = [
    "Kvalifiseringsstønaden til deltakere under 25 år er 2/3 av full stønad.",
    "NAV-kontorets KVP-veiledere mangler tid; AAP-mottakere får oppfølging.",
    "Budsjettet er kr 150 000, og 45 prosent av de unge under 30 deltok i 2021.",
    "",
]


def before(text: str) -> list[str]:
    """The features models were trained with before `pipeline.theme_words` existed."""
    plain = normalize_tokens(text, expand=False)
    return normalize_tokens(text) + [f"{a} {b}" for a, b in pairwise(plain)]


@pytest.mark.parametrize("text", TEXTS)
def test_stems_are_the_features_models_were_trained_with(text: str) -> None:
    assert sorted(stems(text)) == sorted(before(text))


@given(st.text(alphabet="abcdeføåæ -,.§0123456789AÅ", max_size=80))
def test_every_feature_has_the_span_of_its_words(text: str) -> None:
    found = list(word_features(text))
    assert sorted(f for f, _, _ in found) == sorted(before(text))
    for _, start, end in found:
        assert 0 <= start < end <= len(text)
        assert text[start:end] == text[start:end].strip()


@pytest.mark.parametrize(
    ("text", "token", "surface"),
    [
        ("Deltaker under 25 år mottar 2/3 stønad.", "‹alder≤30›", "under 25 år"),
        ("Deltaker under 25 år mottar 2/3 stønad.", "‹andel›", "2/3"),
        ("ungdom mellom 18–29 år", "‹alder≤30›", "mellom 18–29 år"),
        ("personer i alderen 18–29 år", "‹alder≤30›", "18–29 år"),
        ("unge under 30 som mottar sosialhjelp", "‹alder≤30›", "under 30"),
        ("tilbud til 25-åringer", "‹alder≤30›", "25-åring"),
        ("personer over 50 år", "‹alder>30›", "over 50 år"),
        ("lik 2,041 ganger grunnbeløpet", "‹grunnbeløp›", "2,041 ganger grunnbeløpet"),
        ("tiltaket koster kr 150 000 per år", "‹kroner›", "kr 150 000"),
        ("en ramme på 2,5 millioner kroner", "‹kroner›", "millioner kroner"),
        ("45 prosent av deltakerne", "‹prosent›", "45 prosent"),
    ],
)
def test_quantities_become_one_token_each(text: str, token: str, surface: str) -> None:
    found = {(t, text[s:e]) for t, s, e in quantity_features(text)}
    assert (token, surface) in found


@pytest.mark.parametrize("text", ["under 30 prosent av dem", "i over 40 timer", "i 2019"])
def test_other_numbers_are_not_ages(text: str) -> None:
    assert not [t for t, _, _ in quantity_features(text) if t.startswith("‹alder")]


def test_quantity_tokens_are_only_in_their_variant() -> None:
    text = TEXTS[0]
    assert not [t for t in ANALYZERS["stems"](text) if t.startswith("‹")]
    assert "‹alder≤30›" in ANALYZERS["stems+quantities"](text)
    start, end = feature_spans(text, "stems+quantities")["‹alder≤30›"]
    assert text[start:end] == "under 25 år"


def test_feature_spans_keep_the_first_occurrence() -> None:
    text = "Unge trenger tid. Ungdom og unge voksne."
    spans = feature_spans(text)
    assert text[slice(*spans["ung"])] == "Unge"
    assert text[slice(*spans["ung voksn"])] == "unge voksne"


TEXT = "Mange unge under 25 år mangler arbeid, og de får lite hjelp."


def span(phrase: str) -> tuple[int, int]:
    start = TEXT.index(phrase)
    return start, start + len(phrase)


@pytest.mark.parametrize(
    ("contributions", "expected"),
    [
        # overlapping spans join into one phrase
        ({span("under 25"): 1.0, span("25 år"): 0.8, span("unge"): 0.5},
         ["under 25 år", "unge"]),
        # function words alone are not shown; a phrase loses the ones it ends in
        ({span("og de"): 2.0, span("arbeid, og"): 1.5, span("mangler"): 1.0},
         ["arbeid", "mangler"]),
        # a span over a sentence end or with no positive weight is left out
        ({span("lite"): -1.0, span("hjelp"): 0.0, span("unge"): 0.1}, ["unge"]),
    ],
)  # fmt: skip
def test_strongest_phrases(
    contributions: dict[tuple[int, int], float], expected: list[str]
) -> None:
    assert strongest_phrases(TEXT, contributions, limit=6) == expected


def test_strongest_phrases_stop_at_the_limit_and_cap_phrase_length() -> None:
    words = [span(w) for w in ("unge", "mangler", "arbeid", "hjelp", "lite")]
    chosen = strongest_phrases(TEXT, {s: 5.0 - i for i, s in enumerate(words)}, limit=3)
    assert chosen == ["unge", "mangler", "arbeid"]
    chain = {span("Mange unge"): 3.0, span("unge under"): 2.0, span("under 25"): 1.5,
             span("25 år"): 1.0, span("år mangler"): 0.5}  # fmt: skip
    assert strongest_phrases(TEXT, chain, limit=6) == ["Mange unge under 25", "år mangler"]
