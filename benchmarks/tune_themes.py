"""Choose the theme classifier's settings by 5-fold cross-validation on the train split.

The test split is never read here. Run by hand: `.venv/bin/python benchmarks/tune_themes.py`.
Prints macro-F1 for each setting; the chosen values are the constants in pipeline/themes.py.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

from pipeline import themes
from pipeline.embed import EmbeddingCache, Encoder, load_encoder
from pipeline.themes import (
    THRESHOLD,
    LabelledExample,
    ThemeClassifier,
    label_matrix,
    load_labelled,
)

GRID = [(c, w) for c in (1.0, 2.0, 4.0, 8.0) for w in (0.0, 1.0, 2.0, 3.0)]


def cross_validated_f1(
    train: list[LabelledExample], vectors: np.ndarray, encoder: Encoder, c: float, w: float
) -> float:
    scores = []
    themes.EMBEDDING_WEIGHT = w
    use = encoder if w > 0 else None
    for fit_idx, val_idx in KFold(5, shuffle=True, random_state=0).split(train):
        fit = [train[i] for i in fit_idx]
        val = [train[i] for i in val_idx]
        fit_vectors = vectors[fit_idx] if use else None
        model = ThemeClassifier.train(fit, encoder=use, vectors=fit_vectors, regularisation=c)
        val_vectors = vectors[val_idx] if use else None
        probabilities = model.predict_proba([e.text for e in val], val_vectors)
        predicted = (probabilities >= THRESHOLD).astype(int)
        scores.append(f1_score(label_matrix(val), predicted, average="macro", zero_division=0))
    return float(np.mean(scores))


def main() -> None:
    train = [e for e in load_labelled() if e.split == "train"]
    encoder = load_encoder()
    vectors = EmbeddingCache().encode_passages(encoder, [e.text for e in train])
    print(f"train examples: {len(train)}")
    for c, w in GRID:
        start = time.perf_counter()
        f1 = cross_validated_f1(train, vectors, encoder, c, w)
        seconds = time.perf_counter() - start
        line = f"C={c:<4} embedding weight={w:<4} macro-F1 (5-fold CV) = {f1:.3f}"
        print(f"{line}  ({seconds:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
