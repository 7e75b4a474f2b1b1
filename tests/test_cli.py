"""The kvp command: output shapes, exit codes, and errors without tracebacks."""

from __future__ import annotations

import codecs
import csv
import json
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.export import CSV_COLUMNS

from .conftest import CORPUS
from .test_web_answer import report_index  # noqa: F401 (a fixture)

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


# kvp export -------------------------------------------------------------------------------


def exported(index: Path, *args: str) -> Result:
    result = runner.invoke(app, ["export", "--index", str(index), *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize(("delimiter", "separator"), [(";", ";"), ("tab", "\t"), (",", ",")])
def test_export_csv_for_excel(
    report_index: Path,  # noqa: F811
    tmp_path: Path,
    delimiter: str,
    separator: str,
) -> None:
    out = tmp_path / "passasjer.csv"
    exported(report_index, "--format", "csv", "--delimiter", delimiter, "--out", str(out))
    data = out.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)  # Excel reads the file as UTF-8 only after it
    assert data.count(codecs.BOM_UTF8) == 1
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert handle.readline().rstrip("\r\n") == separator.join(CSV_COLUMNS)
        handle.seek(0)
        rows = list(csv.DictReader(handle, delimiter=separator))
    jsonl = [json.loads(line) for line in exported(report_index).stdout.splitlines()]
    assert [r["text"] for r in rows] == [r["text"] for r in jsonl]  # Norwegian letters intact
    assert any("Kvalifiseringsstønaden skal på årsbasis" in r["text"] for r in rows)
    assert [r["section"] for r in rows] == [" › ".join(r["section"]) for r in jsonl]


def test_export_to_stdout_csv_has_a_bom_and_jsonl_none(report_index: Path) -> None:  # noqa: F811
    csv_out = exported(report_index, "--format", "csv", "--delimiter", ";").stdout_bytes
    assert csv_out.startswith(codecs.BOM_UTF8 + b"passage_id;doc_id;")
    jsonl_out = exported(report_index, "--format", "jsonl").stdout_bytes
    assert jsonl_out.startswith(b'{"passage_id": ') and codecs.BOM_UTF8 not in jsonl_out
    assert "ø" in jsonl_out.decode("utf-8")


def test_export_default_delimiter_is_a_comma(report_index: Path) -> None:  # noqa: F811
    header = exported(report_index, "--format", "csv").stdout_bytes.splitlines()[0]
    assert header == codecs.BOM_UTF8 + ",".join(CSV_COLUMNS).encode()


def test_export_refuses_an_unknown_delimiter(report_index: Path) -> None:  # noqa: F811
    result = runner.invoke(
        app, ["export", "--index", str(report_index), "--format", "csv", "--delimiter", "|"]
    )
    assert result.exit_code == 1
    assert "unknown delimiter '|'; valid delimiters are ',', ';', 'tab'." in result.stderr
    assert "Traceback" not in result.output
