"""Rerankers: an optional stage after fusion that re-scores the top candidates.

A reranker sees the question and the fused candidates (passages with every retriever's
score) and returns a new score for each; search re-orders the candidates by it and keeps
the rest of the ranking below them (`pipeline.search.Index.rerank`).

`FeatureReranker` is the shipped one: gradient-boosted trees (scikit-learn) over features of
each (question, passage) pair — each retriever's score and rank, the fused rank, how much of
the question's content the passage covers (stems, compound parts, synonyms and lay-to-legal
terms, via `pipeline.language`), the same for its section headings, a § the question names
against the § the passage holds or cites, numbers asked for against numbers present, and the
document kind against what the question asks for. It is trained by `kvp train-reranker` on
the train split of the retrieval training data, with candidates from the index's own
search, and stored in ``models/reranker/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.errors import RerankerError
from pipeline.model import STATUTE_KINDS, Hit

if TYPE_CHECKING:
    import numpy as np

    from pipeline.model import TrainingQuestion
    from pipeline.search import Index

MODEL_FILE = "reranker.joblib"
MANIFEST_FILE = "manifest.json"
RETRIEVERS = ("dense", "bm25", "charngram")
NUMBER_RE = re.compile(r"\d")
ASKS_NUMBER_RE = re.compile(
    r"(?i)\b(hvor mange|kor mange|hvor stor|hvor mye|kor mykje|andel|prosent|antall|how many|"
    r"how much|share|percent)"
)
ASKS_RULE_RE = re.compile(
    r"(?i)(§|\bkan jeg\b|\bhar jeg rett\b|\bmå jeg\b|\bfår jeg\b|\bkan eg\b|\bloven\b|"
    r"\bforskrift|\bregel|\brett til\b|\bvilkår|\bplikt|\bcan i\b|\bam i\b|\bdo i\b)"
)


class Reranker(Protocol):
    name: str
    depth: int  # how many fused candidates it re-scores

    def rerank(self, question: str, candidates: Sequence[Hit]) -> list[float]:
        """One score per candidate, higher is better."""
        ...


def reranker_dir() -> Path:
    from pipeline.paths import models_dir

    return models_dir() / "reranker"


class FeatureReranker:
    """Gradient-boosted trees over retrieval evidence (see the module docstring)."""

    def __init__(self, model: Any, index: Index, depth: int, meta: dict[str, Any]) -> None:
        self.model = model
        self.index = index
        self.depth = depth
        self.meta = meta
        self.name = f"kvp/feature-reranker@{meta.get('fingerprint', 'untrained')}"

    def rerank(self, question: str, candidates: Sequence[Hit]) -> list[float]:
        if not candidates:
            return []
        features = candidate_features(self.index, question, candidates)
        return positive_probabilities(self.model, features)

    def save(self, folder: Path) -> None:
        import joblib

        from pipeline.encoder_model import fingerprint

        folder.mkdir(parents=True, exist_ok=True)
        joblib.dump(self.model, folder / MODEL_FILE)
        self.meta = {**self.meta, "fingerprint": fingerprint(folder / MODEL_FILE)[:12]}
        (folder / MANIFEST_FILE).write_text(json.dumps(self.meta, indent=2) + "\n")

    @classmethod
    def load(cls, index: Index, folder: Path | None = None) -> FeatureReranker:
        import joblib

        folder = folder or reranker_dir()
        if not (folder / MODEL_FILE).is_file():
            raise RerankerError(
                f"no reranker in {folder}; run `kvp train-reranker`, or search without one."
            )
        meta = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        return cls(joblib.load(folder / MODEL_FILE), index, int(meta["depth"]), meta)


@lru_cache(maxsize=1)
def thread_controller() -> Any:
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()  # inspecting the loaded libraries is the slow part: once


def positive_probabilities(model: Any, features: np.ndarray) -> list[float]:
    """A classifier's P(positive) for a few dozen rows, on one thread.

    scikit-learn's tree predictors start an OpenMP team per call; for 40 rows that costs
    more than the trees, and on two busy cores it measured 0.5–1 s instead of 3 ms.
    """
    if len(features) == 0:
        return []
    with thread_controller().limit(limits=1, user_api="openmp"):
        return [float(p) for p in model.predict_proba(features)[:, 1]]


# Features -----------------------------------------------------------------------------------

FEATURES = (
    "fused_rank", "fused_score_share",
    *(f"{name}_{part}" for name in RETRIEVERS for part in ("found", "score", "rank", "share")),
    "coverage", "coverage_plain", "heading_coverage", "rare_coverage",
    "names_section", "holds_named", "cites_named",
    "asks_number", "has_number", "asks_rule", "is_statute", "length",
)  # fmt: skip


@lru_cache(maxsize=256)
def question_terms(question: str) -> tuple[frozenset[str], frozenset[str]]:
    """The question's content stems, with and without synonym and lay-term expansion
    (remembered: the reranker and the answer read them for the same question)."""
    from bm25s.stopwords import STOPWORDS_NORWEGIAN

    from pipeline.language import normalize_tokens, words

    kept = " ".join(w for w in words(question) if w not in STOPWORDS_NORWEGIAN and len(w) > 1)
    return frozenset(normalize_tokens(kept)), frozenset(normalize_tokens(kept, expand=False))


@lru_cache(maxsize=8192)
def text_terms(text: str, *, expand: bool = True) -> frozenset[str]:
    """A passage's or heading's normalised tokens (with synonyms and lay terms unless not
    `expand`); passages recur across questions."""
    from pipeline.language import normalize_tokens

    return frozenset(normalize_tokens(text, expand=expand))


def candidate_features(index: Index, question: str, candidates: Sequence[Hit]) -> np.ndarray:
    """One row of `FEATURES` per candidate."""
    import numpy as np

    from pipeline.search import question_refs

    expanded, plain = question_terms(question)
    refs = question_refs(question)
    keys = {r.key for r in refs}
    held = {p.passage_id for r in refs for p in index.provision(r)}
    rare = {t for t in plain if 0 < index.document_frequency(t) <= 20}
    asks_number = float(bool(ASKS_NUMBER_RE.search(question)))
    asks_rule = float(bool(ASKS_RULE_RE.search(question)))
    top = max((h.score for h in candidates), default=1.0) or 1.0
    best: dict[str, float] = {}
    ranks: dict[str, dict[str, int]] = {}
    for name in RETRIEVERS:
        scores = {h.passage.passage_id: h.retriever_score(name) for h in candidates}
        found = sorted((h for h in candidates if scores[h.passage.passage_id]),
                       key=lambda h: -scores[h.passage.passage_id])  # fmt: skip
        best[name] = found[0].retriever_score(name) if found else 1.0
        ranks[name] = {h.passage.passage_id: rank for rank, h in enumerate(found, start=1)}
    rows = []
    for position, hit in enumerate(candidates, start=1):
        passage = hit.passage
        tokens = text_terms(passage.text)
        heading = text_terms(" ".join(passage.section[1:]))
        row = [float(position), hit.score / top]
        for name in RETRIEVERS:
            score = hit.retriever_score(name)
            rank = ranks[name].get(passage.passage_id, 0)
            row += [float(score > 0), score, float(rank), score / best[name] if best[name] else 0.0]
        row += [
            share(expanded, tokens), share(plain, tokens), share(plain, heading),
            share(rare, tokens),
            float(bool(keys)), float(passage.passage_id in held),
            float(bool(keys & {r.key for r in passage.legal_refs})),
            asks_number, float(bool(NUMBER_RE.search(passage.text))), asks_rule,
            float(index.source_of(passage).kind in STATUTE_KINDS),
            min(len(passage.text), 2000) / 1000,
        ]  # fmt: skip
        rows.append(row)
    return np.asarray(rows, dtype=np.float32)


def share(wanted: AbstractSet[str], present: AbstractSet[str]) -> float:
    """The share of the wanted terms that are present (0 when nothing is wanted)."""
    return len(wanted & present) / len(wanted) if wanted else 0.0


# Training -------------------------------------------------------------------------------------


def supports(hit: Hit, question: TrainingQuestion) -> bool:
    """Whether a candidate holds a supporting passage's quote (repeated passages count)."""
    return any(s.quote in hit.passage.text for s in question.support)


def training_rows(
    index: Index, questions: Sequence[TrainingQuestion], depth: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, labels and question numbers over each question's fused candidates."""
    import numpy as np

    features, labels, groups = [], [], []
    for number, question in enumerate(questions):
        hits = index.search(question.question, k=depth)
        if not hits:
            continue
        features.append(candidate_features(index, question.question, hits))
        labels += [int(supports(h, question)) for h in hits]
        groups += [number] * len(hits)
    return np.vstack(features), np.asarray(labels), np.asarray(groups)


def train_reranker(
    index: Index, questions: Sequence[TrainingQuestion], depth: int, seed: int = 13
) -> FeatureReranker:
    """Fit the trees on the train split's answerable questions (candidates from `index`)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    train = [q for q in questions if q.split == "train" and q.answerable]
    features, labels, _ = training_rows(index, train, depth)
    model = HistGradientBoostingClassifier(
        max_iter=300, learning_rate=0.05, max_leaf_nodes=15, min_samples_leaf=40,
        l2_regularization=1.0, random_state=seed,
    )  # fmt: skip
    model.fit(features, labels)
    meta = {"depth": depth, "features": list(FEATURES), "train_questions": len(train),
            "rows": len(labels), "positives": int(labels.sum()), "seed": seed,
            "encoder": index.manifest["encoder"]}  # fmt: skip
    return FeatureReranker(model, index, depth, meta)
