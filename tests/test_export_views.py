"""Corpus views of pipeline/corpus_views.py: themes per document and year, themes × provisions,
and their CSV and JSON, counted by hand over six constructed passages."""

from __future__ import annotations

import codecs
import csv
import io
import json
from pathlib import Path

import pytest

from pipeline.corpus_views import (
    ThemeProvisions,
    ThemeYears,
    act_names,
    model_labels,
    provision_keys,
    provision_label,
    save_view,
    theme_provision_counts,
    theme_year_counts,
)
from pipeline.errors import SettingsError
from pipeline.model import Document, ExtractionReport, Kind, LegalRef, Passage, Source

SOURCES = {
    "sotjl": Source("sotjl", Path("sotjl.md"), Kind.LAW, "Sosialtjenesteloven",
                    short="sosialtjenesteloven"),
    "kvp-forskrift": Source("kvp-forskrift", Path("f.md"), Kind.REGULATION, "Forskriften",
                            short="KVP-forskriften"),
    "a": Source("a", Path("a.md"), Kind.REPORT, "Rapport A", year=2020),
    "b": Source("b", Path("b.md"), Kind.AUDIT, "Revisjon B", year=2020),
    "c": Source("c", Path("c.md"), Kind.REPORT, "Rapport C", year=2022),
}  # fmt: skip
DOCUMENTS = {
    doc_id: Document(source, "", (), doc_id, ExtractionReport())
    for doc_id, source in SOURCES.items()
}


def ref(act: str, section: str = "", ledd: int | None = None, point: str = "") -> LegalRef:
    return LegalRef(act, section, ledd, point=point)


def passage(
    pid: str, locator: str = "", refs: tuple[LegalRef, ...] = (), **themes: float
) -> Passage:
    doc_id = pid.split(":")[0]
    return Passage(pid, doc_id, "Tekst.", (), 0, 6, locator=locator, legal_refs=refs,
                   themes=tuple(themes.items()))  # fmt: skip


PASSAGES = [
    # statute text counts for its own § (ledd folded) as well as for what it cites
    passage("sotjl:1", "§ 35 annet ledd", funding=0.9),
    passage("sotjl:2", "§ 29", (ref("sotjl", "30"),), organisation=0.6),
    # two ledd of one § are one citation of it
    passage("a:1", "", (ref("sotjl", "35", 2), ref("sotjl", "35", 3), ref("kvp-forskriften", "2")),
            barriers=0.8, funding=0.7),
    passage("a:2", "", (ref("sotjl", "35"),), funding=0.4),  # below the threshold: no theme
    # an act named with no §, and a § whose act is unknown, are no provisions
    passage("b:1", "", (ref("nav-loven", "14 a"), ref("sotjl"), ref("", "12")),
            youth=0.9, barriers=0.5),
    passage("c:1", "", (ref("r35-00", point="4.29"),), organisation=0.7),
]  # fmt: skip
NO_THEME = {"barriers": 0, "organisation": 0, "youth": 0, "funding": 0}


def counts(**found: int) -> dict[str, int]:
    return NO_THEME | found


def document_of(p: Passage) -> Document:
    return DOCUMENTS[p.doc_id]


def years_view() -> ThemeYears:
    return theme_year_counts(PASSAGES, document_of, model_labels)


def provisions_view(top: int | None = None) -> ThemeProvisions:
    return theme_provision_counts(PASSAGES, model_labels, top, names=act_names(DOCUMENTS.values()))


def test_theme_year_counts_agree_with_a_hand_count() -> None:
    view = years_view()
    rows = {r.doc_id: (r.year, r.passages, r.counts) for r in view.documents}
    assert rows == {
        "sotjl": (None, 2, counts(funding=1, organisation=1)),
        "a": (2020, 2, counts(barriers=1, funding=1)),
        "b": (2020, 1, counts(youth=1, barriers=1)),
        "c": (2022, 1, counts(organisation=1)),
    }
    years = [(r.year, r.documents, r.passages, r.counts) for r in view.years]
    assert years == [
        (2020, 2, 3, counts(barriers=2, funding=1, youth=1)),
        (2022, 1, 1, counts(organisation=1)),
        (None, 1, 2, counts(funding=1, organisation=1)),  # no year: last
    ]
    total = view.total
    assert (total.documents, total.passages) == (4, 6)
    assert total.counts == counts(barriers=2, organisation=2, youth=1, funding=2)
    assert view.years[0].share("barriers") == pytest.approx(2 / 3)


def test_year_totals_sum_their_documents() -> None:
    view = years_view()
    for year in view.years:
        mine = [r for r in view.documents if r.year == year.year]
        assert year.passages == sum(r.passages for r in mine)
        assert year.counts == {t: sum(r.counts[t] for r in mine) for t in view.themes}
    assert view.total.passages == sum(y.passages for y in view.years) == len(PASSAGES)


def test_theme_provision_counts_agree_with_a_hand_count() -> None:
    view = provisions_view()
    rows = [(r.key, r.passages, r.counts) for r in view.provisions]
    assert rows == [
        ("sotjl § 35", 3, counts(funding=2, barriers=1)),  # sotjl:1 (its own §), a:1, a:2
        ("kvp-forskriften § 2", 1, counts(barriers=1, funding=1)),
        ("nav-loven § 14 a", 1, counts(youth=1, barriers=1)),
        ("r35-00 pkt. 4.29", 1, counts(organisation=1)),
        ("sotjl § 29", 1, counts(organisation=1)),
        ("sotjl § 30", 1, counts(organisation=1)),
    ]  # by total over the themes, then by passages, then by key
    assert view.found == 6
    assert view.theme_passages == counts(barriers=2, organisation=2, youth=1, funding=2)
    first = view.provisions[0]
    assert first.total == 3 and view.share(first, "funding") == 1.0
    assert [r.label for r in view.provisions[:2]] == [
        "sosialtjenesteloven § 35",
        "KVP-forskriften § 2",
    ]


def test_top_keeps_the_first_provisions_and_counts_them_all() -> None:
    view = provisions_view(top=2)
    assert [r.key for r in view.provisions] == ["sotjl § 35", "kvp-forskriften § 2"]
    assert view.found == 6
    with pytest.raises(SettingsError, match="top is 0; give a positive number"):
        provisions_view(top=0)


def test_provision_keys_fold_ledd_and_add_the_statutes_own_section() -> None:
    assert provision_keys(PASSAGES[0]) == {"sotjl § 35"}
    assert provision_keys(PASSAGES[1]) == {"sotjl § 29", "sotjl § 30"}
    assert provision_keys(PASSAGES[2]) == {"sotjl § 35", "kvp-forskriften § 2"}
    assert provision_keys(PASSAGES[4]) == {"nav-loven § 14 a"}


@pytest.mark.parametrize(
    ("key", "names", "label"),
    [
        ("sotjl § 35", {"sotjl": "sosialtjenesteloven"}, "sosialtjenesteloven § 35"),
        ("sotjl § 35", {}, "sosialtjenesteloven § 35"),  # the act table's first name
        ("kvp-forskriften § 2", {"kvp-forskriften": "KVP-forskriften"}, "KVP-forskriften § 2"),
        ("nav-loven § 14 a", {}, "NAV-loven § 14 a"),
        ("straffeloven § 3", {}, "straffeloven § 3"),  # an act outside the table keeps its name
        ("r35-00 pkt. 4.29", {"r35-00": "R35-00"}, "R35-00 pkt. 4.29"),
    ],
)
def test_provision_label(key: str, names: dict[str, str], label: str) -> None:
    assert provision_label(key, names) == (key.split(" ")[0], label)


def test_labels_of_decides_what_counts() -> None:
    """Reviewed labels, given instead of the model's, are what the views count."""

    def reviewed(p: Passage) -> set[str]:
        return {"youth"} if p.doc_id == "a" else set()

    years = theme_year_counts(PASSAGES, document_of, reviewed)
    assert years.total.counts == counts(youth=2)
    matrix = theme_provision_counts(PASSAGES, reviewed)
    assert matrix.provisions[0].key == "sotjl § 35"
    assert matrix.provisions[0].counts == counts(youth=2)
    assert matrix.theme_passages == counts(youth=2)


def saved(view: ThemeYears | ThemeProvisions, fmt: str, delimiter: str = ",") -> bytes:
    buffer = io.BytesIO()
    save_view(view, buffer, fmt, delimiter=delimiter)  # type: ignore[arg-type]
    return buffer.getvalue()


@pytest.mark.parametrize(("delimiter", "mark"), [(";", ","), (",", "."), ("tab", ".")])
def test_years_csv_for_norwegian_excel(delimiter: str, mark: str) -> None:
    content = saved(years_view(), "csv", delimiter)
    assert content.startswith(codecs.BOM_UTF8)
    separator = "\t" if delimiter == "tab" else delimiter
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=separator))
    assert [r["level"] for r in rows] == ["document"] * 4 + ["year"] * 3 + ["total"]
    year_2020 = rows[4]
    assert (year_2020["year"], year_2020["documents"], year_2020["passages"]) == ("2020", "2", "3")
    assert year_2020["theme_barriers"] == "2"
    assert year_2020["share_barriers"] == f"0{mark}6667"  # decimals: a comma for ";"
    assert rows[-1]["year"] == "" and rows[-1]["passages"] == "6"


def test_provisions_csv_and_json() -> None:
    view = provisions_view()
    content = saved(view, "csv", ";")
    assert content.startswith(codecs.BOM_UTF8)
    text = content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("provision;act;label;passages;total;theme_barriers;")
    first = next(csv.DictReader(io.StringIO(text), delimiter=";"))
    assert first["provision"] == "sotjl § 35" and first["label"] == "sosialtjenesteloven § 35"
    assert (first["theme_funding"], first["share_funding"]) == ("2", "1,0")
    assert first["share_barriers"] == "0,5"
    raw = saved(view, "json")
    assert not raw.startswith(codecs.BOM_UTF8)
    data = json.loads(raw)
    assert data["found"] == 6 and data["provisions"][0]["counts"]["funding"] == 2
    assert data["provisions"][0]["shares"] == {
        "barriers": 0.5, "organisation": 0.0, "youth": 0.0, "funding": 1.0
    }  # fmt: skip


def test_years_json_has_documents_years_and_total() -> None:
    data = json.loads(saved(years_view(), "json"))
    assert [d["doc_id"] for d in data["documents"]] == ["sotjl", "a", "b", "c"]
    assert [y["year"] for y in data["years"]] == [2020, 2022, None]
    assert data["total"]["passages"] == 6 and data["total"]["counts"]["barriers"] == 2


def test_save_view_checks_format_and_delimiter() -> None:
    with pytest.raises(SettingsError, match="unknown format 'xml'; valid formats are csv, json"):
        saved(years_view(), "xml")
    with pytest.raises(SettingsError, match=r"unknown delimiter '\|'"):
        saved(years_view(), "csv", "|")
