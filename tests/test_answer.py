"""Answers: verbatim, cited quotes, or an honest abstention; the CLI's JSON and batch mode."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.answer import ask
from pipeline.cli import app
from pipeline.search import Index

runner = CliRunner()


@pytest.fixture(scope="module")
def index(statute_index: Path) -> Index:
    return Index(statute_index)


def test_answer_quotes_are_verbatim_and_cited(index: Index) -> None:
    answer = ask(index, "Hvor lenge kan programmet vare?")
    assert not answer.abstained and answer.citations
    first = answer.citations[0]
    assert first.locator == "§ 32" and "ikke lenger enn to år" in first.quote
    for citation in answer.citations:
        passage = index.passage(citation.passage_id)
        assert passage.text[citation.quote_start : citation.quote_end] == citation.quote
        assert citation.quote in answer.text
    assert 0.0 <= answer.confidence <= 1.0 and len(answer.sources) == 10


def test_unanswerable_question_abstains_with_nearest_sources(index: Index) -> None:
    answer = ask(index, "Hva koster en barnehageplass i Bergen i 2026?")
    assert answer.abstained and answer.text == "" and not answer.citations
    assert answer.sources


def test_cli_ask_json_shape(statute_index: Path) -> None:
    result = runner.invoke(
        app, ["ask", "Får man stønad når man er syk?", "--json", "--index", str(statute_index)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {
        "question",
        "answer",
        "abstained",
        "reason",
        "confidence",
        "citations",
        "sources",
    }
    fields = {
        "passage_id",
        "doc_id",
        "title",
        "kind",
        "section",
        "page",
        "quote",
        "text",
        "score",
        "legal_refs",
    }
    assert all(fields <= set(c) for c in data["citations"])
    assert all({"passage_id", "text", "score"} <= set(s) for s in data["sources"])
    assert all(c["quote"] in c["text"] for c in data["citations"])


def test_cli_ask_batch_keeps_order_and_reports_errors(statute_index: Path, tmp_path: Path) -> None:
    questions = tmp_path / "questions.txt"
    questions.write_text("Hvor lenge kan programmet vare?\n???\n\nsotjl § 35\n", encoding="utf-8")
    result = runner.invoke(
        app, ["ask", "--json", "--questions", str(questions), "--index", str(statute_index)]
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["question"] for r in rows] == ["Hvor lenge kan programmet vare?", "???", "sotjl § 35"]
    assert "error" in rows[1] and "no words" in rows[1]["error"]
    assert rows[2]["citations"][0]["locator"] == "§ 35"


def test_cli_ask_without_index_says_build(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ask", "Hvor lenge?", "--index", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "run `kvp build`" in result.stderr
