"""The README's main job on the whole sample corpus: build, ask, evaluate (slow, runs in CI)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

from .conftest import CORPUS

runner = CliRunner()


@pytest.fixture(scope="module")
def corpus_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus-index") / "index"
    result = runner.invoke(app, ["build", "--corpus", str(CORPUS), "--index", str(folder)])
    assert result.exit_code == 0, result.output
    assert "7 documents" in result.stdout
    return folder


@pytest.mark.slow
def test_build_and_ask_on_the_sample_corpus(corpus_index: Path) -> None:
    again = runner.invoke(app, ["build", "--corpus", str(CORPUS), "--index", str(corpus_index)])
    assert again.exit_code == 0 and "index up to date" in again.stdout
    result = runner.invoke(
        app, ["ask", "Kan en som får AAP få KVP?", "--json", "--index", str(corpus_index)]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert not answer["abstained"] and answer["citations"]
    assert {c["doc_id"] for c in answer["citations"]} <= {
        "fafo-2021-35",
        "oxford-research-2022",
        "velferdsetaten-2025",
        "moss-revisjon-2018",
        "uis-bachelor-2023",
        "sotjl",
        "kvp-forskrift",
    }


@pytest.mark.slow
def test_eval_retrieval_reports_metrics(corpus_index: Path) -> None:
    args = [
        "eval",
        "retrieval",
        "--split",
        "dev",
        "--json",
        "--no-baselines",
        "--index",
        str(corpus_index),
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["sets"]) == {
        "evaluation set, dev", "training data, test split", "training data, held-out document"
    } and not data["skipped"]  # fmt: skip
    for rows in data["sets"].values():
        systems = {row["system"]: dict(row["recall"]) for row in rows}
        # A sanity floor far below the measured numbers: most quotes found in the top 10.
        assert systems["kvp (as shipped)"][10] > 0.5
    assert 0.0 <= data["abstention"] <= 1.0 and 0.0 <= data["false_abstention"] <= 1.0


def test_baselines_run_beside_the_index(statute_index: Path) -> None:
    """The baselines on the statute texts: same code as on the corpus, far fewer chunks."""
    result = runner.invoke(
        app, ["eval", "retrieval", "--split", "dev", "--json", "--index", str(statute_index)]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    systems = {row["system"]: dict(row["recall"]) for row in data["sets"]["evaluation set, dev"]}
    assert set(systems) == {
        "kvp (as shipped)",
        "kvp without the reranker",
        "kvp with the base encoder, no reranker",
        "baseline: BM25, 1000-char chunks",
        "baseline: dense (base e5), 1000-char chunks",
    }
    # The training data is about the whole corpus: on this index it is reported as skipped.
    assert set(data["skipped"]) == {"training data, test split", "training data, held-out document"}
    # Only statute questions can be found in this index; each system finds some of them.
    assert all(recall[10] > 0.1 for recall in systems.values())


@pytest.mark.slow
def test_text_answer_leads_with_the_current_law_by_its_section(corpus_index: Path) -> None:
    result = runner.invoke(
        app, ["ask", "Hvor lenge kan programmet vare?", "--index", str(corpus_index)]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert lines[:2] == ["Spørsmål om regelverket", "Regelverket"], result.stdout
    assert lines[2].startswith("sosialtjenesteloven § 32 første ledd: ")
    assert "ikke lenger enn to år" in lines[2] and "inntil ett år" in lines[2]


@pytest.mark.slow
def test_train_encoder_runs_on_a_small_subset_and_exports_what_it_trained(
    corpus_index: Path, tmp_path: Path
) -> None:
    """The CI variant of `kvp train-encoder` (the full run is a benchmark, see its card)."""
    out = tmp_path / "encoder"
    args = ["train-encoder", "--limit", "8", "--epochs", "1", "--out", str(out),
            "--index", str(corpus_index)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["examples"] == 8 and 1 <= manifest["steps"] <= 2  # batches repeat no passage
    assert manifest["export_check"] > 0.999  # the engine runs exactly the trained weights
