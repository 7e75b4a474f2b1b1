"""The kvp command: output shapes, exit codes, and errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

from .conftest import CORPUS

runner = CliRunner()


def test_extract_json_shape() -> None:
    result = runner.invoke(
        app, ["extract", str(CORPUS / "law" / "forskrift-kvalifiseringsprogram.md"), "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["source"]["doc_id"] == "kvp-forskrift" and data["source"]["kind"] == "regulation"
    block = data["blocks"][3]
    assert set(block) >= {"text", "role", "page", "section", "char_start", "char_end"}
    assert data["text"][block["char_start"] : block["char_end"]] == block["text"]
    assert set(data["report"]) >= {"removed", "repairs", "warnings", "page_count"}


def test_extract_text_shows_blocks_and_summary() -> None:
    result = runner.invoke(
        app, ["extract", str(CORPUS / "reports" / "fafo-2021-35-aap-kvp-unge.txt")]
    )
    assert result.exit_code == 0
    assert "removed 6 headers" in result.stdout and "separated 6 footnotes" in result.stdout
    assert "[ p.60] heading" in result.stdout


def test_extract_corpus_summary() -> None:
    result = runner.invoke(app, ["extract", str(CORPUS)])
    assert result.exit_code == 0, result.output
    assert "7 documents extracted, 0 failed." in result.stdout


def test_extract_error_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "tom.pdf").write_bytes(b"")
    result = runner.invoke(app, ["extract", str(tmp_path / "tom.pdf")])
    assert result.exit_code == 1
    assert "error: tom.pdf: the file is empty" in result.stderr
    assert "Traceback" not in result.output


def test_extract_corpus_with_a_broken_file_reports_it_and_fails(tmp_path: Path) -> None:
    (tmp_path / "god.txt").write_text("Kvalifiseringsprogrammet er et tilbud.\n", encoding="utf-8")
    (tmp_path / "tom.txt").write_bytes(b"")
    result = runner.invoke(app, ["extract", str(tmp_path)])
    assert result.exit_code == 1
    assert "1 documents extracted, 1 failed." in result.stdout
    assert "tom.txt" in result.stderr and "empty" in result.stderr
