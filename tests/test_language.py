"""Norwegian sentences, stems, compounds and the shared abbreviation table."""

from __future__ import annotations

import pytest

from pipeline.language import DOMAIN_TERMS, compound_parts, normalize_tokens, sentence_spans


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Se bl.a. Prop. 12 L kap. 4 om dette. Neste setning.",
            ["Se bl.a. Prop. 12 L kap. 4 om dette.", "Neste setning."],
        ),
        (
            "Det følger av § 29. Kommunen må vurdere saken.",
            ["Det følger av § 29.", "Kommunen må vurdere saken."],
        ),
        (
            "Stønaden er 2 G. Den gis f.eks. til unge, jf. pkt. 4.29.",
            ["Stønaden er 2 G.", "Den gis f.eks. til unge, jf. pkt. 4.29."],
        ),
        (
            "Programmet startet 1. januar 2019 for ca. 1 400 deltakere m.fl. i Oslo.",
            ["Programmet startet 1. januar 2019 for ca. 1 400 deltakere m.fl. i Oslo."],
        ),
        (
            "Jf. St.meld. nr. 9 (2006–2007) og Ot.prp. nr. 70. Så videre.",
            ["Jf. St.meld. nr. 9 (2006–2007) og Ot.prp. nr. 70.", "Så videre."],
        ),
    ],
)
def test_norwegian_sentence_boundaries(text: str, expected: list[str]) -> None:
    assert sentences(text) == expected


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("kvalifiseringsstønad", ("kvalifisering", "stønad")),
        ("arbeidsevnevurdering", ("arbeidsevne", "vurdering")),
        ("stønad", ()),
    ],
)
def test_compound_parts(word: str, parts: tuple[str, ...]) -> None:
    assert compound_parts(word) == parts


def test_tokens_match_across_compounds_abbreviations_and_inflection() -> None:
    query = set(normalize_tokens("Hvor stor er stønaden?"))
    passage = set(normalize_tokens("Kvalifiseringsstønaden skal være lik 2 G."))
    assert query & passage >= {"stønad"}
    assert "arbeidsavklaringspeng" in normalize_tokens("Kan en som får AAP få KVP?")
    assert "kvp" in normalize_tokens("kvalifiseringsprogrammet")
    assert normalize_tokens("NAV-kontorene")[:3] == ["nav-kontor", "nav", "kontor"]
    assert "§" in normalize_tokens("sotjl § 35") and "35" in normalize_tokens("§ 35")


def test_abbreviation_table_is_lower_case_and_symmetric_for_core_terms() -> None:
    assert all(key == key.lower() for key in DOMAIN_TERMS)
    for short, long in [
        ("kvp", "kvalifiseringsprogram"),
        ("aap", "arbeidsavklaringspenger"),
        ("aev", "arbeidsevnevurdering"),
        ("g", "grunnbeløp"),
        ("sotjl", "sosialtjenesteloven"),
    ]:
        assert long in DOMAIN_TERMS[short] and short in DOMAIN_TERMS[long]
