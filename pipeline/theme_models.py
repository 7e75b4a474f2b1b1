"""One theme's model: a logistic regression stacked with a vote of the nearest labelled passages.

Per theme, two scores are combined by a small logistic regression fitted on out-of-fold
values (stacking):

1. the decision value of a balanced logistic regression over the word TF-IDF row joined with
   the weighted passage vector (`pipeline.themes.ThemeClassifier.features`);
2. the share of the theme among the passage's `k` nearest labelled passages by cosine of
   their vectors, each neighbour weighted by its similarity to the power `SHARPNESS`.

Fitting the combiner on out-of-fold scores is Platt scaling of the stack, so its output is a
calibrated probability, as the single calibrated regression before it was. Repeated 5-fold
CV on the train split measured the vote at +0.004 macro-F1 (±0.002, 25 paired folds) over the
regression alone (0.820 against 0.815); holding out whole documents, 0.715 against 0.714.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

SHARPNESS = 4.0  # weight = similarity⁴: near-duplicates count far more than loose neighbours
SEED = 0


@dataclass(slots=True)  # not frozen: saved models unpickle it by its slots
class NeighbourVotes:
    """The labelled passages' unit vectors and labels, shared by the four theme models."""

    vectors: np.ndarray  # float32, one unit-length row per labelled passage
    labels: np.ndarray  # int8, one column per theme
    k: int

    def votes(self, vectors: np.ndarray, among: np.ndarray | None = None) -> np.ndarray:
        """Similarity-weighted share of each theme among the k nearest labelled passages
        (only those at the indices `among`, when given)."""
        return neighbour_votes(vectors, self.vectors, self.labels, self.k, among)


def neighbour_votes(
    queries: np.ndarray,
    references: np.ndarray,
    labels: np.ndarray,
    k: int,
    among: np.ndarray | None = None,
) -> np.ndarray:
    import numpy as np

    if among is not None:
        references, labels = references[among], labels[among]
    k = min(k, len(references))
    similarity = unit_rows(queries) @ references.T
    nearest = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    weights = np.maximum(np.take_along_axis(similarity, nearest, axis=1), 0.0) ** SHARPNESS
    shares = np.einsum("nk,nkt->nt", weights, labels[nearest].astype(np.float32))
    return np.asarray(shares / np.maximum(weights.sum(axis=1, keepdims=True), 1e-9))


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    import numpy as np

    rows = np.asarray(vectors, dtype=np.float32)
    return np.asarray(rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-9))


class ThemeStack:
    """The regression on words and vector, its combiner, and (optionally) the vote."""

    def __init__(self, theme: int, regularisation: float, folds: int) -> None:
        self.theme = theme
        self.regularisation = regularisation
        self.folds = folds
        self.words: Any = None  # the regression, refitted on all examples
        self.combiner: Any = None
        self.neighbours: NeighbourVotes | None = None

    def regression(self) -> Any:
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.regularisation, class_weight="balanced", max_iter=5000)

    def fit(self, features: Any, truth: np.ndarray, neighbours: NeighbourVotes | None) -> Any:
        """Fit on all examples; the combiner on scores each example got out of fold."""
        import numpy as np
        from sklearn.linear_model import LogisticRegression
        from sklearn.model_selection import StratifiedKFold

        y = truth[:, self.theme]
        scores = np.zeros((len(y), 2 if neighbours else 1))
        split = StratifiedKFold(self.folds, shuffle=True, random_state=SEED)
        for fit, held in split.split(np.zeros(len(y)), y):
            model = self.regression().fit(features[fit], y[fit])
            scores[held, 0] = model.decision_function(features[held])
            if neighbours is not None:
                votes = neighbours.votes(neighbours.vectors[held], among=fit)
                scores[held, 1] = votes[:, self.theme]
        self.words = self.regression().fit(features, y)
        self.neighbours = neighbours
        self.combiner = LogisticRegression().fit(scores, y)
        return self

    def predict_proba(self, features: Any, votes: np.ndarray | None = None) -> np.ndarray:
        """(n, 2) like scikit-learn's: the probability of not-the-theme and of the theme.
        `votes` (`NeighbourVotes.votes` of the texts' vectors) is needed with neighbours."""
        import numpy as np

        columns = [self.words.decision_function(features)]
        if self.neighbours is not None:
            if votes is None:
                raise ValueError("this theme model votes by neighbours: pass their votes")
            columns.append(votes[:, self.theme])
        return np.asarray(self.combiner.predict_proba(np.column_stack(columns)))

    def word_coefficients(self, width: int) -> np.ndarray:
        """The regression's weight of each of the first `width` (word) features."""
        import numpy as np

        return np.asarray(self.words.coef_[0][:width])
