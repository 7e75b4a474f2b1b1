"""Theme tagging for researchers: barriers, organisation, youth, funding.

A multi-label classifier built with scikit-learn: one logistic regression per theme over
Norwegian-aware lexical features (stemmed words and their bigrams, compound parts, expanded
abbreviations, plus character n-grams that survive inflection), each calibrated with
cross-validated sigmoid scaling so a probability of 0.8 means about 8 in 10. Predictions
explain themselves by the terms that pushed them up and the nearest labelled examples.

The codebook that defines the themes is ``models/themes/CODEBOOK.md``; the labelled data
``models/themes/labelled.jsonl`` carries a fixed train/test split, and the test split is
never used for training or for choosing settings.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import PipelineError
from pipeline.language import normalize_tokens

if TYPE_CHECKING:
    import numpy as np
    from sklearn.pipeline import Pipeline

THEMES = ("barriers", "organisation", "youth", "funding")
MODEL_DIR = Path(__file__).resolve().parent.parent / "models" / "themes"
LABELLED_FILE = "labelled.jsonl"
MODEL_FILE = "classifier.joblib"
MANIFEST_FILE = "manifest.json"
THRESHOLD = 0.5
CALIBRATION_FOLDS = 5
REGULARISATION = 4.0  # chosen by 5-fold cross-validation on the train split (see model card)
MAX_TEXT_CHARS = 20_000  # longer texts are classified on their first 20,000 characters
EXPLAIN_TERMS = 6


class ThemeError(PipelineError):
    """Theme data, model or filter is unusable; the message lists the valid themes."""


@dataclass(frozen=True, slots=True)
class LabelledExample:
    doc_id: str
    text: str
    labels: tuple[str, ...]
    split: str  # "train" or "test"


@dataclass(frozen=True, slots=True)
class ThemePrediction:
    """Probabilities for every theme, the themes above threshold, and why."""

    scores: tuple[tuple[str, float], ...]
    labels: tuple[str, ...]
    explanation: tuple[tuple[str, tuple[str, ...]], ...] = ()  # theme → driving terms


def check_theme(name: str) -> str:
    """Validate a theme name from a user, with the list of valid ones on error."""
    if name not in THEMES:
        raise ThemeError(f"unknown theme '{name}'; valid themes are {', '.join(THEMES)}.")
    return name


def load_labelled(path: Path | str = MODEL_DIR / LABELLED_FILE) -> list[LabelledExample]:
    """Read labelled examples (JSONL), checking every label against the codebook's themes."""
    path = Path(path)
    if not path.is_file():
        raise ThemeError(f"no labelled data at {path}; create it as described in CODEBOOK.md.")
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            labels = tuple(sorted(check_theme(label) for label in row["labels"]))
            examples.append(LabelledExample(row["doc_id"], row["text"], labels, row["split"]))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ThemeError(f"{path}:{number}: not a labelled example ({err}).") from err
        except ThemeError as err:
            raise ThemeError(f"{path}:{number}: {err}") from err
    return examples


def check_coverage(examples: Sequence[LabelledExample]) -> None:
    """Every theme needs enough positive and negative examples for calibration folds."""
    for theme in THEMES:
        positives = sum(theme in e.labels for e in examples)
        if min(positives, len(examples) - positives) < CALIBRATION_FOLDS:
            raise ThemeError(
                f"theme '{theme}' has {positives} positive examples of {len(examples)}; every "
                f"theme ({', '.join(THEMES)}) needs at least {CALIBRATION_FOLDS} positive and "
                f"{CALIBRATION_FOLDS} negative examples."
            )


def analyzer(text: str) -> list[str]:
    """Word features: stems with compound parts and abbreviations expanded, plus bigrams."""
    tokens = normalize_tokens(text)
    plain = normalize_tokens(text, expand=False)
    return tokens + [f"{a} {b}" for a, b in zip(plain, plain[1:], strict=False)]


def build_pipeline(regularisation: float = REGULARISATION) -> Pipeline:
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multioutput import MultiOutputClassifier
    from sklearn.pipeline import FeatureUnion, Pipeline

    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=analyzer, min_df=2, sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(3, 5), min_df=2, sublinear_tf=True,
                    max_features=60_000, lowercase=True,
                ),
            ),
        ]
    )
    base = LogisticRegression(C=regularisation, class_weight="balanced", max_iter=2000)
    calibrated = CalibratedClassifierCV(base, method="sigmoid", cv=CALIBRATION_FOLDS)
    return Pipeline([("features", features), ("classify", MultiOutputClassifier(calibrated))])


def label_matrix(examples: Sequence[LabelledExample]) -> np.ndarray:
    import numpy as np

    return np.array([[theme in e.labels for theme in THEMES] for e in examples], dtype=int)


class ThemeClassifier:
    """A trained theme model: predict, explain, save and load."""

    def __init__(self, model: Pipeline, examples: Sequence[LabelledExample], meta: dict[str, Any]):
        self.model = model
        self.examples = list(examples)
        self.meta = meta

    @classmethod
    def train(
        cls, examples: Sequence[LabelledExample], *, regularisation: float = REGULARISATION
    ) -> ThemeClassifier:
        """Fit on the given examples (pass the train split only)."""
        check_coverage(examples)
        model = build_pipeline(regularisation)
        model.fit([e.text for e in examples], label_matrix(examples))
        meta = {"themes": list(THEMES), "regularisation": regularisation, "train_size": len(examples)}
        return cls(model, examples, meta)

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each theme (columns in THEMES order) for each text."""
        import numpy as np

        if not texts:
            return np.zeros((0, len(THEMES)))
        clipped = [text[:MAX_TEXT_CHARS] for text in texts]
        per_theme = self.model.predict_proba(clipped)
        return np.column_stack([probs[:, 1] for probs in per_theme])

    def predict(self, texts: Sequence[str], *, explain: bool = False) -> list[ThemePrediction]:
        probabilities = self.predict_proba(texts)
        predictions = []
        for text, row in zip(texts, probabilities, strict=True):
            scores = tuple((theme, round(float(p), 4)) for theme, p in zip(THEMES, row, strict=True))
            labels = tuple(theme for theme, p in scores if p >= THRESHOLD)
            why = self.explain_terms(text, labels) if explain else ()
            predictions.append(ThemePrediction(scores, labels, why))
        return predictions

    def explain_terms(self, text: str, themes: Sequence[str]) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """For each theme, the word features in the text that raised its score the most."""
        import numpy as np

        union = self.model.named_steps["features"]
        words = dict(union.transformer_list)["words"]
        vector = words.transform([text[:MAX_TEXT_CHARS]])
        names = words.get_feature_names_out()
        n_words = len(names)
        estimators = self.model.named_steps["classify"].estimators_
        explanation = []
        for theme in themes:
            calibrated = estimators[THEMES.index(theme)]
            coef = np.mean([c.estimator.coef_[0][:n_words] for c in calibrated.calibrated_classifiers_], axis=0)
            contribution = vector.multiply(coef).toarray()[0]
            top = np.argsort(contribution)[::-1][:EXPLAIN_TERMS]
            explanation.append((theme, tuple(str(names[i]) for i in top if contribution[i] > 0)))
        return tuple(explanation)

    def nearest_examples(self, text: str, k: int = 3) -> list[tuple[float, LabelledExample]]:
        """The labelled training examples most like the text (cosine over the features)."""
        union = self.model.named_steps["features"]
        matrix = union.transform([e.text for e in self.examples])
        vector = union.transform([text[:MAX_TEXT_CHARS]])
        from sklearn.metrics.pairwise import cosine_similarity

        similarity = cosine_similarity(vector, matrix)[0]
        order = similarity.argsort()[::-1][:k]
        return [(float(similarity[i]), self.examples[i]) for i in order]

    def save(self, folder: Path | str = MODEL_DIR) -> Path:
        import joblib
        import sklearn

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"model": self.model, "examples": self.examples}, folder / MODEL_FILE)
        meta = {**self.meta, "sklearn": sklearn.__version__, "python": platform.python_version()}
        (folder / MANIFEST_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return folder

    @classmethod
    def load(cls, folder: Path | str = MODEL_DIR) -> ThemeClassifier:
        import joblib

        folder = Path(folder)
        path = folder / MODEL_FILE
        if not path.is_file():
            raise ThemeError(f"no theme model at {path}; run `kvp train-themes` to train one.")
        meta = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        try:
            stored = joblib.load(path)
        except Exception as err:  # an unreadable pickle: a different scikit-learn or a bad file
            raise ThemeError(
                f"the theme model at {path} could not be loaded ({type(err).__name__}); "
                "run `kvp train-themes` to retrain it."
            ) from err
        return cls(stored["model"], stored["examples"], meta)
