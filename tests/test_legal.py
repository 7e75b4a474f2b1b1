"""Legal references: recognition, normalisation, context, lookup, and the real corpus.

The phrasings in CORPUS_PHRASINGS are copied verbatim from the corpus documents' text as
extracted (a test checks that each still occurs there; the statute files' stray spaces
before "." and "," are gone after extraction). `python -m tests.test_legal` prints the
reference counts per act over the whole corpus.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from importlib import resources
from typing import get_args, get_type_hints

import pytest

from pipeline.legal import (
    ACT_DOC_IDS,
    ACTS,
    Act,
    LegalRefError,
    annotate_refs,
    find_citing,
    find_refs,
    parse_ref,
    refs_index,
    statute_passages,
)
from pipeline.model import STATUTE_KINDS, Document, LegalRef, Passage
from pipeline.segment import segment_all

Fields = tuple[str, str, int | None, str, int | None, str]  # act, §, ledd, bokstav, punktum, pkt


def ref(act: str, section: str = "", ledd: int | None = None, bokstav: str = "",
        punktum: int | None = None, point: str = "") -> Fields:  # fmt: skip
    return (act, section, ledd, bokstav, punktum, point)


def fields(r: LegalRef) -> Fields:
    return (r.act, r.section, r.ledd, r.bokstav, r.punktum, r.point)


def sotjl_range(first: int, last: int) -> list[Fields]:
    return [ref("sotjl", str(n)) for n in range(first, last + 1)]


# (verbatim fragment, default_act, every reference expected in it, in order)
CORPUS_PHRASINGS = [
    # reports
    ("I henhold til § 29 i sosialtjenesteloven fremkommer det", "", [ref("sotjl", "29")]),
    ("Ifølge § 30 i sosialtjenesteloven skal programmet", "", [ref("sotjl", "30")]),
    ("fyller inngangsvilkårene etter § 29 i sosialtjenesteloven;", "", [ref("sotjl", "29")]),
    ("KVP er regulert i lov om sosiale tjenester §§ 29-40 og er en rettighet", "",
     sotjl_range(29, 40)),
    ("Det følger av sosialtjenestelovens §29, 3. ledd, at kommunen", "",
     [ref("sotjl", "29", 3)]),
    ("Sosialtjenesteloven §§ 30, 1. og 2. ledd første bokstav regulerer", "",
     [ref("sotjl", "30", 1), ref("sotjl", "30", 2, "a")]),
    ("kan kommunen avslå med grunnlag i sosialtjenesteloven § 34, 1. ledd.", "",
     [ref("sotjl", "34", 1)]),
    ("Rundskriv til lov om sosiale tjenester (R35-00), pkt. 4.29.1.3", "",
     [ref("r35-00", point="4.29.1.3")]),
    ("I rundskrivet til lov om sosiale tjenester (punkt 4.30.2.2) står følgende", "",
     [ref("r35-00", point="4.30.2.2")]),
    ("i rundskriv til lov om sosiale tjenester i NAV (R35-00).", "", [ref("r35-00")]),
    ("Rundskriv hovednr. 35 – sosialtjenesteloven", "", [ref("r35-00")]),
    ("inngangsvilkår etter (Sosialtjenesteloven, 2009, § 29), vil", "", [ref("sotjl", "29")]),
    ("arbeidsevnevurdering etter (NAV-Loven, 2006, §14a, første ledd andre punktum).", "",
     [ref("nav-loven", "14 a", 1, "", 2)]),
    ("etter (Sosialtjenesteloven, 2009, § 28, første og andre ledd)", "",
     [ref("sotjl", "28", 1), ref("sotjl", "28", 2)]),
    ("reguleres etter (Sotjl, 2009, § 33)", "", [ref("sotjl", "33")]),
    ("med hjemmel i (Sotjl, 2009, § 30, tredje ledd)", "", [ref("sotjl", "30", 3)]),
    ("(Sosialtjenesteloven, 2009, § 42; pasient- og brukerrettighetsloven 1999, § 3-1)", "",
     [ref("sotjl", "42"), ref("pasient- og brukerrettighetsloven", "3-1")]),
    ("Paragraf 14 a i NAV-loven (lov om arbeids- og velferdsforvaltningen) gjelder fra", "",
     [ref("nav-loven", "14 a")]),
    ("oppfølgingsmetodikken i NAV (§14 a-vedtak)", "", [ref("nav-loven", "14 a")]),
    ("etter folketrygdloven eller i arbeidsmarkedet (Kapittel 4 Individuelle tjenester §29 "
     "Kvalifiseringsprogram sosialtjenesteloven)", "",
     [ref("folketrygdloven"), ref("sotjl", "29")]),
    ("forvaltningsrevisjon, jfr. kommunelovens § 78 og forskrift om revisjon kapittel 3.", "",
     [ref("kommuneloven", "78")]),
    ("vilkårene i Lov om sosiale tjenester i arbeid- og velferdsforvaltningen §29.", "",
     [ref("sotjl", "29")]),
    ("I henhold til § 1 i forskrift om kvalifiseringsprogram og kvalifiseringsstønad skal", "",
     [ref("kvp-forskriften", "1")]),
    ("Vilkårene for deltakelse etter lovens § 29 må fortsatt", "sotjl", [ref("sotjl", "29")]),
    ("KVP er hjemlet i lov om sosiale tjenester i arbeids- og velferdsforvaltningen "
     "(sosialtjenesteloven).", "", [ref("sotjl")]),
    ("ytelser til livsopphold etter folketrygdloven eller arbeidsmarkedsloven", "",
     [ref("folketrygdloven"), ref("arbeidsmarkedsloven")]),
    ("og rundskriv til sosialtjenesteloven <https://lovdata.no/nav/rundskriv/r35-00#ref/lov/"
     "2009-12-18-131/%C2%A730>", "", [ref("r35-00")]),
    # the regulation: "loven" is sotjl, a bare § is the regulation's own
    ("jf. loven § 32 første ledd annet punktum", "kvp-forskriften",
     [ref("sotjl", "32", 1, "", 2)]),
    ("eller avsluttes, jf. loven § 34 første ledd.", "kvp-forskriften", [ref("sotjl", "34", 1)]),
    ("retten til kvalifiseringsstønad etter lovens § 35 ved sykdom", "kvp-forskriften",
     [ref("sotjl", "35")]),
    ("legeerklæring etter bestemmelsene i § 6 – § 8.", "kvp-forskriften",
     [ref("kvp-forskriften", str(n)) for n in (6, 7, 8)]),
    ("Bestemmelsene i § 7 og § 8 første ledd bokstav b og tredje ledd gjelder tilsvarende.",
     "kvp-forskriften", [ref("kvp-forskriften", "7"), ref("kvp-forskriften", "8", 1, "b"),
                         ref("kvp-forskriften", "8", 3)]),
    ("etter bestemmelsen i folketrygdloven § 2-5 andre ledd.", "kvp-forskriften",
     [ref("folketrygdloven", "2-5", 2)]),
    ("jf. forskrift om arbeidsavklaringspenger § 8", "kvp-forskriften",
     [ref("forskrift om arbeidsavklaringspenger", "8")]),
    # the act
    ("etter nærmere regler i §§ 9 og 10.", "sotjl", [ref("sotjl", "9"), ref("sotjl", "10")]),
    ("fra bestemmelsene i § 20, § 20 a og §§ 29 til 40.", "sotjl",
     [ref("sotjl", "20"), ref("sotjl", "20 a"), *sotjl_range(29, 40)]),
    ("§ 13 andre ledd første punktum, tredje ledd, fjerde ledd første punktum og § 16 første "
     "ledd", "sotjl", [ref("sotjl", "13", 2, "", 1), ref("sotjl", "13", 3),
                       ref("sotjl", "13", 4, "", 1), ref("sotjl", "16", 1)]),
    ("Kommunens ansvar etter § 28 annet og tredje ledd gjelder tilsvarende.", "sotjl",
     [ref("sotjl", "28", 2), ref("sotjl", "28", 3)]),
    ("taushetsplikt etter forvaltningsloven §§ 13 til 13 e og 13 g.", "sotjl",
     [ref("forvaltningsloven", s) for s in ("13", "13 e", "13 g")]),
    ("etter forvaltningsloven § 35 første ledd bokstav c dersom", "sotjl",
     [ref("forvaltningsloven", "35", 1, "c")]),
    ("arbeids- og velferdsforvaltningsloven §§ 13 og 14", "sotjl",
     [ref("nav-loven", "13"), ref("nav-loven", "14")]),
    ("etter helse- og omsorgstjenesteloven § 7-2 a", "sotjl",
     [ref("helse- og omsorgstjenesteloven", "7-2 a")]),
]  # fmt: skip

# Phrasings the brief names that the corpus does not happen to contain.
OTHER_PHRASINGS = [
    ("sosialtjenesteloven § 29", "", [ref("sotjl", "29")]),
    ("sotjl. § 35", "", [ref("sotjl", "35")]),
    ("stjl § 35", "", [ref("sotjl", "35")]),
    ("sosialtjenestelova § 35", "", [ref("sotjl", "35")]),
    ("lov om sosiale tjenester i NAV § 30", "", [ref("sotjl", "30")]),
    ("sosialtjenesteloven § 29 tredje ledd", "", [ref("sotjl", "29", 3)]),
    ("sosialtjenesteloven §29, 3.ledd", "", [ref("sotjl", "29", 3)]),
    ("sotjl § 35 første ledd bokstav b", "", [ref("sotjl", "35", 1, "b")]),
    ("sotjl § 32 første ledd annet punktum", "", [ref("sotjl", "32", 1, "", 2)]),
    ("NAV-loven § 14 a", "", [ref("nav-loven", "14 a")]),
    ("navl § 14 a", "", [ref("nav-loven", "14 a")]),
    ("forskriften § 2", "", [ref("kvp-forskriften", "2")]),
    ("KVP-forskriften § 2", "", [ref("kvp-forskriften", "2")]),
    ("forskrift om kvalifiseringsprogram § 5", "", [ref("kvp-forskriften", "5")]),
    ("rundskriv R35-00 pkt. 4.29.1.3", "", [ref("r35-00", point="4.29.1.3")]),
    ("ftrl § 11-5", "", [ref("folketrygdloven", "11-5")]),
    ("fvl. § 17", "", [ref("forvaltningsloven", "17")]),
    ("barnevernloven § 4-22", "", [ref("barnevernloven", "4-22")]),
    ("jf. integreringsloven § 8", "", [ref("integreringsloven", "8")]),
    ("KVP er regulert i lov om sosiale tjenester.", "", [ref("sotjl")]),
]  # fmt: skip


@pytest.mark.parametrize(("text", "default_act", "expected"), CORPUS_PHRASINGS + OTHER_PHRASINGS)
def test_phrasing(text: str, default_act: str, expected: list[Fields]) -> None:
    refs = find_refs(text, default_act=default_act)
    assert [fields(r) for r in refs] == expected
    for r in refs:
        assert text[r.char_start : r.char_end] == r.raw
        assert r.raw.strip() == r.raw and r.raw


@pytest.mark.slow
def test_corpus_phrasings_are_verbatim(corpus_documents: dict[str, Document]) -> None:
    texts = [" ".join(d.text.split()) for d in corpus_documents.values()]
    missing = [t for t, _, _ in CORPUS_PHRASINGS if not any(t in text for text in texts)]
    assert not missing


def test_raw_spans_cover_act_and_pinpoint() -> None:
    text = "Det følger av sosialtjenestelovens §29, 3. ledd, at kommunen"
    (r,) = find_refs(text)
    assert r.raw == "sosialtjenestelovens §29, 3. ledd"
    (r,) = find_refs("Se § 29 i sosialtjenesteloven her")
    assert r.raw == "§ 29 i sosialtjenesteloven"


@pytest.mark.parametrize("written", ["§§ 29-40", "§§ 29 til 40", "§§ 29–40", "§§ 29 - 40"])
def test_range_gives_one_ref_per_section_with_one_span(written: str) -> None:
    text = f"KVP er regulert i sosialtjenesteloven {written} og mer."
    refs = find_refs(text)
    assert [r.section for r in refs] == [str(n) for n in range(29, 41)]
    assert {(r.raw, r.char_start, r.char_end) for r in refs} == {
        (f"sosialtjenesteloven {written}", 18, 18 + len(f"sosialtjenesteloven {written}"))
    }


def test_range_with_two_signs_and_long_or_lettered_ranges() -> None:
    assert [r.section for r in find_refs("sotjl § 6 – § 8")] == ["6", "7", "8"]
    assert [r.section for r in find_refs("sotjl §§ 1-99")] == ["1", "99"]  # over the cap
    assert [r.section for r in find_refs("fvl §§ 13 til 13 e")] == ["13", "13 e"]
    assert [r.section for r in find_refs("folketrygdloven § 2-5")] == ["2-5"]  # one §


def test_bare_section_takes_the_act_named_just_before() -> None:
    text = "Etter sosialtjenesteloven kan kommunen avslå. Se også § 34 om avslutning."
    assert [fields(r) for r in find_refs(text)] == [ref("sotjl"), ref("sotjl", "34")]


def test_bare_section_far_from_any_act_uses_default_or_stays_unresolved() -> None:
    text = "Sosialtjenesteloven gjelder. " + "Mye annen tekst om programmet. " * 10 + "Se § 34."
    assert find_refs(text)[-1].act == ""
    assert find_refs(text, default_act="kvp-forskriften")[-1].act == "kvp-forskriften"
    assert find_refs("Se § 34.", default_act="sotjl")[0].act == "sotjl"


def test_bare_section_in_same_sentence_reaches_past_200_chars() -> None:
    text = "I folketrygdloven, " + "som regulerer mange ytelser og " * 8 + "særlig § 8, står det"
    assert len(text) > 250 and find_refs(text)[-1].act == "folketrygdloven"


def test_other_acts_are_not_mistaken_for_the_context_act() -> None:
    refs = find_refs("jfr. kommunelovens § 78 og § 29", default_act="sotjl")
    assert [fields(r) for r in refs] == [ref("kommuneloven", "78"), ref("kommuneloven", "29")]
    refs = find_refs("straffeloven § 209", default_act="sotjl")
    assert fields(refs[0]) == ref("straffeloven", "209")


def test_section_numbers_are_not_confused_with_words() -> None:
    assert [r.section for r in find_refs("§ 29 i loven", default_act="sotjl")] == ["29"]
    assert find_refs("ingen paragraf her, bare 1. ledd og 29 år") == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sotjl § 35", ref("sotjl", "35")),
        ("sosialtjenesteloven § 29 tredje ledd", ref("sotjl", "29", 3)),
        ("§ 35", ref("sotjl", "35")),
        ("§ 29 tredje ledd", ref("sotjl", "29", 3)),
        ("sotjl 35", ref("sotjl", "35")),
        ("  SOTJL  §  35 første ledd bokstav b ", ref("sotjl", "35", 1, "b")),
        ("forskriften § 2", ref("kvp-forskriften", "2")),
        ("kvp-forskriften § 2", ref("kvp-forskriften", "2")),
        ("nav-loven § 14 a", ref("nav-loven", "14 a")),
        ("§ 35 i sotjl", ref("sotjl", "35")),
        ("lovens § 35", ref("sotjl", "35")),
        ("r35-00 pkt. 4.29", ref("r35-00", point="4.29")),
        ("r35-00 4.29", ref("r35-00", point="4.29")),
        ("ftrl § 2-5", ref("folketrygdloven", "2-5")),
        ("§ 28 annet og tredje ledd", ref("sotjl", "28")),  # several ledd: the whole §
    ],
)
def test_parse_ref(query: str, expected: Fields) -> None:
    parsed = parse_ref(query)
    assert fields(parsed) == expected
    assert parsed.raw == query


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("xyz § 3", r"unknown act 'xyz' in 'xyz § 3'; known acts: sotjl, kvp-forskriften, "),
        ("straffeloven § 209", r"unknown act 'straffeloven'.*known acts: .*r35-00"),
        ("sotjl", r"no § or point in 'sotjl'.*known acts: sotjl, kvp-forskriften"),
        ("", r"no § or point"),
        ("sotjl § 35 hei", r"cannot read 'hei'"),
        ("sotjl §§ 29-40", r"names 12 provisions"),
    ],
)
def test_parse_ref_errors(query: str, message: str) -> None:
    with pytest.raises(LegalRefError, match=message):
        parse_ref(query)


def test_every_canonical_name_is_also_an_alias() -> None:
    for act in ACTS:
        assert parse_ref(f"{act} pkt. 1.2" if act == "r35-00" else f"{act} § 3").act == act


def test_every_act_in_the_data_file_loads_with_a_kind_and_an_alias() -> None:
    text = (resources.files("pipeline") / "data" / "acts.toml").read_text(encoding="utf-8")
    table = tomllib.loads(text)["acts"]
    kinds = get_args(get_type_hints(Act)["kind"])
    assert list(ACTS) == list(table)
    for name, entry in table.items():
        act = ACTS[name]
        assert isinstance(act, Act) and act.title == entry["title"]
        assert act.kind in kinds, f"{name}: kind {act.kind!r} is not one of {kinds}"
        assert act.aliases and all(isinstance(a, str) and a for a in act.aliases), name


# The real corpus ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def annotated(corpus_documents: dict[str, Document]) -> list[Passage]:
    documents = list(corpus_documents.values())
    return annotate_refs(documents, segment_all(documents))


def is_statute(passage: Passage, documents: dict[str, Document]) -> bool:
    return documents[passage.doc_id].source.kind in STATUTE_KINDS


@pytest.mark.slow
def test_annotated_spans_are_slices_of_the_passage(annotated: list[Passage]) -> None:
    refs = [(p, r) for p in annotated for r in p.legal_refs]
    assert len(refs) > 150
    assert all(p.text[r.char_start : r.char_end] == r.raw for p, r in refs)


@pytest.mark.slow
def test_statute_headings_are_not_references(annotated: list[Passage]) -> None:
    (section_35,) = [p for p in annotated if p.doc_id == "sotjl" and p.locator == "§ 35"]
    assert [fields(r) for r in section_35.legal_refs] == [ref("sotjl", "34", 1)]


@pytest.mark.slow
def test_regulation_loven_is_the_act(annotated: list[Passage]) -> None:
    (section_2,) = [p for p in annotated if p.doc_id == "kvp-forskrift" and p.locator == "§ 2"]
    assert {r.act for r in section_2.legal_refs} == {"sotjl"}


@pytest.mark.slow
def test_report_bare_section_carries_the_last_cited_act(annotated: list[Passage]) -> None:
    # "ut fra inngangsvilkårene i § 29" follows "sosialtjenesteloven § 34, 1. ledd" pages
    # earlier, with "introduksjonsloven" named in between
    (passage,) = [p for p in annotated if "ut fra inngangsvilkårene i § 29" in p.text]
    assert {r.key for r in passage.legal_refs} == {"sotjl § 29", "sotjl § 30"}


@pytest.mark.slow
def test_find_citing_section_35(
    annotated: list[Passage], corpus_documents: dict[str, Document]
) -> None:
    found = find_citing(annotated, parse_ref("sotjl § 35"))
    assert found[0].doc_id == "sotjl" and found[0].locator == "§ 35"
    others = [p for p in found[1:] if p.doc_id != "sotjl"]
    assert len(others) >= 2  # the regulation's §§ 5 and 9, and the Oslo report's §§ 29-40
    assert any(not is_statute(p, corpus_documents) for p in others)


@pytest.mark.slow
def test_find_citing_section_29_reaches_many_reports(
    annotated: list[Passage], corpus_documents: dict[str, Document]
) -> None:
    found = find_citing(annotated, parse_ref("sotjl § 29"))
    assert found[0].locator == "§ 29"
    reports = {p.doc_id for p in found if not is_statute(p, corpus_documents)}
    assert len(reports) >= 4


@pytest.mark.slow
def test_find_citing_with_ledd_keeps_same_or_no_ledd(annotated: list[Passage]) -> None:
    found = find_citing(annotated, parse_ref("sotjl § 34 første ledd"))
    assert found[0].locator.startswith("§ 34")
    for passage in found[1:]:
        cited = [r for r in passage.legal_refs if r.key == "sotjl § 34"]
        assert cited and all(r.ledd in (None, 1) for r in cited)


@pytest.mark.slow
def test_statute_passages_match_the_section_exactly(annotated: list[Passage]) -> None:
    assert [p.locator for p in statute_passages(annotated, parse_ref("sotjl § 3"))] == ["§ 3"]
    assert [p.locator for p in statute_passages(annotated, parse_ref("sotjl § 35"))] == ["§ 35"]
    assert statute_passages(annotated, parse_ref("forskriften § 2"))[0].locator == "§ 2"
    assert statute_passages(annotated, parse_ref("folketrygdloven § 2-5")) == []


@pytest.mark.slow
def test_statute_passages_pick_the_ledd_of_a_split_section(annotated: list[Passage]) -> None:
    split = [p.locator for p in annotated if p.doc_id == "sotjl" and p.locator.startswith("§ 20 a")]
    assert len(split) > 1  # § 20 a is long enough to be cited ledd by ledd
    held = statute_passages(annotated, parse_ref("sotjl § 20 a annet ledd"))
    assert [p.locator for p in held] == ["§ 20 a annet ledd"]
    assert len(statute_passages(annotated, parse_ref("sotjl § 20 a"))) == len(split)


@pytest.mark.slow
def test_every_kvp_section_cited_in_reports_links_to_the_act(
    annotated: list[Passage], corpus_documents: dict[str, Document]
) -> None:
    cited = [
        r for p in annotated if not is_statute(p, corpus_documents) for r in p.legal_refs
        if r.act == "sotjl" and r.section.isdigit() and 29 <= int(r.section) <= 40
    ]  # fmt: skip
    assert len(cited) >= 20
    for r in cited:
        held = statute_passages(annotated, r)
        assert held and all(p.doc_id == ACT_DOC_IDS["sotjl"] for p in held), r.key


@pytest.mark.slow
def test_refs_index(annotated: list[Passage]) -> None:
    index = refs_index(annotated)
    assert len(index["sotjl § 29"]) >= 10
    assert all(len(ids) == len(set(ids)) for ids in index.values())
    assert "r35-00 pkt. 4.29.1.3" in index and "nav-loven § 14 a" in index


# A helper, not a test: reference counts per act over the corpus ------------------------


def count_refs_per_act(passages: Sequence[Passage]) -> Counter[str]:
    """How many references each act gets across the passages (a range counts per §)."""
    return Counter(r.act or "(unresolved)" for p in passages for r in p.legal_refs)


def print_corpus_counts() -> None:
    """Build the sample corpus and print reference counts per act, all and reports only."""
    from pipeline.corpus import load_corpus
    from pipeline.extract import extract_all

    from .conftest import CORPUS

    documents = list(extract_all(load_corpus(CORPUS).sources).documents)
    passages = annotate_refs(documents, segment_all(documents))
    kinds = {d.doc_id: d.source.kind for d in documents}
    reports = [p for p in passages if kinds[p.doc_id] not in STATUTE_KINDS]
    for label, chosen in (("all", passages), ("reports", reports)):
        counts = count_refs_per_act(chosen)
        with_section = count_refs_per_act([replace(p, legal_refs=tuple(
            r for r in p.legal_refs if r.section)) for p in chosen])  # fmt: skip
        print(f"{label}: {sum(counts.values())} references")
        for act, n in counts.most_common():
            print(f"  {act:<40}{n:>4}  (with §: {with_section[act]})")


if __name__ == "__main__":
    print_corpus_counts()
