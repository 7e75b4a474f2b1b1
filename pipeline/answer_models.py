"""The trained parts of answering: which sentences answer, and whether the sources answer at all.

Both are learnt from the retrieval training data (`models/retrieval/questions.jsonl`) by
`kvp train-answers`, with evidence gathered by the index's own search, and stored in
``models/answer/`` beside the question model (`pipeline.question`):

- **Sentence relevance** (`sentences.joblib`): gradient-boosted trees over features of each
  candidate sentence of the answering passages — its e5 similarity to the question, how much
  of the question's content it covers (stems, compound parts, synonyms, rare words, idf-weighted),
  the passage's rank and reranker score, whether it is statute text for a § the question is
  about, its position and shape — trained to tell the sentences that hold a training
  question's verbatim supporting quote from the others. "Close to the question" is one
  feature, not the rule: the governing § often shares few words with a lay question.
- **Abstention** (`abstention.joblib`): a logistic regression over the evidence (best sentence
  probabilities, retrieval scores, coverage of the question's words, rare question words absent
  from the sources, the question's type, § and language), trained on the answerable and the
  near-miss unanswerable training questions. Its output is the answer's confidence, a
  probability; the answer abstains below the threshold chosen on the dev split.

The sentence model's probabilities for the training questions are out-of-fold (five folds
by question), so the abstention model learns from probabilities as they look on new questions.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.errors import TrainingDataError
from pipeline.model import QuestionType

if TYPE_CHECKING:
    import numpy as np

    from pipeline.answer import Evidence
    from pipeline.model import TrainingQuestion
    from pipeline.question import QuestionModel
    from pipeline.search import Index

SENTENCE_FILE = "sentences.joblib"
ABSTENTION_FILE = "abstention.joblib"
MANIFEST_FILE = "manifest.json"
SEED = 13

ASKS_NUMBER_RE = re.compile(
    r"(?i)\b(hvor mange|kor mange|hvor stor|hvor mye|kor mykje|kor stor|hvor lenge|kor lenge|"
    r"andel|prosent|antall|hvor gammel|kor gammal|how many|how much|how long|how old|share|"
    r"percent)"
)
NUMBER_RE = re.compile(r"\d|\b(en|ett|to|tre|fire|fem|seks|sju|syv|åtte|ni|ti|tolv)\b")

SENTENCE_FEATURES = (
    "similarity", "similarity_margin", "similarity_rank", "overlap_plain", "overlap_expanded",
    "overlap_rare", "overlap_idf", "passage_overlap", "heading_overlap",
    "hit_rank", "hit_score", "dense", "injected", "provision_probability", "named_provision",
    "is_statute", "position", "position_share", "sentences_in_passage", "opens_paragraph",
    "length", "has_number", "asks_number", "has_reference", "lead_in",
    *(f"type_{t.value}" for t in QuestionType),
)  # fmt: skip
EVIDENCE_FEATURES = (
    "best_sentence", "second_sentence", "best_statute_sentence", "best_report_sentence",
    "best_similarity", "best_idf_overlap", "max_idf_overlap", "best_rare_overlap",
    "asked_number_found", "top_hit_score", "second_hit_score", "top_dense", "coverage",
    "coverage_plain", "specific_absent", "unknown_words", "absent_numbers", "absent_share",
    "rarest_absent", "content_words", "provision_top", "named", "lang_en", "lang_nn",
    *(f"type_{t.value}" for t in QuestionType),
)  # fmt: skip
COLUMN = {name: n for n, name in enumerate(SENTENCE_FEATURES)}


def answer_models_dir() -> Path:
    from pipeline.paths import models_dir

    return models_dir() / "answer"


@dataclass(frozen=True, slots=True)
class Calibration:
    """Where the answer abstains and which sentences it keeps (chosen on the dev split)."""

    abstain_below: float  # P(the sources answer) below this: abstain
    keep_above: float  # sentences at least this probable may be quoted
    keep_within: float  # ... and at most this far below the best one


class AnswerModels:
    """The question, sentence and abstention models, loaded together."""

    def __init__(
        self, question: QuestionModel, sentences: Any, abstention: Any, meta: dict[str, Any]
    ) -> None:
        self.question = question
        self.sentences = sentences
        self.abstention = abstention
        self.meta = meta
        calibration = meta.get("calibration", {})
        self.calibration = Calibration(
            float(calibration.get("abstain_below", 0.5)),
            float(calibration.get("keep_above", 0.3)),
            float(calibration.get("keep_within", 0.3)),
        )

    @property
    def name(self) -> str:
        return f"kvp/answer-models@{self.meta.get('fingerprint', 'untrained')}"

    def sentence_probabilities(self, features: np.ndarray) -> list[float]:
        from pipeline.rerank import positive_probabilities

        return positive_probabilities(self.sentences, features)

    def answerable_probability(self, features: np.ndarray) -> float:
        from pipeline.rerank import positive_probabilities

        return positive_probabilities(self.abstention, features.reshape(1, -1))[0]

    def save(self, folder: Path) -> None:
        import joblib

        from pipeline.encoder_model import fingerprint

        folder.mkdir(parents=True, exist_ok=True)
        self.question.save(folder)
        joblib.dump(self.sentences, folder / SENTENCE_FILE)
        joblib.dump(self.abstention, folder / ABSTENTION_FILE)
        self.meta["fingerprint"] = fingerprint(folder / ABSTENTION_FILE)[:12]
        (folder / MANIFEST_FILE).write_text(json.dumps(self.meta, indent=2) + "\n")

    @classmethod
    def load(cls, folder: Path | None = None) -> AnswerModels:
        import joblib

        from pipeline.question import QuestionModel

        folder = folder or answer_models_dir()
        if not (folder / ABSTENTION_FILE).is_file():
            raise TrainingDataError(
                f"no answer models in {folder}; run `kvp train-answers` to train them."
            )
        meta = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        return cls(
            QuestionModel.load(folder),
            joblib.load(folder / SENTENCE_FILE),
            joblib.load(folder / ABSTENTION_FILE),
            meta,
        )


# Features -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QuestionTerms:
    """A question's content stems, computed once per question for every sentence."""

    plain: frozenset[str]
    expanded: frozenset[str]
    rare: frozenset[str]  # stems in at most 20 passages of the index: what it is about
    idf: dict[str, float]

    @classmethod
    def of(cls, index: Index, question: str) -> QuestionTerms:
        from pipeline.rerank import question_terms

        expanded, plain = question_terms(question)
        total = max(int(index.manifest.get("passages", 1000)), 1)
        frequency = {t: index.document_frequency(t) for t in plain | expanded}
        idf = {t: math.log(1 + total / (1 + df)) for t, df in frequency.items()}
        rare = frozenset(t for t in plain if 0 < frequency[t] <= 20)
        return cls(plain, expanded, rare, idf)


def idf_share(terms: QuestionTerms, present: frozenset[str]) -> float:
    total = sum(terms.idf.get(t, 0.0) for t in terms.plain)
    found = sum(terms.idf.get(t, 0.0) for t in terms.plain & present)
    return found / total if total else 0.0


def type_row(understanding: Any) -> list[float]:
    return [understanding.probability(t) for t in QuestionType]


def sentence_features(
    question: str,
    terms: QuestionTerms,
    understanding: Any,
    candidates: Sequence[Any],
    statutes: Callable[[Any], bool],
) -> np.ndarray:
    """One row of `SENTENCE_FEATURES` per candidate sentence (`pipeline.answer.Candidate`)."""
    import numpy as np

    from pipeline.legal import provision_of
    from pipeline.rerank import share, text_terms

    best_similarity = max((c.similarity for c in candidates), default=0.0)
    by_similarity = sorted(candidates, key=lambda c: -c.similarity)
    similarity_rank = {id(c): n for n, c in enumerate(by_similarity, start=1)}
    provision_p = dict(understanding.provisions)
    named = set(understanding.named)
    asks_number = float(bool(ASKS_NUMBER_RE.search(question)))
    types = type_row(understanding)
    rows = []
    for candidate in candidates:
        similarity = candidate.similarity
        hit = candidate.hit
        passage = hit.passage
        text = candidate.text
        tokens = text_terms(text)
        held = provision_of(passage)
        key = held[0] if held else ""
        starts = [s for s, _ in passage.sentences]
        order = starts.index(candidate.start) if candidate.start in starts else 0
        count = max(len(passage.sentences), 1)
        before = passage.text[: candidate.start].rstrip(" ")
        rows.append(
            [
                similarity, similarity - best_similarity, float(similarity_rank[id(candidate)]),
                share(terms.plain, tokens), share(terms.expanded, tokens),
                share(terms.rare, tokens), idf_share(terms, tokens),
                share(terms.plain, text_terms(passage.text)),
                share(terms.plain, text_terms(" ".join(passage.section[1:]))),
                float(min(hit.rank, 11) if hit.rank else 11), hit.score if hit.rank else 0.0,
                hit.dense, float(not hit.rank), provision_p.get(key, 0.0), float(key in named),
                float(statutes(passage)), float(order), order / count, float(count),
                float(not before or before.endswith("\n")), min(len(text), 600) / 100,
                float(bool(NUMBER_RE.search(text))), asks_number, float("§" in text),
                float(text.rstrip().endswith(":")), *types,
            ]
        )  # fmt: skip
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(SENTENCE_FEATURES))


def evidence_features(evidence: Evidence, understanding: Any) -> np.ndarray:
    """One row of `EVIDENCE_FEATURES` for a question's evidence."""
    import numpy as np

    probabilities = sorted((c.probability for c in evidence.candidates), reverse=True)
    statute = [c.probability for c in evidence.candidates if c.statute]
    report = [c.probability for c in evidence.candidates if not c.statute]
    ranked = [h for h in evidence.hits if h.rank]
    specific = [df for _, df in evidence.absent if 0 < df <= 5]
    content = max(evidence.content_words, 1)
    features = evidence.features
    candidates = evidence.candidates
    best = (  # the feature row of the most probable sentence
        features[max(range(len(candidates)), key=lambda n: candidates[n].probability)]
        if candidates
        else None
    )

    def best_column(name: str) -> float:
        return float(best[COLUMN[name]]) if best is not None else 0.0

    row = [
        probabilities[0] if probabilities else 0.0,
        probabilities[1] if len(probabilities) > 1 else 0.0,
        max(statute, default=0.0), max(report, default=0.0),
        max((c.similarity for c in evidence.candidates), default=0.0),
        best_column("overlap_idf"),
        float(features[:, COLUMN["overlap_idf"]].max()) if len(features) else 0.0,
        best_column("overlap_rare"),
        best_column("asks_number") * best_column("has_number"),
        ranked[0].score if ranked else 0.0, ranked[1].score if len(ranked) > 1 else 0.0,
        ranked[0].dense if ranked else 0.0, evidence.coverage, evidence.coverage_plain,
        float(len(specific)), float(sum(1 for _, df in evidence.absent if df == 0)),
        float(evidence.absent_numbers), len(evidence.absent) / content,
        math.log1p(min((df for _, df in evidence.absent), default=1000)),
        float(evidence.content_words),
        max((p for _, p in understanding.provisions), default=0.0),
        float(bool(understanding.named)),
        float(understanding.language == "en"), float(understanding.language == "nn"),
        *type_row(understanding),
    ]  # fmt: skip
    return np.asarray(row, dtype=np.float32)


# Training -------------------------------------------------------------------------------------


def supporting(candidate: Any, question: TrainingQuestion) -> bool:
    """Whether a candidate sentence overlaps a verbatim supporting quote of the question."""
    text = candidate.hit.passage.text
    for support in question.support:
        at = text.find(support.quote)
        while at >= 0:
            if at < candidate.end and candidate.start < at + len(support.quote):
                return True
            at = text.find(support.quote, at + 1)
    return False


@dataclass
class Gathered:
    """A training question's evidence with its sentence labels."""

    question: TrainingQuestion
    evidence: Evidence
    understanding: Any
    labels: np.ndarray  # per candidate: does it hold a supporting quote

    @property
    def features(self) -> np.ndarray:
        return self.evidence.features


def gather_all(
    index: Index,
    models: QuestionModel,
    questions: Sequence[TrainingQuestion],
    report: Callable[[str], None] | None = None,
) -> list[Gathered]:
    """Every question's evidence, as `ask` gathers it (search, understanding, sentences)."""
    import numpy as np

    from pipeline.answer import gather_evidence

    gathered = []
    for n, question in enumerate(questions, start=1):
        understanding = models.understand(question.question)
        evidence = gather_evidence(index, question.question, understanding, None)
        labels = np.asarray([supporting(c, question) for c in evidence.candidates], dtype=int)
        gathered.append(Gathered(question, evidence, understanding, labels))
        if report and n % 200 == 0:
            report(f"  gathered evidence for {n}/{len(questions)} questions")
    return gathered


def sentence_model() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        max_iter=250, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=30,
        l2_regularization=1.0, random_state=SEED,
    )  # fmt: skip


def abstention_model() -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    # Logistic regression: its probabilities are calibrated by construction, which the
    # answer's confidence needs, and ~1,900 questions are few for anything more flexible.
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.5, max_iter=2000))


def stack(rows: Sequence[Gathered]) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    features = [g.features for g in rows if len(g.features)]
    labels = [g.labels for g in rows if len(g.features)]
    if not features:
        return np.zeros((0, len(SENTENCE_FEATURES)), np.float32), np.zeros(0, int)
    return np.vstack(features), np.concatenate(labels)


def with_probabilities(gathered: Gathered, probabilities: Sequence[float]) -> Gathered:
    from dataclasses import replace

    candidates = tuple(
        replace(c, probability=float(p))
        for c, p in zip(gathered.evidence.candidates, probabilities, strict=True)
    )
    evidence = replace(gathered.evidence, candidates=candidates)
    return replace(gathered, evidence=evidence)


def out_of_fold(train: list[Gathered], folds: int = 5) -> list[Gathered]:
    """Each training question's sentence probabilities from a model that never saw it."""
    from pipeline.rerank import positive_probabilities

    scored: list[Gathered] = []
    for fold in range(folds):
        held = [g for n, g in enumerate(train) if n % folds == fold]
        rest = [g for n, g in enumerate(train) if n % folds != fold]
        features, labels = stack(rest)
        model = sentence_model().fit(features, labels)
        for g in held:
            scored.append(with_probabilities(g, positive_probabilities(model, g.features)))
    return scored


def train_answer_models(
    index: Index,
    questions: Sequence[TrainingQuestion],
    report: Callable[[str], None] | None = None,
    *,
    gathered: tuple[QuestionModel, list[Gathered]] | None = None,
) -> tuple[AnswerModels, list[Gathered]]:
    """Question model, then sentence relevance, then abstention; dev chooses the thresholds.

    Returns the models and every non-train question's evidence scored by them (for metrics).
    `gathered` (from `gather_training`) skips the slow part when only the models change.
    """
    import numpy as np

    say = report or (lambda _: None)
    question_model, gathered_rows = gathered or gather_training(index, questions, say)
    train = [g for g in gathered_rows if g.question.split == "train"]
    if not train:
        raise TrainingDataError("the training data has no train split to learn from.")
    features, labels = stack(train)
    sentences = sentence_model().fit(features, labels)
    scored_train = out_of_fold(train)
    evidence_rows = np.vstack(
        [evidence_features(g.evidence, g.understanding) for g in scored_train]
    )
    answerable = np.asarray([g.question.answerable for g in scored_train], dtype=int)
    abstention = abstention_model().fit(evidence_rows, answerable)
    models = AnswerModels(question_model, sentences, abstention, {})
    others = []
    for g in gathered_rows:
        if g.question.split != "train":
            others.append(with_probabilities(g, models.sentence_probabilities(g.features)))
    dev = [g for g in others if g.question.split == "dev"]
    calibration = calibrate(models, dev)
    models.meta = {
        "question": question_model.meta,
        "sentence_features": list(SENTENCE_FEATURES),
        "evidence_features": list(EVIDENCE_FEATURES),
        "train_questions": len(train),
        "sentence_rows": len(labels),
        "sentence_positives": int(labels.sum()),
        "encoder": index.manifest["encoder"],
        "reranker": index.reranker.name if index.reranker else None,
        "calibration": {
            "abstain_below": calibration.abstain_below,
            "keep_above": calibration.keep_above,
            "keep_within": calibration.keep_within,
        },
        "seed": SEED,
    }
    models.calibration = calibration
    return models, others


def gather_training(
    index: Index, questions: Sequence[TrainingQuestion], say: Callable[[str], None]
) -> tuple[QuestionModel, list[Gathered]]:
    """The question model, and every question's evidence as `ask` would gather it."""
    from pipeline.question import train_question_model

    question_model = train_question_model(questions, index.passages)
    say(f"question model: {question_model.meta['metrics']['dev']}")
    # Every sentence is embedded once (through the on-disk cache) before the questions ask
    # for them in ones and twos.
    index.sentence_vectors([p.text[a:b] for p in index.passages for a, b in p.sentences])
    say("sentence vectors ready")
    return question_model, gather_all(index, question_model, questions, say)


def calibrate(models: AnswerModels, dev: Sequence[Gathered]) -> Calibration:
    """The abstention threshold and sentence cut-offs, chosen on the dev split.

    Abstention: the highest threshold with at most 5 % of answerable dev questions refused
    (a caseworker who is refused too often stops asking); how many unanswerable ones that
    catches is reported, not forced. Sentences: the cut-off that maximises the share of
    answered dev questions whose quoted sentences include a supporting one, per quote.
    """
    probability = [
        (g, models.answerable_probability(evidence_features(g.evidence, g.understanding)))
        for g in dev
    ]
    answerable = sorted(p for g, p in probability if g.question.answerable)
    allowed = int(0.05 * len(answerable))
    abstain_below = answerable[allowed] - 1e-6 if answerable else 0.5
    best = (-1.0, 0.3, 0.3)
    for keep_above in (0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5):
        for keep_within in (0.1, 0.2, 0.3, 0.5):
            supported, precision = quote_support(dev, keep_above, keep_within)
            if supported + precision > best[0] + 1e-9:
                best = (supported + precision, keep_above, keep_within)
    return Calibration(round(float(abstain_below), 4), best[1], best[2])


def quote_support(
    dev: Sequence[Gathered], keep_above: float, keep_within: float
) -> tuple[float, float]:
    """Over answerable questions: the share whose kept sentences (the best one, and up to
    three more that pass the cut-offs) include a supporting one, and the share of kept
    sentences that are supporting (no filler)."""
    supported = kept_total = kept_supporting = questions = 0
    for g in dev:
        if not g.question.answerable:
            continue
        questions += 1
        ranked = sorted(zip(g.evidence.candidates, g.labels, strict=True),
                        key=lambda cl: -cl[0].probability)  # fmt: skip
        top = ranked[0][0].probability if ranked else 0.0
        # As `answer.choose` does: the best sentence always, more when they pass the cut-offs.
        floor = max(keep_above, top - keep_within)
        kept = [
            label for n, (c, label) in enumerate(ranked[:4]) if n == 0 or c.probability >= floor
        ]
        supported += int(any(kept))
        kept_total += len(kept)
        kept_supporting += sum(kept)
    if not questions:
        return 0.0, 0.0
    return supported / questions, kept_supporting / kept_total if kept_total else 0.0


# Measuring ------------------------------------------------------------------------------------


def split_metrics(models: AnswerModels, rows: Sequence[Gathered]) -> dict[str, Any]:
    """Abstention and quoting on one split, from the evidence `ask` would see."""
    from pipeline.evaluate import reliability

    scored = [
        (g, models.answerable_probability(evidence_features(g.evidence, g.understanding)))
        for g in rows
    ]
    below = models.calibration.abstain_below
    unanswerable = [p < below for g, p in scored if not g.question.answerable]
    answerable = [p < below for g, p in scored if g.question.answerable]
    supported, precision = quote_support(
        [g for g, p in scored if p >= below],
        models.calibration.keep_above,
        models.calibration.keep_within,
    )
    return {
        "questions": len(scored),
        "abstention": round(sum(unanswerable) / len(unanswerable), 3) if unanswerable else None,
        "false_abstention": round(sum(answerable) / len(answerable), 3) if answerable else None,
        "answered_with_support": round(supported, 3),
        "quoted_sentences_supporting": round(precision, 3),
        "reliability": reliability([(p, g.question.answerable) for g, p in scored]),
    }


def write_card(folder: Path, models: AnswerModels, metrics: dict[str, Any]) -> None:
    """models/answer/MODEL_CARD.md: data, command, metrics and the reliability curve."""
    question = models.meta["question"]["metrics"]
    lines = [
        "# Answer models",
        "",
        "Trained by `kvp train-answers` (fixed seed, a few minutes on two cores) on the train",
        "split of `models/retrieval/questions.jsonl` (see its `DATA.md`), with evidence from",
        "the index's own search. The evaluation set in `benchmarks/retrieval/` is never read.",
        "",
        "- `question.joblib`: question type, the §§ a question is about, language",
        "  (logistic regressions over TF-IDF of normalised words and character n-grams).",
        "- `sentences.joblib`: sentence relevance (gradient-boosted trees, "
        f"{len(SENTENCE_FEATURES)} features; {models.meta['sentence_rows']} candidate sentences,",
        f"  {models.meta['sentence_positives']} holding a supporting quote).",
        "- `abstention.joblib`: P(the sources answer the question), logistic regression over "
        f"{len(EVIDENCE_FEATURES)} evidence features; the answer's confidence.",
        "",
        f"Encoder of the evidence: `{models.meta['encoder']}`; reranker: "
        f"`{models.meta['reranker']}`.",
        f"Thresholds chosen on dev: abstain below {models.calibration.abstain_below:.3f}; "
        f"quote sentences above {models.calibration.keep_above} and within "
        f"{models.calibration.keep_within} of the best.",
        "",
        "## Question understanding",
        "",
        "| split | questions | type accuracy | language accuracy | § questions | § top 1 "
        "| § top 3 |",
        "|---|---|---|---|---|---|---|",
    ]
    for split, m in question.items():
        if m:
            lines.append(
                f"| {split} | {m['questions']} | {m['type_accuracy']:.3f} | "
                f"{m['language_accuracy']:.3f} | {m['provision_questions']} | "
                f"{m['provision_top1']:.3f} | {m['provision_top3']:.3f} |"
            )
    lines += [
        "",
        "Splits are by passage, so a § whose questions are in dev or test is learnt only from",
        "its own statute text: the § scores show how the mapping does on §§ it has no",
        "questions for.",
        "",
        "## Abstention and quoting (from the evidence, before the answer is composed)",
        "",
        "| split | questions | abstains on unanswerable | false abstention | answered with a "
        "supporting sentence | quoted sentences supporting |",
        "|---|---|---|---|---|---|",
    ]

    def fmt(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    for split, m in metrics.items():
        lines.append(
            f"| {split} | {m['questions']} | {fmt(m['abstention'])} | "
            f"{fmt(m['false_abstention'])} | {fmt(m['answered_with_support'])} | "
            f"{fmt(m['quoted_sentences_supporting'])} |"
        )
    lines += ["", "## Reliability (confidence bin → share answerable)", ""]
    lines += ["| split | " + " | ".join(b for b, _, _ in metrics["test"]["reliability"]) + " |"]
    lines += ["|---|" + "---|" * len(metrics["test"]["reliability"])]
    for split, m in metrics.items():
        cells = [f"{r:.2f} ({n})" if n else "–" for _, n, r in m["reliability"]]
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    lines += ["", "`kvp eval answers` measures the composed answers end to end.", ""]
    (folder / "MODEL_CARD.md").write_text("\n".join(lines), encoding="utf-8")
