"""Question understanding: what a question asks for, which §§ it is about, and its language.

Three small classifiers over the question's words, trained on the retrieval training data
(`models/retrieval/questions.jsonl`, train split only) and the statute text of the index by
`kvp train-answers`, and stored in ``models/answer/question.joblib``:

- **type**: rule (what the act or regulation says), practice, statistic or research — the
  training questions' `kind`. Rule questions are answered from the statutes first.
- **provisions**: the § a question is about even when none is named ("Kan jeg jobbe deltid?"
  → sosialtjenesteloven § 30), learnt from the training questions whose supporting passage
  is statute text, and from the statute sentences themselves (so a § no training question
  is about can still be found); a question no § answers belongs to the class ``""``. A §
  the question names itself always comes first.
- **language**: nb, nn or en, from character n-grams (the sources are all in bokmål).

The features are TF-IDF over normalised words — stems with compound parts, synonyms and
lay-to-legal terms (`pipeline.language.normalize_tokens`), so "syk" meets "sykdom" — and over
character n-grams, which catch inflections, nynorsk and English spellings. Everything here is
fast (a millisecond a question) and needs no index.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import TrainingDataError
from pipeline.model import QuestionType

if TYPE_CHECKING:
    from pipeline.model import Passage, TrainingQuestion

MODEL_FILE = "question.joblib"
NO_PROVISION = ""  # the class of questions that no § answers
LANGUAGES = ("nb", "nn", "en")
MIN_PROVISION_PROBABILITY = 0.2  # below this a predicted § is not reported


@dataclass(frozen=True, slots=True)
class Understanding:
    """What the question-understanding models make of one question."""

    question_type: QuestionType
    type_probabilities: tuple[tuple[str, float], ...]  # every type, in QuestionType order
    provisions: tuple[tuple[str, float], ...]  # (provision key, probability), best first
    language: str
    named: tuple[str, ...] = ()  # provision keys the question names itself ("§ 35")

    @property
    def is_rule(self) -> bool:
        return self.question_type is QuestionType.RULE

    def probability(self, question_type: QuestionType) -> float:
        return dict(self.type_probabilities).get(question_type.value, 0.0)

    @property
    def provision_keys(self) -> tuple[str, ...]:
        """The §§ the question is about: the ones it names, then the predicted ones."""
        predicted = [k for k, p in self.provisions if p >= MIN_PROVISION_PROBABILITY]
        return tuple(dict.fromkeys([*self.named, *predicted]))


def analyzer(text: str) -> list[str]:
    """Word features: normalised stems with compound parts, synonyms and lay terms."""
    from pipeline.language import normalize_tokens

    return normalize_tokens(text)


def make_features() -> Any:
    """Words (as search normalises them) beside character n-grams within words."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=analyzer, ngram_range=(1, 1), sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, min_df=2
                ),
            ),
        ]
    )


def classifier(c: float) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(C=c, max_iter=3000, class_weight="balanced")


class QuestionModel:
    """The three classifiers, loaded once and shared."""

    def __init__(self, models: dict[str, Any], meta: dict[str, Any]) -> None:
        self.models = models
        self.meta = meta

    def understand(self, question: str) -> Understanding:
        from pipeline.legal import provision_key
        from pipeline.search import question_refs

        named = tuple(
            dict.fromkeys(k for k in (provision_key(r) for r in question_refs(question)) if k)
        )
        kinds = probabilities(self.models["type"], question)
        provisions = [
            (key, p) for key, p in probabilities(self.models["provision"], question)
            if key != NO_PROVISION
        ]  # fmt: skip
        language = max(probabilities(self.models["language"], question), key=lambda kp: kp[1])[0]
        best = max(kinds, key=lambda kp: kp[1])[0]
        question_type = QuestionType.RULE if named else QuestionType(best)
        order = [t.value for t in QuestionType]
        return Understanding(
            question_type=question_type,
            type_probabilities=tuple(sorted(kinds, key=lambda kp: order.index(kp[0]))),
            provisions=tuple(sorted(provisions, key=lambda kp: -kp[1])[:5]),
            language=language,
            named=named,
        )

    def save(self, folder: Path) -> None:
        import joblib

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump({"models": self.models, "meta": self.meta}, folder / MODEL_FILE)

    @classmethod
    def load(cls, folder: Path | None = None) -> QuestionModel:
        import joblib

        from pipeline.answer_models import answer_models_dir

        path = (folder or answer_models_dir()) / MODEL_FILE
        if not path.is_file():
            raise TrainingDataError(
                f"no question model at {path}; run `kvp train-answers` to train it."
            )
        data = joblib.load(path)
        return cls(data["models"], data["meta"])


def probabilities(model: Any, question: str) -> list[tuple[str, float]]:
    row = model.predict_proba([question])[0]
    return [(str(c), float(p)) for c, p in zip(model.classes_, row, strict=True)]


def provision_labels(question: TrainingQuestion, by_id: dict[str, Passage]) -> list[str]:
    """The §§ whose statute text supports a training question (none: [""])."""
    from pipeline.legal import provision_of

    keys = []
    for passage_id in question.passage_ids:
        held = provision_of(by_id[passage_id]) if passage_id in by_id else None
        if held:
            keys.append(held[0])
    return list(dict.fromkeys(keys)) or [NO_PROVISION]


def statute_examples(passages: Sequence[Passage]) -> list[tuple[str, str]]:
    """(text, provision key) for the heading and every sentence of each statute passage."""
    from pipeline.legal import provision_of

    rows = []
    for passage in passages:
        held = provision_of(passage)
        if held is None:
            continue
        heading = passage.text.split("\n", 1)[0]
        texts = [heading, *(passage.text[a:b] for a, b in passage.sentences)]
        rows += [(text, held[0]) for text in texts if text.strip()]
    return rows


def train_question_model(
    questions: Sequence[TrainingQuestion], passages: Sequence[Passage]
) -> QuestionModel:
    """Fit the three classifiers on the train split and measure them on dev and test."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    by_id = {p.passage_id: p for p in passages}
    train = [q for q in questions if q.split == "train"]
    if not train:
        raise TrainingDataError("the training data has no train split to learn from.")
    for what, values in (("kind", {q.kind for q in train}), ("lang", {q.lang for q in train})):
        if len(values) < 2:
            raise TrainingDataError(
                f"every train question has the same {what} ({', '.join(values)}); the "
                f"classifier needs at least two to learn from."
            )
    # A question supported by two §§ is one example of each. The statute text itself (its
    # heading and each sentence) is an example of its § too, so every § of the corpus can be
    # predicted — also those whose questions the split keeps out of training, and those of
    # a statute a user adds later.
    provision_rows = [(q.question, key) for q in train for key in provision_labels(q, by_id)]
    provision_rows += statute_examples(passages)
    models = {
        "type": make_pipeline(make_features(), classifier(4.0)).fit(
            [q.question for q in train], [q.kind for q in train]
        ),
        "provision": make_pipeline(make_features(), classifier(8.0)).fit(
            [text for text, _ in provision_rows], [key for _, key in provision_rows]
        ),
        "language": make_pipeline(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 3), sublinear_tf=True),
            classifier(4.0),
        ).fit([q.question for q in train], [q.lang for q in train]),
    }
    model = QuestionModel(models, {})
    model.meta = {
        "train_questions": len(train),
        "provisions": sorted({key for _, key in provision_rows} - {NO_PROVISION}),
        "metrics": {
            split: question_metrics(model, [q for q in questions if q.split == split], by_id)
            for split in ("dev", "test", "heldout")
        },
    }
    return model


def question_metrics(
    model: QuestionModel, questions: Sequence[TrainingQuestion], by_id: dict[str, Passage]
) -> dict[str, float]:
    """Type and language accuracy; for questions a § answers, the § among the top 1 and 3."""
    if not questions:
        return {}
    seen = [(q, model.understand(q.question)) for q in questions]
    labelled = [(set(provision_labels(q, by_id)), u) for q, u in seen]
    with_provision = [(keys, u) for keys, u in labelled if keys != {NO_PROVISION}]

    def top(n: int) -> float:
        hits = [bool(keys & {k for k, _ in u.provisions[:n]}) for keys, u in with_provision]
        return round(sum(hits) / len(hits), 3) if hits else 0.0

    return {
        "questions": len(seen),
        "type_accuracy": round(
            sum(u.question_type.value == q.kind for q, u in seen) / len(seen), 3
        ),
        "language_accuracy": round(sum(u.language == q.lang for q, u in seen) / len(seen), 3),
        "provision_questions": len(with_provision),
        "provision_top1": top(1),
        "provision_top3": top(3),
    }


def describe(model: QuestionModel) -> str:
    return json.dumps(model.meta["metrics"], indent=2)
