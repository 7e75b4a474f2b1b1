"""Quantities: kinds, normalised values, bounds and units of the figures rules are stated with."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.quantities import quantities


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "på årsbasis være lik 2,041 ganger folketrygdens grunnbeløp",
            [("grunnbeløp", 2.041, "exact")],
        ),
        ("stønaden utgjør 2G", [("grunnbeløp", 2.0, "exact")]),
        (
            "stønaden er på 2 G for personer over 25 år",
            [("grunnbeløp", 2.0, "exact"), ("alder", 25.0, "min")],
        ),
        ("settes ytelsen til to ganger grunnbeløpet (2G)", [("grunnbeløp", 2.0, "exact")]),
        ("2/3 av 2G", [("andel", 2 / 3, "exact"), ("grunnbeløp", 2.0, "exact")]),
        (
            "Deltaker under 25 år mottar 2/3 stønad.",
            [("alder", 25.0, "below"), ("andel", 2 / 3, "exact")],
        ),
        ("for personer mellom 18 og 67 år", [("alder", 18.0, "min"), ("alder", 67.0, "max")]),
        ("Programdeltakere over 60 år har rett til fri", [("alder", 60.0, "min")]),
        ("til og med det kalenderåret barnet fyller tolv år", [("alder", 12.0, "exact")]),
        ("dersom man er 25 år og eldre", [("alder", 25.0, "min")]),
        ("kan programmet forlenges med inntil ett år", [("varighet", 12.0, "max")]),
        ("men ikke lenger enn to år", [("varighet", 24.0, "max")]),
        ("forlenges ut over to år", [("varighet", 24.0, "min")]),
        (
            "i to år, i eitt år, i tjue år",
            [
                ("varighet", 24.0, "exact"),
                ("varighet", 12.0, "exact"),
                ("varighet", 240.0, "exact"),
            ],
        ),
        ("i 12 måneder", [("varighet", 12.0, "exact")]),
        ("et halvt år", [("varighet", 6.0, "exact")]),
        ("tidsrammen på to år pluss seks måneder", [("varighet", 30.0, "exact")]),
        ("senest innen seks måneder etter søknad", [("frist", 6.0, "exact")]),
        ("i opptil 20 virkedager", [("dager", 20.0, "max")]),
        ("for opptil tre kalenderdager om gangen", [("dager", 3.0, "max")]),
        ("må sette av 37 ½ time per uke", [("timer", 37.5, "exact")]),
        ("et program på 37,5 timer i uken", [("timer", 37.5, "exact")]),
        ("Antall stønadsdager hvert år settes til 260", [("dager", 260.0, "exact")]),
        ("i 2019 etter § 35 og §§ 29 og 30, jf. 1. og 17. mai", []),
        ("Fra og med 2019 gjelder sotjl. § 32 annet ledd.", []),
    ],
)
def test_quantities(text: str, expected: list[tuple[str, float, str]]) -> None:
    found = quantities(text)
    assert [(q.kind, round(q.value, 4), q.bound) for q in found] == [
        (kind, round(value, 4), bound) for kind, value, bound in expected
    ]
    assert all(text[q.start : q.end] == q.surface for q in found)


@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("20 virkedager", "virkedager"),
        ("tre kalenderdager", "kalenderdager"),
        ("fem ekstra virkedager per år", "virkedager per år"),
        ("37,5 timers uke", "timer per uke"),
        ("minst én time daglig", "timer per dag"),
        ("Antall stønadsdager hvert år settes til 260", "stønadsdager per år"),
    ],
)
def test_units_keep_what_is_counted(text: str, unit: str) -> None:
    assert [q.unit for q in quantities(text)] == [unit]


def test_surface_holds_the_bound_words() -> None:
    assert [q.surface for q in quantities("Deltaker under 25 år, men ikke lenger enn to år.")] == [
        "under 25 år",
        "ikke lenger enn to år",
    ]


PIECES = ["to", "år", "2G", "under", "25", "inntil", "ett", "måneder", "§", "og", ",", "2/3",
          "av", "virkedager", "mellom", "18", "2019", "ganger", "grunnbeløpet", "½", "timer"]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), max_size=12))
def test_offsets_slice_back_to_the_text(pieces: list[str]) -> None:
    text = " ".join(pieces)
    for q in quantities(text):
        assert text[q.start : q.end] == q.surface and q.value >= 0
