"""Superseded rules: rule statements, pairing with the real statute texts."""

from __future__ import annotations

import re

import pytest

from pipeline.legal import provision_of
from pipeline.model import Document, Passage
from pipeline.quantities import quantities
from pipeline.segment import segment_all
from pipeline.statutes import in_force_dates
from pipeline.supersede import StatuteText, states_rule, supersession

NAMES = {"sotjl": "sosialtjenesteloven", "kvp-forskrift": "KVP-forskriften"}


@pytest.fixture(scope="module")
def statutes(statute_documents: dict[str, Document]) -> list[StatuteText]:
    dates = {doc_id: in_force_dates(d) for doc_id, d in statute_documents.items()}
    texts = []
    for passage in segment_all(statute_documents.values()):
        found = provision_of(passage)
        since = dates[passage.doc_id].get(found[0]) if found else None
        texts.append(StatuteText(passage, f"{NAMES[passage.doc_id]} {passage.locator}", since))
    return texts


def holding(statutes: list[StatuteText], doc_id: str, locator: str) -> Passage:
    return next(s.passage for s in statutes if (s.passage.doc_id, s.passage.locator) == (doc_id, locator))  # fmt: skip


def sentence_with(passage: Passage, words: str) -> str:
    return next(passage.text[a:b] for a, b in passage.sentences if words in passage.text[a:b])


# Rule statements ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sentence",
    [
        "Kvalifiseringsstønaden utgjør 2G.",
        "Programmet kan gis for inntil ett år.",
        "Deltakere under 25 år mottar kun 2/3 kvalifiseringsstønad.",
        "Ifølge loven varer programmet i to år.",
        "Etter sotjl. § 32 forlenges programmet med ett år.",
    ],
)
def test_rule_statements(sentence: str) -> None:
    assert states_rule(sentence)


@pytest.mark.parametrize(
    "sentence",
    [
        "21 prosent hadde yrkesinntekt under 2 G.",
        "I 2025 tilsvarer 2 G i snitt 256 232 kroner.",
        "Andelen som fikk forlenget programmet med ett år, er høy.",
        "Seks brukere har fått forlengelse på 12 måneder.",
        "Alle var mellom 20 og 55 år da de avsluttet.",
        "Ifølge tidligere regelverk kunne programmet forlenges med seks måneder.",
        "Minsteytelsen ble redusert fra 2G til 2/3 av 2G.",
        "Videre ble nedre aldersgrense endret fra 19 til 18 år.",
        "Studien viser at de fleste deltar i to år.",
        "Når det gjelder AAP, er grensen tre år.",
    ],
)
def test_statistics_findings_and_history_state_no_rule(sentence: str) -> None:
    assert not states_rule(sentence)


# Pairing with the real statutes ---------------------------------------------------------

_WORD_CHANGES = {"en": "to", "én": "to", "ett": "tre", "et": "tre", "to": "fire", "tre": "fem",
                 "fire": "seks", "fem": "sju", "seks": "ni", "åtte": "ti", "ti": "tolv", "tolv": "fjorten"}  # fmt: skip
_NUMBER_RE = re.compile(r"\d+/\d+|\d+(?:,\d+)?|\b(?:" + "|".join(_WORD_CHANGES) + r")\b")


def changed_figure(surface: str) -> str:
    """The surface with its number replaced by another: "2,041" → "2,5", "to" → "fire"."""
    number = _NUMBER_RE.search(surface)
    assert number, surface
    old = number.group()
    if "/" in old:
        new = "3/4" if old != "3/4" else "4/5"
    elif old[0].isdigit():
        new = old.split(",")[0] + ",5" if "," in old else str(int(old) + 1)
    else:
        new = _WORD_CHANGES[old]
    return surface[: number.start()] + new + surface[number.end() :]


def figure_sentences(statutes: list[StatuteText]) -> list[tuple[Passage, str]]:
    return [
        (s.passage, s.passage.text[a:b])
        for s in statutes
        for a, b in s.passage.sentences
        if s.passage.locator.startswith(("§ 29", "§ 3")) or s.passage.doc_id == "kvp-forskrift"
        if quantities(s.passage.text[a:b])
    ]  # fmt: skip


def test_statute_sentences_with_every_figure_changed_are_flagged(
    statutes: list[StatuteText],
) -> None:
    cases = figure_sentences(statutes)
    assert len(cases) >= 30  # §§ 29–40 and the regulation state dozens of figures
    misses = []
    for passage, sentence in cases:
        for q in quantities(sentence):
            report = sentence[: q.start] + changed_figure(q.surface) + sentence[q.end :]
            found = supersession(report, statutes)
            if found is None or (found.by, found.current) != (passage.passage_id, sentence):
                misses.append((report, found))
    assert not misses, misses


def test_statute_sentences_as_written_are_never_flagged(statutes: list[StatuteText]) -> None:
    flagged = [(s, f) for _, s in figure_sentences(statutes) if (f := supersession(s, statutes))]
    assert not flagged


def test_statistic_with_a_changed_figure_is_not_flagged(statutes: list[StatuteText]) -> None:
    for _, sentence in figure_sentences(statutes):
        q = quantities(sentence)[0]
        changed = sentence[: q.start] + changed_figure(q.surface) + sentence[q.end :]
        statistic = changed.rstrip(".") + ", for 40 prosent av deltakerne."
        assert supersession(statistic, statutes) is None, statistic


def test_a_stipend_in_g_from_before_2024(statutes: list[StatuteText]) -> None:
    sentence = (
        "Deltakelse i programmet gir rett til kvalifiseringsstønad, som utgjør 2G dersom man er "
        "25 år og eldre, og 2/3 av 2G dersom man er yngre enn 25 år."
    )
    found = supersession(sentence, statutes)
    section_35 = holding(statutes, "sotjl", "§ 35")
    assert found is not None and found.by == section_35.passage_id
    assert found.current == "Kvalifiseringsstønaden skal på årsbasis være lik 2,041 ganger folketrygdens grunnbeløp."  # fmt: skip
    assert found.label == "sosialtjenesteloven § 35 annet ledd"
    assert found.since == "2024-07-01"
    assert (
        found.reason == "Rapporten oppgir 2 G; sosialtjenesteloven § 35 annet ledd sier nå 2,041 G."
    )
    same = "Stønaden utgjør 2,041 G, og deltakere under 25 år mottar 2/3 stønad."
    assert supersession(same, statutes) is None


def test_extension_and_maximum_are_told_apart(statutes: list[StatuteText]) -> None:
    section_32 = holding(statutes, "sotjl", "§ 32")
    extension = sentence_with(section_32, "forlenges")
    maximum = sentence_with(section_32, "ikke lenger enn")
    # two years is § 32's maximum, but not its extension: the context decides
    found = supersession("Når særlige grunner tilsier det, kan programmet forlenges med inntil to år.", statutes)  # fmt: skip
    assert found is not None and found.current == extension
    found = supersession("Programmet gis så lenge deltakeren oppfyller vilkårene, men ikke lenger enn ett år.", statutes)  # fmt: skip
    assert found is not None and found.current == maximum
    # figures stated together are read together, and a limit from either side is one limit
    assert supersession("Programmet kan forlenges utover to år med opptil ett år når særlige grunner tilsier det.", statutes) is None  # fmt: skip
    assert supersession("Etter to år kan programmet forlenges med inntil ett år når særlige grunner tilsier det.", statutes) is None  # fmt: skip
    assert supersession("Programmet kan etter en særskilt vurdering forlenges utover to år.", statutes) is None  # fmt: skip


def test_ages_of_other_rules_are_not_paired(statutes: list[StatuteText]) -> None:
    holiday = supersession("Programdeltakere over 55 år har rett til fri fem ekstra virkedager per år.", statutes)  # fmt: skip
    assert holiday is not None and "over 60 år" in holiday.current
    child = supersession("Retten til fri gjelder til og med det kalenderåret barnet fyller ti år.", statutes)  # fmt: skip
    assert child is not None and "fyller tolv år" in child.current
    assert supersession("Kommunen skal tilby samtaler til personer over 62 år som søker bolig.", statutes) is None  # fmt: skip


def test_words_shared_only_far_from_the_figure_are_no_agreement(
    statutes: list[StatuteText],
) -> None:
    quote = "Så det er bortkastede tre år hvis vi ikke får gjort det ferdig, og da faller de bort og må starte på nytt."  # fmt: skip
    assert supersession(quote, statutes) is None


def test_another_scheme_is_not_the_programme(statutes: list[StatuteText]) -> None:
    programme = "Programmet kan forlenges med inntil to år når særlige grunner tilsier det."
    assert supersession(programme, statutes) is not None
    assert supersession(programme.replace("Programmet", "AAP"), statutes) is None


def test_named_and_cited_sections_narrow_the_check(statutes: list[StatuteText]) -> None:
    named = "I henhold til § 32 i sosialtjenesteloven kan programmet gis for en periode på inntil ett år."
    found = supersession(named, statutes)
    assert found is not None and found.label == "sosialtjenesteloven § 32 første ledd"
    amount = "Kvalifiseringsstønaden utgjør 2 G på årsbasis."
    assert supersession(amount, statutes, cited=["sotjl § 35"]) is not None
    assert supersession(amount, statutes, cited=["kvp-forskriften § 17"]) is None
