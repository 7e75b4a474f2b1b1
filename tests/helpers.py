"""Test helpers shared by several test modules."""

from __future__ import annotations

from typing import Any

import numpy as np


class HashingEncoder:
    """A small deterministic stand-in for the e5 encoder: hashed character n-grams."""

    name = "test/hashing-64"
    dim = 64

    def __init__(self) -> None:
        from sklearn.feature_extraction.text import HashingVectorizer

        self._hashing = HashingVectorizer(
            n_features=self.dim, analyzer="char_wb", ngram_range=(3, 4)
        )
        self.calls = 0

    def encode_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return self._hashing.transform(texts).toarray().astype(np.float32)

    encode_queries = encode_passages


def error_message(response: Any, english: tuple[str, ...] = ()) -> str:
    """The one message of an API error body; none of the `english` words may appear in it."""
    body = response.json()
    assert set(body) == {"error"}, body
    message: str = body["error"]
    assert not any(word in message.lower().split() for word in english), message
    return message
