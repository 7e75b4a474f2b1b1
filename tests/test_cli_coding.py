"""kvp code, kvp agreement (store), kvp export --format qdpx|qdc and kvp import."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()


def kvp(*args: str | Path) -> tuple[int, str, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.stdout, result.stderr


def test_a_coders_session_from_the_command_line(statute_index: Path, tmp_path: Path) -> None:
    labels = tmp_path / "labels.sqlite"
    where = ("--index", statute_index, "--labels", labels)
    code, out, _ = kvp("code", "queue", "--coder", "AB", "-n", "3", "--json", *where)
    assert code == 0, out
    queue = json.loads(out)
    assert len(queue) == 3 and queue[0]["uncertainty"] >= queue[-1]["uncertainty"]
    first, second = queue[0]["passage_id"], queue[1]["passage_id"]

    code, out, _ = kvp("code", "review", first, "--coder", "AB", "--add", "youth",
                       "--memo", "unge", *where)  # fmt: skip
    assert code == 0 and "youth" in out and "corrected the model" in out
    code, out, _ = kvp("code", "review", second, "--coder", "AB", "--none", *where)
    assert code == 0 and f"{second}: none" in out
    code, out, err = kvp("code", "review", first, "--coder", "AB", "--add", "ungdom", *where)
    assert code == 1 and "unknown theme 'ungdom'" in err
    code, out, _ = kvp("code", "span", first, "--coder", "AB", "--code", "funding", "--start",
                       "0", "--end", "10", *where)  # fmt: skip
    assert code == 0 and out.startswith("span 1: funding")
    code, out, _ = kvp("code", "review", first, "--coder", "CD", "--add", "youth", *where)
    assert code == 0
    code, out, _ = kvp("code", "status", *where)
    assert "AB: 2 reviewed (" in out and "1 spans" in out and "CD: 1 reviewed (1 corrected)" in out

    # Search and ask count a reviewed passage under its coders' themes (first: + youth).
    search = ("search", "kvalifiseringsprogrammet", "--theme", "youth", "--k", "100", "--json")
    code, out, _ = kvp(*search, "--index", statute_index, "--labels", tmp_path / "none.sqlite")
    assert code == 0 and first not in {row["passage_id"] for row in json.loads(out)}
    code, out, _ = kvp(*search, *where)
    assert code == 0 and first in {row["passage_id"] for row in json.loads(out)}
    assert not (tmp_path / "none.sqlite").exists()  # searching creates no labels store

    code, out, _ = kvp("code", "queue", "--coder", "AB", "-n", "50", "--json", *where)
    assert {first, second}.isdisjoint(row["passage_id"] for row in json.loads(out))

    code, out, _ = kvp("agreement", "--coders", "AB,CD", "--json", *where)
    assert code == 0, out
    assert json.loads(out)["units"] == 1

    code, out, err = kvp("export", "--format", "csv", "--index", statute_index, "--labels", labels)
    rows = {r["passage_id"]: r for r in csv.DictReader(io.StringIO(out.lstrip("\ufeff")))}
    assert rows[first]["label_source"] == "reviewed" and rows[first]["coder"] in {"AB", "CD"}
    assert rows[second]["labels"] == "" and rows[second]["label_source"] == "reviewed"

    project = tmp_path / "kvp.qdpx"
    code, _, err = kvp("export", "--format", "qdpx", "--out", project, "--index", statute_index,
                       "--labels", labels)  # fmt: skip
    assert code == 0 and project.is_file() and "codings" in err
    code, _, err = kvp("export", "--format", "qdc", "--index", statute_index, "--labels", labels)
    assert code == 1 and "--out" in err
    fresh = tmp_path / "fresh.sqlite"
    code, out, _ = kvp("import", project, "--index", statute_index, "--labels", fresh)
    assert code == 0 and "imported 2 reviews and 1 spans by AB, CD" in out
