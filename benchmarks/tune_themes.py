"""Choose the theme classifier's method and settings by cross-validation on the train split.

Only `split == "train"` rows are read; the test split is never loaded here. Run by hand:
    .venv/bin/python benchmarks/tune_themes.py              # the comparison (~40 min, 2 cores)
    .venv/bin/python benchmarks/tune_themes.py --quick      # CI-sized: 3 folds, 4 methods
    .venv/bin/python benchmarks/tune_themes.py --documents  # also hold out whole documents
    .venv/bin/python benchmarks/tune_themes.py --extra FILE.jsonl  # examples added to every fit

Folds are stratified by label set (rare sets pooled) and repeated with new shuffles (5 × 5
by default); every method sees the same folds, so the paired difference to the chosen one
(mean ± standard error over folds) is what tells methods apart. `--documents` adds a second
check: each of the seven documents held out in turn, F1 pooled over all of them. Most rows
train the library's own `ThemeClassifier` with a `ThemeSettings`; rows marked "(bench)"
are learners tried here only (stacks of separate models, linear SVM, an MLP, sentence-level
scores). The chosen values are the defaults of `pipeline.themes.ThemeSettings`.

`--extra` (repeatable) names JSONL files of further examples (`text`, `labels`), such as
written passages: they join every fit part, never a held-out one, so the scores stay those
of the real passages.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import LeaveOneGroupOut, RepeatedStratifiedKFold, StratifiedKFold

from pipeline.embed import EmbeddingCache, Encoder, load_encoder
from pipeline.language import sentence_spans
from pipeline.theme_models import unit_rows
from pipeline.themes import (
    THEMES,
    THRESHOLD,
    LabelledExample,
    ThemeClassifier,
    ThemeSettings,
    label_matrix,
    load_labelled,
)

Indices = np.ndarray
Scorer = Callable[[Indices, Indices], np.ndarray]  # (fit rows, held rows) → probabilities
CHOSEN = ThemeSettings()
THRESHOLDS = np.round(np.arange(0.20, 0.71, 0.05), 2)


@dataclass(frozen=True)
class Data:
    encoder: Encoder
    examples: list[LabelledExample]
    truth: np.ndarray
    vectors: dict[str, np.ndarray]  # "passage", "sentence-mean", "sentence-max", …
    sentences: list[np.ndarray]  # each passage's sentence vectors


@dataclass(frozen=True)
class Result:
    name: str
    macro: np.ndarray  # macro-F1 of each fold
    per_theme: np.ndarray  # mean F1 of each theme over folds
    brier: float
    seconds: float


def load_data() -> Data:
    train = [e for e in load_labelled() if e.split == "train"]
    encoder, cache = load_encoder(), EmbeddingCache()
    texts = [e.text for e in train]
    passage = cache.encode_passages(encoder, texts)
    split = [[t[s:e] for s, e in sentence_spans(t)] or [t] for t in texts]
    flat = cache.encode_passages(encoder, [s for sentences in split for s in sentences])
    ends = np.cumsum([0] + [len(s) for s in split])
    sentences = [flat[a:b] for a, b in pairwise(ends)]
    mean = unit_rows(np.vstack([s.mean(axis=0) for s in sentences]))
    top = unit_rows(np.vstack([s.max(axis=0) for s in sentences]))
    vectors = {"passage": passage, "sentence-mean": mean, "sentence-max": top,
               "passage+sentence-mean": np.hstack([passage, mean]) / np.sqrt(2)}  # fmt: skip
    return Data(encoder, train, label_matrix(train), vectors, sentences)


@dataclass(frozen=True)
class Extra:
    """Examples that join every fit part and are never held out."""

    examples: list[LabelledExample]
    vectors: np.ndarray


def load_extra(data: Data, paths: list[str]) -> Extra:
    import json
    from pathlib import Path

    examples = []
    for path in paths:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                labels = tuple(sorted(row["labels"]))
                examples.append(LabelledExample(f"extra:{path}", row["text"], labels, "train"))
    vectors = EmbeddingCache().encode_passages(data.encoder, [e.text for e in examples])
    return Extra(examples, vectors)


def with_extra(data: Data, extra: Extra, settings: ThemeSettings) -> Scorer:
    """The library's classifier trained on the fit part and every extra example."""

    def score(fit: Indices, held: Indices) -> np.ndarray:
        vectors = data.vectors["passage"]
        model = ThemeClassifier.train(
            [data.examples[i] for i in fit] + extra.examples, encoder=data.encoder,
            settings=settings, vectors=np.vstack([vectors[fit], extra.vectors]),
        )  # fmt: skip
        return model.predict_proba([data.examples[i].text for i in held], vectors[held])

    return score


def label_sets(truth: np.ndarray) -> np.ndarray:
    keys = ["".join(map(str, row)) for row in truth]
    counts = Counter(keys)
    return np.array([k if counts[k] >= 10 else "rare" for k in keys])


def repeated_folds(data: Data, folds: int, repeats: int) -> list[tuple[Indices, Indices]]:
    split = RepeatedStratifiedKFold(n_splits=folds, n_repeats=repeats, random_state=0)
    return list(split.split(data.truth, label_sets(data.truth)))


def document_folds(data: Data) -> list[tuple[Indices, Indices]]:
    groups = [e.doc_id for e in data.examples]
    return list(LeaveOneGroupOut().split(data.truth, groups=groups))


def classifier(data: Data, settings: ThemeSettings, vectors: str | None = "passage") -> Scorer:
    """The library's classifier with these settings (and these vectors, or words alone)."""
    encoder = data.encoder if vectors else None
    chosen = data.vectors[vectors] if vectors else None

    def score(fit: Indices, held: Indices) -> np.ndarray:
        model = ThemeClassifier.train(
            [data.examples[i] for i in fit], encoder=encoder, settings=settings,
            vectors=chosen[fit] if chosen is not None else None,
        )  # fmt: skip
        texts = [data.examples[i].text for i in held]
        return model.predict_proba(texts, chosen[held] if chosen is not None else None)

    return score


def calibrated_ensemble(data: Data, c: float, weight: float) -> Scorer:
    """The method as it shipped before: the same features, one balanced regression per
    theme in scikit-learn's 5-fold sigmoid-calibrated ensemble."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.feature_extraction.text import TfidfVectorizer

    from pipeline.theme_words import stems

    def score(fit: Indices, held: Indices) -> np.ndarray:
        vectorizer = TfidfVectorizer(analyzer=stems, min_df=2, sublinear_tf=True)
        texts = [e.text for e in data.examples]
        x_fit = vectorizer.fit_transform([texts[i] for i in fit])
        x_held = vectorizer.transform([texts[i] for i in held])
        v = data.vectors["passage"] * weight
        x_fit = hstack([x_fit, csr_matrix(v[fit])]).tocsr()
        x_held = hstack([x_held, csr_matrix(v[held])]).tocsr()
        base = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        return np.column_stack([
            CalibratedClassifierCV(base, method="sigmoid", cv=5)
            .fit(x_fit, data.truth[fit, j]).predict_proba(x_held)[:, 1]
            for j in range(len(THEMES))
        ])  # fmt: skip

    return score


# Learners tried in the benchmark only: each base gives one score column per theme. -------


def words_base(c: float, kind: str = "lr") -> Callable[[Data, Indices, Indices], np.ndarray]:
    def base(data: Data, fit: Indices, held: Indices) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        from pipeline.theme_words import stems

        vectorizer = TfidfVectorizer(analyzer=stems, min_df=2, sublinear_tf=True)
        x_fit = vectorizer.fit_transform([data.examples[i].text for i in fit])
        x_held = vectorizer.transform([data.examples[i].text for i in held])
        model = (LinearSVC(C=c, class_weight="balanced") if kind == "svm"
                 else LogisticRegression(C=c, class_weight="balanced", max_iter=5000))  # fmt: skip
        return np.column_stack([model.fit(x_fit, data.truth[fit, j]).decision_function(x_held)
                                for j in range(len(THEMES))])  # fmt: skip

    return base


def vector_base(c: float, kind: str = "lr") -> Callable[[Data, Indices, Indices], np.ndarray]:
    def base(data: Data, fit: Indices, held: Indices) -> np.ndarray:
        from sklearn.neural_network import MLPClassifier

        x = data.vectors["passage"]
        columns = []
        for j in range(len(THEMES)):
            if kind == "mlp":
                mlp = MLPClassifier((64,), alpha=c, early_stopping=True, random_state=0)
                p = np.clip(mlp.fit(x[fit], data.truth[fit, j]).predict_proba(x[held])[:, 1],
                            1e-4, 1 - 1e-4)  # fmt: skip
                columns.append(np.log(p / (1 - p)))
            else:
                model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
                columns.append(model.fit(x[fit], data.truth[fit, j]).decision_function(x[held]))
        return np.column_stack(columns)

    return base


def sentence_base(data: Data, fit: Indices, held: Indices) -> np.ndarray:
    """A regression on sentence vectors (each with its passage's labels); a passage scores
    its best sentence."""
    x = np.vstack([data.sentences[i] for i in fit])
    columns = []
    for j in range(len(THEMES)):
        y = np.concatenate([np.full(len(data.sentences[i]), data.truth[i, j]) for i in fit])
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=5000).fit(x, y)
        columns.append([model.decision_function(data.sentences[i]).max() for i in held])
    return np.column_stack(columns)


def library_base(settings: ThemeSettings) -> Callable[[Data, Indices, Indices], np.ndarray]:
    """The library's classifier as a base: the logit of its probabilities."""

    def base(data: Data, fit: Indices, held: Indices) -> np.ndarray:
        p = np.clip(classifier(data, settings)(fit, held), 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    return base


def stack(data: Data, bases: list[Callable[[Data, Indices, Indices], np.ndarray]]) -> Scorer:
    """Per theme, a logistic regression over the bases' out-of-fold scores (Platt-style)."""

    def score(fit: Indices, held: Indices) -> np.ndarray:
        inner = np.zeros((len(fit), len(THEMES) * len(bases)))
        split = StratifiedKFold(5, shuffle=True, random_state=1)
        for a, b in split.split(fit, label_sets(data.truth[fit])):
            inner[b] = np.hstack([base(data, fit[a], fit[b]) for base in bases])
        outer = np.hstack([base(data, fit, held) for base in bases])
        columns = []
        for j in range(len(THEMES)):
            mine = list(range(j, inner.shape[1], len(THEMES)))
            combiner = LogisticRegression().fit(inner[:, mine], data.truth[fit, j])
            columns.append(combiner.predict_proba(outer[:, mine])[:, 1])
        return np.column_stack(columns)

    return score


def with_thresholds(data: Data, scorer: Scorer) -> Scorer:
    """Per-theme thresholds chosen on inner out-of-fold probabilities. The scores are bent
    piecewise-linearly so that each threshold lands on 0.5, as the rest of the system reads
    them; the Brier column shows what that costs the calibration."""

    def score(fit: Indices, held: Indices) -> np.ndarray:
        inner = np.zeros((len(fit), len(THEMES)))
        split = StratifiedKFold(5, shuffle=True, random_state=1)
        for a, b in split.split(fit, label_sets(data.truth[fit])):
            inner[b] = scorer(fit[a], fit[b])
        best = [
            THRESHOLDS[
                np.argmax([f1_score(data.truth[fit, j], inner[:, j] >= t) for t in THRESHOLDS])
            ]
            for j in range(len(THEMES))
        ]
        p, t = scorer(fit, held), np.array(best)
        return np.where(p < t, 0.5 * p / t, 0.5 + 0.5 * (p - t) / (1 - t))

    return score


def evaluate(name: str, scorer: Scorer, data: Data, folds: list[tuple[Indices, Indices]]) -> Result:
    started = time.perf_counter()
    macro, per_theme, brier = [], [], []
    for fit, held in folds:
        p = scorer(fit, held)
        f1 = f1_score(data.truth[held], p >= THRESHOLD, average=None, zero_division=0)
        macro.append(f1.mean())
        per_theme.append(f1)
        brier.append(np.mean((p - data.truth[held]) ** 2))
    return Result(name, np.array(macro), np.mean(per_theme, axis=0), float(np.mean(brier)),
                  time.perf_counter() - started)  # fmt: skip


def pooled(name: str, scorer: Scorer, data: Data, folds: list[tuple[Indices, Indices]]) -> str:
    p = np.zeros(data.truth.shape)
    for fit, held in folds:
        p[held] = scorer(fit, held)
    f1 = f1_score(data.truth, p >= THRESHOLD, average=None, zero_division=0)
    return f"| {name} | **{f1.mean():.3f}** | " + " | ".join(f"{x:.3f}" for x in f1) + " |"


def methods(data: Data, quick: bool) -> dict[str, Scorer]:
    """The configurations compared, the chosen one first."""
    s, lib = ThemeSettings, classifier
    no_vote = s(16.0, 0.5, neighbours=0)
    first = {
        "chosen: C 16, vector weight 0.5, 10-neighbour vote": lib(data, CHOSEN),
        "before, as shipped: C 4, vector weight 2, calibrated ensemble": calibrated_ensemble(
            data, 4.0, 2.0
        ),
        "C 4, vector weight 2, no vote": lib(data, s(4.0, 2.0, neighbours=0)),
        "C 16, vector weight 0.5, no vote": lib(data, no_vote),
    }
    if quick:
        return first
    grid = {
        f"C {c:g}, vector weight {w:g}, no vote": lib(data, s(c, w, neighbours=0))
        for c in (4.0, 16.0, 64.0)
        for w in (0.25, 0.5, 1.0, 2.0)
        if (c, w) not in ((4.0, 2.0), (16.0, 0.5))
    }
    quantities = s(16.0, 0.5, "stems+quantities", 0)
    return {
        **first,
        "words only, C 4": lib(data, s(4.0, neighbours=0), vectors=None),
        "words only, C 16": lib(data, s(16.0, neighbours=0), vectors=None),
        **grid,
        "sentence-mean vector instead of passage vector": lib(data, no_vote, "sentence-mean"),
        "sentence-max vector instead of passage vector": lib(data, no_vote, "sentence-max"),
        "passage + sentence-mean vectors": lib(data, no_vote, "passage+sentence-mean"),
        "stems + quantity tokens, no vote": lib(data, quantities),
        "stems + quantity tokens, 10-neighbour vote": lib(data, s(words="stems+quantities")),
        "20-neighbour vote": lib(data, s(neighbours=20)),
        "(bench) stack: words LR + vector LR": stack(data, [words_base(16.0), vector_base(4.0)]),
        "(bench) stack: linear SVM on words + vector LR": stack(
            data, [words_base(1.0, "svm"), vector_base(4.0)]
        ),
        "(bench) stack: words LR + vector MLP": stack(
            data, [words_base(16.0), vector_base(1e-2, "mlp")]
        ),
        "(bench) chosen + best-sentence score (stack)": stack(
            data, [library_base(CHOSEN), sentence_base]
        ),
        "(bench) calibrated ensemble, C 16, vector weight 0.5": calibrated_ensemble(
            data, 16.0, 0.5
        ),
        "chosen + per-theme thresholds (nested CV)": with_thresholds(data, lib(data, CHOSEN)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 folds once, 4 methods")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--documents", action="store_true", help="also hold out documents")
    parser.add_argument("--extra", action="append", default=[], help="JSONL of added examples")
    args = parser.parse_args()
    data = load_data()
    folds = repeated_folds(data, 3, 1) if args.quick else repeated_folds(data, 5, args.repeats)
    print(f"train examples: {len(data.examples)}, folds: {len(folds)}", flush=True)
    print("| method | macro-F1 | ± | vs chosen | " + " | ".join(THEMES) + " | Brier | s |")
    print("|---|---|---|---|" + "---|" * len(THEMES) + "---|---|", flush=True)
    table = methods(data, args.quick)
    if args.extra:
        extra = load_extra(data, args.extra)
        first_name = next(iter(table))
        table = {first_name: table[first_name],
                 f"chosen + {len(extra.examples)} extra examples": with_extra(data, extra, CHOSEN)}
    first: Result | None = None
    for name, scorer in table.items():
        result = evaluate(name, scorer, data, folds)
        first = first or result
        gain = result.macro - first.macro
        paired = f"{gain.mean():+.3f} ± {gain.std(ddof=1) / np.sqrt(len(gain)):.3f}"
        print(f"| {name} | **{result.macro.mean():.3f}** "
              f"| {result.macro.std(ddof=1) / np.sqrt(len(result.macro)):.3f} "
              f"| {paired if result is not first else '—'} | "
              + " | ".join(f"{x:.3f}" for x in result.per_theme)
              + f" | {result.brier:.3f} | {result.seconds:.0f} |", flush=True)  # fmt: skip
    if args.documents:
        print("\nheld-out documents (each of the seven in turn; F1 pooled over all)")
        print("| method | macro-F1 | " + " | ".join(THEMES) + " |")
        print("|---|---|" + "---|" * len(THEMES))
        chosen = list(table.items())[:4]
        extra = [("(bench) chosen + best-sentence score (stack)",
                  stack(data, [library_base(CHOSEN), sentence_base]))]  # fmt: skip
        for name, scorer in chosen + ([] if args.quick else extra):
            print(pooled(name, scorer, data, document_folds(data)), flush=True)


if __name__ == "__main__":
    main()
