"""Choose the theme classifier's regularisation by 5-fold cross-validation on the train split.

The test split is never read here. Run by hand: `.venv/bin/python benchmarks/tune_themes.py`.
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.metrics import f1_score
from sklearn.model_selection import KFold

from pipeline.themes import THRESHOLD, ThemeClassifier, label_matrix, load_labelled

GRID = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)


def cross_validated_f1(train: list, regularisation: float, folds: int = 5) -> float:
    scores = []
    for fit_idx, val_idx in KFold(folds, shuffle=True, random_state=0).split(train):
        fit = [train[i] for i in fit_idx]
        val = [train[i] for i in val_idx]
        model = ThemeClassifier.train(fit, regularisation=regularisation)
        predicted = (model.predict_proba([e.text for e in val]) >= THRESHOLD).astype(int)
        scores.append(f1_score(label_matrix(val), predicted, average="macro", zero_division=0))
    return float(np.mean(scores))


def main() -> None:
    train = [e for e in load_labelled() if e.split == "train"]
    print(f"train examples: {len(train)}")
    for regularisation in GRID:
        start = time.perf_counter()
        f1 = cross_validated_f1(train, regularisation)
        seconds = time.perf_counter() - start
        print(f"C={regularisation:<5} macro-F1 (5-fold CV) = {f1:.3f}  ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
