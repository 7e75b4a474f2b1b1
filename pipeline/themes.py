"""Theme tagging for researchers: barriers, organisation, youth, funding.

A multi-label classifier built with scikit-learn: one logistic regression per theme over
Norwegian-aware word features (`pipeline.theme_words`: stems and their bigrams, compound
parts, expanded abbreviations) joined with the passage's multilingual-e5 vector, each
calibrated with cross-validated sigmoid scaling so a probability of 0.8 means about 8 in 10.
Predictions explain themselves by the words of the text that pushed them up (as they stand
in the text, not as stems) and the nearest labelled examples.

The codebook that defines the themes is ``models/themes/CODEBOOK.md``; the labelled data
``models/themes/labelled.jsonl`` carries a fixed train/test split, and the test split is
never used for training or for choosing settings.
"""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.embed import EmbeddingCache, Encoder, encoder_spec, load_encoder
from pipeline.errors import ThemeError
from pipeline.model import THEME_THRESHOLD as THRESHOLD
from pipeline.model import THEMES as THEMES
from pipeline.theme_models import NeighbourVotes, ThemeStack, unit_rows
from pipeline.theme_words import (
    ANALYZERS,
    WORD_FEATURES,
    WordFeatures,
    feature_spans,
    stems,
    strongest_phrases,
)

if TYPE_CHECKING:
    import numpy as np

    from pipeline.evaluate import ThemeMetrics
    from pipeline.labels import Review
    from pipeline.review import MergedLabels

LABELLED_FILE = "labelled.jsonl"
# Passages written to teach the codebook's rules (DATA.md, "Written passages"): beside the
# labelled data, train only, under this doc_id; never held out, never evaluated on.
WRITTEN_FILE = "written.jsonl"
WRITTEN_DOC = "written"
MODEL_FILE = "classifier.joblib"
MANIFEST_FILE = "manifest.json"
CALIBRATION_FOLDS = 5
MAX_TEXT_CHARS = 20_000  # longer texts are classified on their first 20,000 characters
EXPLAIN_TERMS = 6


@dataclass(frozen=True, slots=True)
class ThemeSettings:
    """The theme model's tunable numbers, chosen by repeated 5-fold cross-validation on the
    train split only (`benchmarks/tune_themes.py`; the table is in the model card)."""

    # C of each theme's logistic regression: 4, 16 and 64 gave 0.813, 0.815 and 0.814 CV
    # macro-F1 at vector weight 0.5 (no vote); 4.0 before.
    regularisation: float = 16.0
    # Scale of the unit-length passage vector beside the TF-IDF row (also unit length): at
    # 2.0 the vector drowns the words (0.785); 0.5 was best at every C (0.25: 0.808, 1: 0.806).
    vector_weight: float = 0.5
    words: WordFeatures = "stems"  # "stems+quantities" measured no better (see the card)
    # Nearest labelled passages whose vote is stacked with the regression (0: no vote);
    # 10 and 20 measured alike, +0.004 ± 0.002 over none (`pipeline.theme_models`).
    neighbours: int = 10

    def __post_init__(self) -> None:
        if self.words not in ANALYZERS:
            raise ThemeError(
                f"unknown word features '{self.words}'; valid values are "
                f"{', '.join(WORD_FEATURES)}."
            )


DEFAULT_SETTINGS = ThemeSettings()


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


def model_dir() -> Path:
    """models/themes/ of the checkout, or of the installed package (see `pipeline.paths`)."""
    from pipeline.paths import models_dir

    return models_dir() / "themes"


def load_labelled(path: Path | str | None = None) -> list[LabelledExample]:
    """Read labelled examples (JSONL), checking every label against the codebook's themes."""
    path = Path(path or model_dir() / LABELLED_FILE)
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


def load_written(data: Path | str | None = None) -> list[LabelledExample]:
    """The written passages beside a labelled data file (none if there is no such file)."""
    path = Path(data or model_dir() / LABELLED_FILE).with_name(WRITTEN_FILE)
    if not path.is_file():
        return []
    written = load_labelled(path)
    for number, example in enumerate(written, start=1):
        if example.split != "train" or example.doc_id != WRITTEN_DOC:
            raise ThemeError(
                f"{path}:{number}: a written passage has doc_id '{WRITTEN_DOC}' and split "
                "'train': it may teach the model, never test it."
            )
    return written


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


# Models saved before `pipeline.theme_words` existed name their analyzer by this path.
analyzer = stems


def label_matrix(examples: Sequence[LabelledExample]) -> np.ndarray:
    import numpy as np

    return np.array([[theme in e.labels for theme in THEMES] for e in examples], dtype=int)


class ThemeClassifier:
    """A trained theme model over word features and (optionally) passage vectors.

    When trained with an encoder, predictions need the same encoder's passage vectors: pass
    them (e.g. from the index's embedding cache) or let the classifier embed the texts.
    """

    def __init__(
        self,
        vectorizer: Any,
        models: list[Any],
        examples: Sequence[LabelledExample],
        meta: dict[str, Any],
        encoder: Encoder | None = None,
    ) -> None:
        self.vectorizer = vectorizer
        self.models = models
        self.examples = list(examples)
        self.meta = meta
        self._encoder = encoder
        self.cache: EmbeddingCache | None = None  # set to reuse vectors across runs
        self._word_weights: dict[str, Any] = {}  # theme → mean coefficient of each feature

    @classmethod
    def train(
        cls,
        examples: Sequence[LabelledExample],
        *,
        encoder: Encoder | None = None,
        vectors: np.ndarray | None = None,
        cache: EmbeddingCache | None = None,
        settings: ThemeSettings = DEFAULT_SETTINGS,
        regularisation: float | None = None,
    ) -> ThemeClassifier:
        """Fit on the given examples (pass the train split only); `regularisation`, when
        given, overrides `settings.regularisation`."""
        from dataclasses import replace

        from sklearn.feature_extraction.text import TfidfVectorizer

        check_coverage(examples)
        if regularisation is not None:
            settings = replace(settings, regularisation=regularisation)
        texts = [e.text for e in examples]
        vectorizer = TfidfVectorizer(analyzer=ANALYZERS[settings.words], min_df=2,
                                     sublinear_tf=True).fit(texts)  # fmt: skip
        meta = {
            "themes": list(THEMES),
            "settings": asdict(settings),
            "regularisation": settings.regularisation,
            "embedding_weight": settings.vector_weight,
            "words": settings.words,
            "neighbours": settings.neighbours if encoder else 0,
            "encoder": encoder.name if encoder else None,
            "train_size": len(examples),
            "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        classifier = cls(vectorizer, [], examples, meta, encoder)
        classifier.cache = cache
        features, vectors = classifier.inputs(texts, vectors)
        truth = label_matrix(examples)
        neighbours = None
        if vectors is not None and meta["neighbours"]:
            labels = truth.astype("int8")
            neighbours = NeighbourVotes(unit_rows(vectors), labels, settings.neighbours)
        classifier.models = [
            ThemeStack(j, settings.regularisation, CALIBRATION_FOLDS).fit(
                features, truth, neighbours
            )
            for j in range(len(THEMES))
        ]
        return classifier

    @property
    def encoder(self) -> Encoder | None:
        if self._encoder is None and self.meta.get("encoder"):
            self._encoder = load_encoder(encoder_spec(self.meta["encoder"]))
        if self._encoder is not None and self._encoder.name != self.meta.get("encoder"):
            raise ThemeError(
                f"the theme model was trained with encoder '{self.meta.get('encoder')}', "
                f"not '{self._encoder.name}'; run `kvp train-themes` to retrain it."
            )
        return self._encoder

    def features(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> Any:
        """Word TF-IDF, joined by the weighted passage vectors when the model uses them."""
        return self.inputs(texts, vectors)[0]

    def inputs(
        self, texts: Sequence[str], vectors: np.ndarray | None = None
    ) -> tuple[Any, np.ndarray | None]:
        """The features and the passage vectors they hold (None for a words-only model)."""
        from scipy.sparse import csr_matrix, hstack

        words = self.vectorizer.transform(texts)
        encoder = self.encoder
        if encoder is None:
            return words, None
        if vectors is None and self.cache is not None:
            vectors = self.cache.encode_passages(encoder, texts)
        elif vectors is None:
            vectors = encoder.encode_passages(texts)
        dense = csr_matrix(vectors * self.meta["embedding_weight"])
        return hstack([words, dense]).tocsr(), vectors

    def predict_proba(self, texts: Sequence[str], vectors: np.ndarray | None = None) -> np.ndarray:
        """Probability of each theme (columns in THEMES order) for each text."""
        import numpy as np

        if not texts:
            return np.zeros((0, len(THEMES)))
        clipped = [text[:MAX_TEXT_CHARS] for text in texts]
        features, vectors = self.inputs(clipped, vectors)
        neighbours = getattr(self.models[0], "neighbours", None)
        votes = neighbours.votes(vectors) if neighbours and vectors is not None else None
        columns = [
            model.predict_proba(features, votes) if isinstance(model, ThemeStack)
            else model.predict_proba(features)  # a model saved before the stack
            for model in self.models
        ]  # fmt: skip
        return np.column_stack([column[:, 1] for column in columns])

    def predict(
        self, texts: Sequence[str], *, vectors: np.ndarray | None = None, explain: bool = False
    ) -> list[ThemePrediction]:
        probabilities = self.predict_proba(texts, vectors)
        predictions = []
        for text, row in zip(texts, probabilities, strict=True):
            scores = tuple((t, round(float(p), 4)) for t, p in zip(THEMES, row, strict=True))
            labels = tuple(theme for theme, p in scores if p >= THRESHOLD)
            why = self.explain_terms(text, labels) if explain else ()
            predictions.append(ThemePrediction(scores, labels, why))
        return predictions

    def explain_terms(
        self, text: str, themes: Sequence[str]
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """For each theme, the words of the text that raised its score the most, as they stand
        in the text: a stem or bigram feature is shown by the words that produced it."""
        clipped = text[:MAX_TEXT_CHARS]
        row = self.vectorizer.transform([clipped])
        values = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
        vocabulary = self.vectorizer.vocabulary_
        spans = feature_spans(clipped, self.meta.get("words", "stems"))
        present = [(values[i], span, i) for feature, span in spans.items()
                   if (i := vocabulary.get(feature)) is not None and i in values]  # fmt: skip
        explanation = []
        for theme in themes:
            weights = self.word_weights(theme)
            totals: dict[tuple[int, int], float] = {}
            for value, span, i in present:  # a word's stem, parts and expansions add up
                totals[span] = totals.get(span, 0.0) + value * float(weights[i])
            explanation.append((theme, tuple(strongest_phrases(clipped, totals, EXPLAIN_TERMS))))
        return tuple(explanation)

    def word_weights(self, theme: str) -> Any:
        """A theme's regression coefficient of each word feature."""
        import numpy as np

        if theme not in self._word_weights:
            width = len(self.vectorizer.vocabulary_)
            model = self.models[THEMES.index(check_theme(theme))]
            if isinstance(model, ThemeStack):
                self._word_weights[theme] = model.word_coefficients(width)
            else:  # a model saved before the stack: calibrated folds, averaged
                coefs = [c.estimator.coef_[0][:width] for c in model.calibrated_classifiers_]
                self._word_weights[theme] = np.mean(coefs, axis=0)
        return self._word_weights[theme]

    def nearest_examples(self, text: str, k: int = 3) -> list[tuple[float, LabelledExample]]:
        """The labelled training examples whose words are most like the text's."""
        from sklearn.metrics.pairwise import cosine_similarity

        matrix = self.vectorizer.transform([e.text for e in self.examples])
        similarity = cosine_similarity(self.vectorizer.transform([text]), matrix)[0]
        order = similarity.argsort()[::-1][:k]
        return [(float(similarity[i]), self.examples[i]) for i in order]

    def save(self, folder: Path | str | None = None) -> Path:
        import joblib
        import sklearn

        folder = Path(folder or model_dir())
        folder.mkdir(parents=True, exist_ok=True)
        stored = {"vectorizer": self.vectorizer, "models": self.models, "examples": self.examples}
        joblib.dump(stored, folder / MODEL_FILE)
        meta = {**self.meta, "sklearn": sklearn.__version__, "python": platform.python_version()}
        (folder / MANIFEST_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        return folder

    @classmethod
    def load(
        cls, folder: Path | str | None = None, *, encoder: Encoder | None = None
    ) -> ThemeClassifier:
        import joblib

        folder = Path(folder or model_dir())
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
        return cls(stored["vectorizer"], stored["models"], stored["examples"], meta, encoder)


@dataclass(frozen=True, slots=True)
class Retraining:
    """What `retrain` did: the held-out numbers before and after, and the data it used."""

    folder: Path
    before: ThemeMetrics | None  # the model that was there, on the same held-out split
    after: ThemeMetrics
    train_size: int
    test_size: int
    reviewed: MergedLabels | None  # how the reviewed labels entered, when there were any


def retrain(
    reviews: Sequence[Review] = (),
    *,
    data: Path | str | None = None,
    out: Path | str | None = None,
    encoder: Encoder | None = None,
    cache: EmbeddingCache | None = None,
) -> Retraining:
    """Train on the train split with the reviewed labels folded in (`review.merge_reviews`:
    the held-out split and its labels stay as they are) and the written passages beside the
    data (`load_written`), save the model and its card with the held-out metrics of the old
    model and the new one."""
    from pipeline.evaluate import theme_metrics, write_model_card
    from pipeline.review import merge_reviews

    examples = load_labelled(data)
    merged = merge_reviews(examples, reviews) if reviews else None
    chosen = merged.examples if merged else examples
    train = [e for e in chosen if e.split == "train"] + load_written(data)
    test = [e for e in examples if e.split == "test"]
    folder = Path(out or model_dir())
    encoder = encoder or load_encoder()
    cache = cache or EmbeddingCache()
    before = None
    if (folder / MODEL_FILE).is_file():
        try:
            old = ThemeClassifier.load(folder, encoder=encoder)
            old.cache = cache
            before = theme_metrics(old, test)
        except ThemeError:  # a model of another encoder or scikit-learn: no "before"
            before = None
    classifier = ThemeClassifier.train(train, encoder=encoder, cache=cache)
    if merged is not None:
        classifier.meta["reviewed_labels"] = {
            "replaced": merged.replaced, "confirmed": merged.confirmed,
            "added": merged.added, "held_out": merged.held_out,
            "latest": max(r.reviewed_at for r in reviews),
        }  # fmt: skip
    classifier.save(folder)
    after = theme_metrics(classifier, test)
    write_model_card(folder, after, train, test, before=before, reviewed=merged)
    return Retraining(folder, before, after, len(train), len(test), merged)
