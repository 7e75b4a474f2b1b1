"""The Spør page's answer: sections, citation links, superseded rules, note, question type.

`ask` is replaced by `fake_answer`, a constructed Answer over a small index (the act, the
regulation and a short report, embedded with the hashing stand-in encoder), so these tests
do not depend on how `pipeline.answer` composes answers. tests/test_web_errors.py and
tests/test_web_e2e.py use the same index and answer.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import pytest
from fastapi.testclient import TestClient

from pipeline.model import (
    REPORTS_HEADING,
    RULES_HEADING,
    Answer,
    AnswerSection,
    Citation,
    Hit,
    Passage,
    QuestionType,
    Supersession,
)
from pipeline.web import create_app, render

from .conftest import CORPUS
from .helpers import HashingEncoder

if TYPE_CHECKING:
    from pipeline.embed import Encoder
    from pipeline.search import Index

REPORT = """# Evaluering av kvalifiseringsprogrammet

## Stønaden

Kvalifiseringsstønaden utgjør 2 G på årsbasis, jf. sosialtjenesteloven § 35. Deltakere under \
25 år får to tredeler av stønaden.

## Oppfølging

Mange NAV-kontor gir deltakerne tett oppfølging i programmet. Veilederne har ofte ansvar for \
mange deltakere samtidig.
"""
MANIFEST = """
[[document]]
id = "sotjl"
file = "sosialtjenesteloven.md"
kind = "law"
title = "Lov om sosiale tjenester i arbeids- og velferdsforvaltningen"
short = "sosialtjenesteloven"

[[document]]
id = "kvp-forskrift"
file = "forskrift-kvalifiseringsprogram.md"
kind = "regulation"
title = "Forskrift om kvalifiseringsprogram og kvalifiseringsstønad"
short = "KVP-forskriften"

[[document]]
id = "evaluering-2019"
file = "evaluering.md"
kind = "report"
year = 2019
title = "Evaluering av kvalifiseringsprogrammet"
"""
QUESTION = "How much is the qualification benefit?"
RULE = "Kvalifiseringsstønaden skal på årsbasis være lik 2,041 ganger folketrygdens grunnbeløp."
OLD_RULE = "Kvalifiseringsstønaden utgjør 2 G på årsbasis, jf. sosialtjenesteloven § 35."
PRACTICE = "Mange NAV-kontor gir deltakerne tett oppfølging i programmet."
NOTE = "Kildene er på norsk."


def build_report_index(folder: Path) -> Path:
    """The act, the regulation and a 2019 report, indexed with the hashing encoder."""
    from pipeline.index import build_index

    corpus = folder / "corpus"
    corpus.mkdir(parents=True)
    for name in ("sosialtjenesteloven.md", "forskrift-kvalifiseringsprogram.md"):
        shutil.copy(CORPUS / "law" / name, corpus / name)
    (corpus / "evaluering.md").write_text(REPORT, encoding="utf-8")
    (corpus / "MANIFEST.toml").write_text(MANIFEST, encoding="utf-8")
    build_index(corpus, folder / "index", encoder=cast("Encoder", HashingEncoder()))
    return folder / "index"


@pytest.fixture(scope="session")
def report_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_report_index(tmp_path_factory.mktemp("report-index"))


def holding(index: Index, passages: list[Passage], sentence: str) -> Passage:
    return next(p for p in passages if sentence in p.text)


def citation_of(index: Index, passage: Passage, quote: str, **extra: Any) -> Citation:
    source = index.source_of(passage)
    start = passage.text.index(quote)
    return Citation(passage.passage_id, passage.doc_id, source.title, source.kind,
                    passage.section, passage.locator, passage.page_start, quote, start,
                    start + len(quote), 0.9, source.year, passage.legal_refs, **extra)  # fmt: skip


def fake_answer(index: Index, question: str, **_: Any) -> Answer:
    """A rule answer in two sections whose report quote the current § 35 supersedes."""
    from pipeline.legal import parse_ref

    statute = holding(index, index.provision(parse_ref("sotjl § 35")), RULE)
    report = index.store.passages_of_document("evaluering-2019")
    old, practice = holding(index, report, OLD_RULE), holding(index, report, PRACTICE)
    supersession = Supersession(
        by=statute.passage_id,
        current=RULE,
        since="2024-07-01",
        reason="Rapporten fra 2019 oppgir 2 G; loven sier nå 2,041 G.",
        label="sosialtjenesteloven § 35 annet ledd",
    )
    citations = (
        citation_of(index, statute, RULE, in_force="2024-07-01"),
        citation_of(index, old, OLD_RULE, superseded=supersession),
        citation_of(index, practice, PRACTICE),
    )
    sections = (
        AnswerSection(RULES_HEADING, f"{RULE} [1]", (1,)),
        AnswerSection(REPORTS_HEADING, f"{OLD_RULE} [2] {PRACTICE} [3]", (2, 3)),
    )
    return Answer(
        question=question,
        text=" ".join(s.text for s in sections),
        abstained=False,
        confidence=0.8234,
        citations=citations,
        sources=tuple(Hit(p, 0.5) for p in (statute, old, practice)),
        question_type=QuestionType.RULE,
        language="en",
        provisions=("sotjl § 35",),
        sections=sections,
        note=NOTE,
    )


@pytest.fixture(scope="module")
def client(report_index: Path) -> Iterator[TestClient]:
    app = create_app(report_index, encoder=cast("Encoder", HashingEncoder()))
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def answered(monkeypatch: pytest.MonkeyPatch) -> list[Answer]:
    """`ask` gives `fake_answer`, changed by the test if it appends a replacement."""
    given: list[Answer] = []

    def ask(index: Index, question: str, **kwargs: Any) -> Answer:
        answer = fake_answer(index, question)
        return given[-1] if given else answer

    monkeypatch.setattr("pipeline.answer.ask", ask)
    return given


def answer_region(html: str) -> str:
    return html[html.index('<section class="answer') : html.index('id="kilder-tittel"')]


def test_sections_render_in_order_with_linked_markers(
    client: TestClient, answered: list[Answer]
) -> None:
    page = client.get("/", params={"q": QUESTION})
    assert page.status_code == 200
    region = answer_region(page.text)
    headings = re.findall(r"<h3>(.*?)</h3>", region)
    assert headings == [RULES_HEADING, REPORTS_HEADING]
    for n in (1, 2, 3):
        assert f'href="#kilde-{n}" aria-label="Kilde {n}">[{n}]</a>' in region
        assert f'id="kilde-{n}"' in page.text  # the card each marker links to
    rules = region[region.index(RULES_HEADING) : region.index(REPORTS_HEADING)]
    assert RULE in rules and PRACTICE not in rules


def test_rules_come_first_whatever_the_order_given(
    client: TestClient, answered: list[Answer]
) -> None:
    index = client.app.state.resources.index  # type: ignore[attr-defined]
    answer = fake_answer(index, QUESTION)
    answered.append(replace(answer, sections=answer.sections[::-1]))
    region = answer_region(client.get("/", params={"q": QUESTION}).text)
    assert re.findall(r"<h3>(.*?)</h3>", region) == [RULES_HEADING, REPORTS_HEADING]


def test_note_question_type_and_confidence(client: TestClient, answered: list[Answer]) -> None:
    text = client.get("/", params={"q": QUESTION}).text
    note = text.index(f'<p class="notice note" role="note">{NOTE}</p>')
    assert note < text.index('<section class="answer')  # above the answer
    assert '<p class="question-type">Spørsmål om regelverket</p>' in text
    assert 'Sikkerhet: <span class="nowrap">82 %</span>' in text
    assert '<h2 id="svar-tittel" tabindex="-1">Svar</h2>' in text


@pytest.mark.parametrize(
    ("kind", "label"),
    [
        (QuestionType.RULE, "Spørsmål om regelverket"),
        (QuestionType.PRACTICE, "Spørsmål om praksis"),
        (QuestionType.STATISTIC, "Spørsmål om tall og statistikk"),
        (QuestionType.RESEARCH, "Spørsmål om forskningsfunn"),
    ],
)
def test_question_types_in_plain_norwegian(
    client: TestClient, answered: list[Answer], kind: QuestionType, label: str
) -> None:
    index = client.app.state.resources.index  # type: ignore[attr-defined]
    answered.append(replace(fake_answer(index, QUESTION), question_type=kind, note=""))
    text = client.get("/", params={"q": QUESTION}).text
    assert f'<p class="question-type">{label}</p>' in text
    assert 'class="notice note"' not in text  # no note, no notice


def test_superseded_card_and_quote_are_marked(client: TestClient, answered: list[Answer]) -> None:
    text = client.get("/", params={"q": QUESTION}).text
    card = text[text.index('id="kilde-2"') : text.index('id="kilde-3"')]
    assert '<span class="tag outdated">Utdatert</span>' in card  # text, not colour alone
    assert 'id="kilde-2-gjeldende"' in card
    assert f"<strong>Gjeldende regel:</strong> «{RULE}»" in card
    assert '<a href="/paragraf?ref=sotjl+%C2%A7+35">sosialtjenesteloven § 35 annet ledd</a>' in card
    assert "(endret, i kraft fra 1. juli 2024)" in card
    assert "Rapporten fra 2019 oppgir 2 G" in card
    assert "Utdatert. Gjeldende regel: sosialtjenesteloven § 35 annet ledd." in card  # copied too
    region = answer_region(text)
    shown = OLD_RULE.replace("§ ", "§\u00a0")  # "§ 35" kept on one line
    assert f'<span class="outdated-quote">{shown}</span>' in region
    assert (
        '<a class="tag outdated" href="#kilde-2-gjeldende" aria-label="Utdatert: se gjeldende '
        'regel under kilde 2">Utdatert</a>'
    ) in region
    statute_card = text[text.index('id="kilde-1"') : text.index('id="kilde-2"')]
    assert '<span class="in-force">endret, i kraft fra 1. juli 2024</span>' in statute_card
    for other in ("kilde-1", "kilde-3"):
        other_card = text[text.index(f'id="{other}"') :][:3000]
        assert "Gjeldende regel:" not in other_card.split("</article>")[0]


def test_superseded_without_date_or_known_passage(
    client: TestClient, answered: list[Answer]
) -> None:
    index = client.app.state.resources.index  # type: ignore[attr-defined]
    answer = fake_answer(index, QUESTION)
    old = answer.citations[1]
    assert old.superseded is not None
    vague = replace(old.superseded, by="sotjl:0000000000", since=None, label="")
    citations = (answer.citations[0], replace(old, superseded=vague), answer.citations[2])
    answered.append(replace(answer, citations=citations))
    page = client.get("/", params={"q": QUESTION})
    assert page.status_code == 200
    assert f"<strong>Gjeldende regel:</strong> «{RULE}»</p>" in page.text  # no label, no date


def test_an_answer_without_sections_renders_its_text(
    client: TestClient, answered: list[Answer]
) -> None:
    index = client.app.state.resources.index  # type: ignore[attr-defined]
    answered.append(replace(fake_answer(index, QUESTION), sections=(), note=""))
    region = answer_region(client.get("/", params={"q": QUESTION}).text)
    assert "<h3>" not in region
    assert f'{RULE} <a class="cite-link" href="#kilde-1"' in region
    assert f'{PRACTICE} <a class="cite-link" href="#kilde-3"' in region


def test_abstention_keeps_its_heading_and_sources(
    client: TestClient, answered: list[Answer]
) -> None:
    index = client.app.state.resources.index  # type: ignore[attr-defined]
    answer = fake_answer(index, QUESTION)
    answered.append(replace(answer, abstained=True, citations=(), sections=(), text="",
                            reason="ingen setning i kildene ligger nær nok spørsmålet"))  # fmt: skip
    text = client.get("/", params={"q": QUESTION}).text
    assert '<h2 id="svar-tittel" tabindex="-1">Kildene svarer ikke på dette</h2>' in text
    assert "Nærmeste kilder" in text and "Sikkerhet" not in text


def test_api_answer_carries_the_new_fields(client: TestClient, answered: list[Answer]) -> None:
    response = client.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200
    body = response.json()
    assert body["question_type"] == "rule" and body["language"] == "en"
    assert body["provisions"] == ["sotjl § 35"] and body["note"] == NOTE
    assert [s["heading"] for s in body["sections"]] == [RULES_HEADING, REPORTS_HEADING]
    assert body["sections"][1]["citations"] == [2, 3]
    superseded = body["citations"][1]["superseded"]
    assert superseded["since"] == "2024-07-01" and superseded["current"] == RULE
    assert body["citations"][0]["superseded"] is None


def test_answer_schema_is_in_step_with_serialize(
    client: TestClient, answered: list[Answer]
) -> None:
    """Every field `answer_to_dict` writes is declared in the API's response models."""
    from pipeline.serialize import answer_to_dict
    from pipeline.web.schemas import AnswerOut, CitationOut, SectionOut, SupersessionOut

    index = client.app.state.resources.index  # type: ignore[attr-defined]
    data = answer_to_dict(fake_answer(index, QUESTION), index)
    assert set(data) == set(AnswerOut.model_fields)
    assert set(data["citations"][0]) == set(CitationOut.model_fields)
    assert set(SectionOut.model_fields) == {f.name for f in fields(AnswerSection)}
    assert set(SupersessionOut.model_fields) == {f.name for f in fields(Supersession)}
    AnswerOut.model_validate(data)
    schema = client.get("/openapi.json").json()["components"]["schemas"]
    assert {"question_type", "sections", "note"} <= set(schema["AnswerOut"]["properties"])
    assert "superseded" in schema["CitationOut"]["properties"]


def test_hostile_section_text_is_escaped(client: TestClient, answered: list[Answer]) -> None:
    index = client.app.state.resources.index  # type: ignore[attr-defined]
    answer = fake_answer(index, QUESTION)
    evil = AnswerSection("<b>Regelverket</b>", "<script>alert(1)</script> [1]", (1,))
    answered.append(replace(answer, sections=(evil,), note="<img src=x>"))
    text = client.get("/", params={"q": QUESTION}).text
    assert "<script>alert" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<img src=x>" not in text and "&lt;b&gt;Regelverket&lt;/b&gt;" in text


# The helpers -----------------------------------------------------------------------------


def test_answer_html_links_only_markers_that_name_a_citation(report_index: Path) -> None:
    citation = Citation("a:1", "a", "A", cast("Any", "report"), (), "", None, "x", 0, 1, 0.5)
    html = render.answer_html("Se note [7] i rapporten. [1] Mer & mer [1]", (citation,))
    assert html.count('class="cite-link"') == 2
    assert "Se note [7] i rapporten." in html and "Mer &amp; mer" in html
    assert render.answer_html("Uten merker.", ()) == "Uten merker."
    assert render.answer_html("Etter § 35 [1]", (citation,)).startswith("Etter §\u00a035 <a")


@pytest.mark.parametrize(
    ("value", "shown"),
    [(0.8234, "82 %"), (0.5, "50 %"), (1.0, "100 %"), (0.996, "over 99 %"), (0.003, "under 1 %"),
     (0.0, "0 %")],
)  # fmt: skip
def test_probability(value: float, shown: str) -> None:
    assert render.probability(value) == shown


def test_percent_and_dates_in_norwegian() -> None:
    assert render.percent(0.8234, 1) == "82,3 %"
    assert render.norwegian_date("2024-07-01") == "1. juli 2024"
    assert render.norwegian_date("2019-01-01") == "1. januar 2019"
    assert render.norwegian_date(None) == ""
    assert render.norwegian_date("våren 2024") == "våren 2024"
